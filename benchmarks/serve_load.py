"""The server rows of `make bench`: start-up, load, and size, each against its target.

    .venv/bin/python benchmarks/serve_load.py [--quick] [--workers N] [--seconds S]

1. Start-up (serve_start.py): exec of `iamcli serve --db :memory:` to its first 200 on
   /identity/keys, median of 10 runs (3 with --quick); target <= 400 ms.
2. Load: starts `iamcli serve` as a user would (its default workers, --quiet, a seeded key, a
   database file in a temporary directory), warms it up, then drives each case with 16
   concurrent connections for 10 s (2 s with --quick) and prints requests/s, latency
   percentiles, errors and whether the target was met. The API-key grant is compared with what
   RS256 signing alone allows on the machine's cores (rs256_ceiling.py: PyJWT, RSA-2048,
   IBM-like claims, one process per core, per CPU-second), measured just before and just after
   the grant case (their mean is the ceiling); target >= 0.6x of it, p99 <= 25 ms. The bearer
   reads use the token of a service ID whose access comes from an Editor policy, so the
   authorization engine decides each of them; target >= 4,000/s, p99 <= 15 ms.
3. Size (serve_scale.py): get by ID, list with a name filter and a token grant with 100,000
   service IDs in one account against the same with 100 (10,000 with --quick), medians of 200
   sequential requests (50); target <= 1.5x.

The whole run takes about 2.5 minutes (about 45 s with --quick). The load comes from wrk (one
thread, a Lua script for the POSTs), which costs little CPU next to the server on the same
machine; without wrk, from a Python asyncio + httpx generator, which costs a lot more and is
named in the output.

"other CPU" is the share of the machine's CPU used during the case by processes other than the
server and the load generator: when it is not near 0, the numbers were measured on a busy
machine.

Exit status: 0 when every target is met, 1 when one is missed, 2 when the run failed. The
server is stopped on any exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import ctypes
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import rs256_ceiling  # noqa: E402
import serve_start  # noqa: E402

LUA = HERE / "serve_load.lua"
CONNECTIONS = 16
SEED = "serve-load-admin-key-" + "k" * 24
APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
ASSUME_GRANT = "urn:ibm:params:oauth:grant-type:assume"
FORM = "application/x-www-form-urlencoded"
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: str | None
    auth: str | None
    min_rps: float
    max_p99_ms: float
    # The least share of the RS256 signing ceiling (rs256_ceiling.py), instead of min_rps.
    min_ceiling_share: float | None = None


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    other_cpu: float | None  # share of all CPUs, 0..1

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


# -- the server --------------------------------------------------------------------------------


@contextmanager
def server(workers: int | None, db: str | None = None) -> Iterator[tuple[str, int]]:
    """`iamcli serve` in its own process group, stopped (group and all) however we leave.
    Yields its URL and its process group. Its database is DB, or a new one."""
    directory = Path(tempfile.mkdtemp(prefix="serve-load-"))
    log = directory / "serve.log"
    command = [sys.executable, "-m", "iamcli", "serve", "--port", "0", "--quiet"]
    command += ["--db", db or str(directory / "load.db"), "--seed-apikey", SEED]
    if workers is not None:
        command += ["--workers", str(workers)]
    with open(log, "w") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "IAMCLI_HOME": str(directory)},
            preexec_fn=_stop_with_parent,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (m := re.search(r"listening on (http://\S+)", log.read_text())):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"iamcli serve did not start:\n{log.read_text()}")
            time.sleep(0.05)
        yield m[1], proc.pid  # start_new_session: the group is named after its leader
    finally:
        _stop(proc)
        shutil.rmtree(directory, ignore_errors=True)


def _stop_with_parent() -> None:
    """In the server's process, before it runs: even a SIGKILL of this script stops it (and
    its workers end with it)."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the group (a clean stop), then SIGKILL to whatever is left of it."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(10)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(5)


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


# -- CPU accounting (Linux) ----------------------------------------------------------------------


def _busy_ticks() -> int | None:
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields]
    return sum(values) - values[3] - values[4]  # minus idle and iowait


def _total_ticks() -> int:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return sum(int(v) for v in fields[:8])


def _process_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(") ", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


class CpuWatch:
    """Ticks used by everything but `ours` while the case ran, as a share of all CPUs."""

    def __init__(self, ours: list[int]) -> None:
        self.ours = ours
        self.busy = _busy_ticks()
        if self.busy is not None:
            self.total = _total_ticks()
            self.mine = _process_ticks(ours)

    def other(self, extra_ticks: int = 0) -> float | None:
        if self.busy is None:
            return None
        busy = (_busy_ticks() or 0) - self.busy
        total = _total_ticks() - self.total
        mine = _process_ticks(self.ours) - self.mine + extra_ticks
        return max(0.0, (busy - mine) / total) if total else None


# -- load generators -----------------------------------------------------------------------------


def wrk_version() -> str | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    out = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
    m = re.search(r"wrk (\S+)", out.stdout + out.stderr)
    return f"wrk {m[1] if m else '?'}"


def run_wrk(url: str, case: Case, seconds: float, server_pids: list[int]) -> Result:
    env = {
        **os.environ,
        "SERVE_LOAD_METHOD": case.method,
        "SERVE_LOAD_BODY": case.body or "",
        "SERVE_LOAD_TYPE": FORM,
        "SERVE_LOAD_AUTH": case.auth or "",
    }
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s"]
    command += ["--timeout", "5s", "-s", str(LUA), url + case.path]
    watch = CpuWatch(server_pids)
    before = _children_cpu()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=seconds + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # wrk has been waited for, so its CPU time is in this process's children's counters.
    wrk_ticks = round((_children_cpu() - before) * os.sysconf("SC_CLK_TCK"))
    other = watch.other(wrk_ticks)
    line = next((x for x in out.decode().splitlines() if x.startswith("{")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err.decode()}{out.decode()}")
    data = json.loads(line)
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Result(
        data["requests"],
        data["duration_us"] / 1e6,
        data["p50_us"] / 1000,
        data["p99_us"] / 1000,
        errors,
        other,
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_python(url: str, case: Case, seconds: float, server_pids: list[int]) -> Result:
    """The fallback generator: CONNECTIONS asyncio tasks, each with its own connection."""
    latencies: list[float] = []
    errors = 0
    headers = {"Content-Type": FORM} if case.body else {}
    if case.auth:
        headers["Authorization"] = case.auth

    async def one(client: httpx.AsyncClient, deadline: float) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                r = await client.request(case.method, case.path, headers=headers, content=case.body)
                ok = r.status_code < 400
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - started)
            errors += not ok

    async def main() -> float:
        limits = httpx.Limits(max_connections=CONNECTIONS)
        async with httpx.AsyncClient(base_url=url, timeout=5, limits=limits) as client:
            started = time.perf_counter()
            deadline = started + seconds
            await asyncio.gather(*(one(client, deadline) for _ in range(CONNECTIONS)))
            return time.perf_counter() - started

    watch = CpuWatch([*server_pids, os.getpid()])
    elapsed = asyncio.run(main())
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return Result(
        len(latencies), elapsed, percentile(0.50), percentile(0.99), errors, watch.other()
    )


# -- the run -------------------------------------------------------------------------------------


def cases(url: str) -> list[Case]:
    with httpx.Client(base_url=url, timeout=10) as c:
        r = c.post("/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": SEED})
        r.raise_for_status()
        token = r.json()["access_token"]
        auth = f"Bearer {token}"
        keys = c.get("/v1/apikeys", headers={"Authorization": auth})
        keys.raise_for_status()
        key_id = keys.json()["apikeys"][0]["id"]
        policy = _policy_subject(c, auth, jwt_account(token))
        profile_id = _assumable_profile(c, auth, token)
    assume = {"grant_type": ASSUME_GRANT, "access_token": token, "profile_id": profile_id}
    if policy is None:
        raise RuntimeError("the server has no access policies to enforce")
    reader_token, target_id, target_key_id = policy
    # A service ID that holds an Editor policy (Viewer does not reach API keys) reading another
    # service ID and its API key: the
    # access check goes all the way to the account's policies (the admin's own key does not).
    checks = [
        Case(
            "GET /v1/serviceids/{id} (via a policy)",
            "GET",
            f"/v1/serviceids/{target_id}",
            None,
            f"Bearer {reader_token}",
            min_rps=4000,
            max_p99_ms=15,
        ),
        Case(
            "GET /v1/apikeys/{id} (via a policy)",
            "GET",
            f"/v1/apikeys/{target_key_id}",
            None,
            f"Bearer {reader_token}",
            min_rps=4000,
            max_p99_ms=15,
        ),
    ]
    return [
        Case(
            "POST /identity/token (API key grant)",
            "POST",
            "/identity/token",
            urlencode({"grant_type": APIKEY_GRANT, "apikey": SEED}),
            None,
            min_rps=0,
            max_p99_ms=25,
            min_ceiling_share=0.6,
        ),
        Case(
            "POST /identity/token (assume grant)",
            "POST",
            "/identity/token",
            urlencode(assume),
            None,
            # A bearer check and a signature: about the cost of two requests above.
            min_rps=500,
            max_p99_ms=50,
        ),
        Case(
            "GET /v1/apikeys/{id} (account owner)",
            "GET",
            f"/v1/apikeys/{key_id}",
            None,
            auth,
            min_rps=4000,
            max_p99_ms=15,
        ),
        Case(
            "POST /iam-token/oidc/introspect",
            "POST",
            "/iam-token/oidc/introspect",
            urlencode({"token": token}),
            None,
            min_rps=4000,
            max_p99_ms=15,
        ),
        *checks,
    ]


def jwt_account(token: str) -> str:
    import base64

    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["account"]["bss"])


def _assumable_profile(c: httpx.Client, auth: str, token: str) -> str:
    """The ID of a trusted profile that the token's user may assume."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    headers = {"Authorization": auth}
    made = c.post(
        "/v1/profiles",
        headers=headers,
        json={"name": "load", "account_id": claims["account"]["bss"]},
    )
    made.raise_for_status()
    profile_id = str(made.json()["id"])
    trust = {"identifier": claims["iam_id"], "type": "user"}
    c.post(
        f"/v1/profiles/{profile_id}/identities/user", headers=headers, json=trust
    ).raise_for_status()
    return profile_id


def _policy_subject(c: httpx.Client, auth: str, account: str) -> tuple[str, str, str] | None:
    """(token of a service ID with Editor on IAM Identity, another service ID's ID, the ID of
    that one's API key), or None for a server without access policies."""
    headers = {"Authorization": auth}
    made = [
        c.post("/v1/serviceids/", headers=headers, json={"account_id": account, "name": n})
        for n in ("bench-reader", "bench-target")
    ]
    reader, target = (r.json() for r in made)
    grant = c.post(
        "/v1/policies",
        headers=headers,
        json={
            "type": "access",
            "subjects": [{"attributes": [{"name": "iam_id", "value": reader["iam_id"]}]}],
            "roles": [{"role_id": "crn:v1:bluemix:public:iam::::role:Editor"}],
            "resources": [
                {
                    "attributes": [
                        {"name": "accountId", "value": account},
                        {"name": "serviceName", "value": "iam-identity"},
                    ]
                }
            ],
        },
    )
    if grant.status_code == 404:
        return None
    grant.raise_for_status()
    key = c.post("/v1/apikeys", headers=headers, json={"name": "k", "iam_id": reader["iam_id"]})
    key.raise_for_status()
    target_key = c.post(
        "/v1/apikeys", headers=headers, json={"name": "t", "iam_id": target["iam_id"]}
    )
    target_key.raise_for_status()
    r = c.post("/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": key.json()["apikey"]})
    r.raise_for_status()
    return r.json()["access_token"], target["id"], target_key.json()["id"]


def verdict(case: Case, result: Result, ceiling: float | None = None) -> tuple[bool, str]:
    missed = []
    if case.min_ceiling_share is not None:
        assert ceiling is not None
        share = result.rps / ceiling
        rate = f"{case.min_ceiling_share:g}x of RS256 {ceiling:,.0f}/s"
        if share < case.min_ceiling_share:
            missed.append(f"{share:.2f}x < {rate}")
        target = f"{share:.2f}x; target ≥{rate}, p99 ≤{case.max_p99_ms:.0f} ms, 0 errors"
    else:
        if result.rps < case.min_rps:
            missed.append(f"{result.rps:,.0f}/s < {case.min_rps:,.0f}/s")
        target = f"≥{case.min_rps:,.0f}/s, p99 ≤{case.max_p99_ms:.0f} ms, 0 errors"
    if result.p99_ms > case.max_p99_ms:
        missed.append(f"p99 {result.p99_ms:.1f} > {case.max_p99_ms:.0f} ms")
    if result.errors:
        missed.append(f"{result.errors} errors")
    return (
        not missed,
        f"met ({target})" if not missed else f"MISSED: {'; '.join(missed)} ({target})",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 s per case (a smoke run)")
    parser.add_argument("--seconds", type=float, help="seconds per case (default 10; 2 quick)")
    parser.add_argument("--workers", type=int, help="iamcli serve --workers (default: its own)")
    parser.add_argument("--python-load", action="store_true", help="use the Python generator")
    parser.add_argument("--only", choices=("start", "load", "size"), help="one part of the run")
    args = parser.parse_args(argv)
    seconds = args.seconds or (2.0 if args.quick else 10.0)
    parts = {args.only} if args.only else {"start", "load", "size"}
    wrk = None if args.python_load else wrk_version()
    generator = (
        f"{wrk} (1 thread, Lua)"
        if wrk
        else "Python asyncio + httpx"
        + (" (asked for)" if args.python_load else " (no wrk found)")
        + ", which costs far more CPU than wrk: the numbers are the generator's limits"
    )
    run = run_wrk if wrk else run_python

    # SIGTERM ends the run the way Ctrl-C does, through the server's cleanup.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"load average {os.getloadavg()[0]:.2f} on {rs256_ceiling.cores()} cores", flush=True)
    all_met = True
    try:
        if "start" in parts:
            all_met &= start(3 if args.quick else 10)
        if "load" in parts:
            all_met &= load(args.workers, seconds, run, generator)
        if "size" in parts:
            import serve_scale  # it starts servers through this module

            big, requests = (10_000, 50) if args.quick else (100_000, 200)
            all_met &= serve_scale.report(serve_scale.run(big, requests), big, requests)
    except (RuntimeError, httpx.HTTPError, OSError) as exc:
        print(f"serve_load: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("serve_load: interrupted; the server was stopped", file=sys.stderr)
        return 130
    return 0 if all_met else 1


def start(runs: int) -> bool:
    times = serve_start.measure(runs)
    median = statistics.median(times)
    met = median <= serve_start.TARGET_MS
    print(
        f"iamcli serve --db :memory:, exec to the first 200 on /identity/keys: median "
        f"{median:.0f} ms of {len(times)} (min {min(times):.0f}, max {max(times):.0f}); "
        f"target ≤{serve_start.TARGET_MS:.0f} ms: {'met' if met else 'MISSED'}",
        flush=True,
    )
    return met


def load(workers: int | None, seconds: float, run: Any, generator: str) -> bool:
    with server(workers) as (url, pgid):
        todo = cases(url)
        print(
            f"iamcli serve at {url}; {CONNECTIONS} connections, {seconds:g} s per case; "
            f"load generator: {generator}",
            flush=True,
        )
        rows = []
        ceilings: list[float] = []
        for case in todo:
            pids = _group_pids(pgid)
            run(url, case, min(2.0, seconds), pids)  # warm-up, not counted
            if case.min_ceiling_share is not None:
                ceilings.append(rs256_ceiling.measure(min(5.0, seconds)))
            rows.append((case, run(url, case, seconds, pids)))
            if case.min_ceiling_share is not None:
                ceilings.append(rs256_ceiling.measure(min(5.0, seconds)))
    ceiling = statistics.mean(ceilings) if ceilings else None
    if ceiling is not None:
        print(
            f"RS256 signing ceiling (PyJWT, RSA-2048, {rs256_ceiling.cores()} processes): "
            f"{' / '.join(f'{c:,.0f}' for c in ceilings)} tokens per CPU-second, "
            "before / after the grant case"
        )
    return report(rows, ceiling) == 0


def report(rows: list[tuple[Case, Result]], ceiling: float | None = None) -> int:
    header = f"{'case':<40} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'other CPU':>9}"
    print(header + "  target")
    print("-" * (len(header) + 40))
    all_met = True
    for case, result in rows:
        met, text = verdict(case, result, ceiling)
        all_met &= met
        other = "n/a" if result.other_cpu is None else f"{result.other_cpu:.0%}"
        print(
            f"{case.name:<40} {result.rps:>8,.0f} {result.p50_ms:>7.1f} {result.p99_ms:>7.1f} "
            f"{result.errors:>6} {other:>9}  {text}"
        )
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
