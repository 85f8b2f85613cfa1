"""The CLI's hot paths, side by side with what users would otherwise run, in one interleaved run.

    .venv/bin/python benchmarks/cli_bench.py [--rounds N] [--quick]

Every command is timed as a whole process (start-up included), the commands of a case in turn
within each round, after warm-up runs, so that the machine's noise falls on all of them alike.
The table shows medians, the spread (interquartile range) and ratios taken within the run;
absolute times on a shared machine are not stable, the ratios are what the targets are about.
Python is the venv's real interpreter (`sys.executable`), never a shim.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
IAMCLI = str(Path(PY).with_name("iamcli"))
KEY = "bench-admin-key-" + "b" * 30
# The issue-14 list case, and the longer list whose peak memory must stay that of a short one.
LIST_KEYS = 1000
MEMORY_KEYS = 5000
TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None


@dataclass
class Sample:
    seconds: list[float] = field(default_factory=list)
    max_rss_kb: list[int] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def iqr_ms(self) -> float:
        q = statistics.quantiles(self.seconds, n=4) if len(self.seconds) > 1 else [0, 0, 0]
        return (q[2] - q[0]) * 1000


def run_once(argv: list[str], env: dict[str, str], *, prepare: list[str] | None = None) -> float:
    """Wall time of one process run to completion; it must succeed."""
    if prepare:
        subprocess.run(prepare, check=True, env=env)
    started = time.perf_counter()
    code = subprocess.call(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if code != 0:
        again = subprocess.run(argv, env=env, capture_output=True, text=True)
        raise SystemExit(
            f"benchmark command failed ({code}): {' '.join(argv)}\n{again.stderr[-2000:]}"
        )
    return elapsed


def peak_rss_kib(argv: list[str], env: dict[str, str], *, prepare: list[str] | None = None) -> int:
    """Peak resident memory of one run, measured by GNU time (a child forked from this large
    process would be charged for this process's pages as well)."""
    if prepare:
        subprocess.run(prepare, check=True, env=env)
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(
            [TIME, "-f", "%M", "-o", out.name, *argv],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return int(out.read().split()[-1])


def interleave(
    cases: dict[str, tuple[list[str], dict[str, str], list[str] | None]], rounds: int, warmup: int
) -> dict[str, Sample]:
    samples = {name: Sample() for name in cases}
    for i in range(warmup + rounds):
        for name, (argv, env, prepare) in cases.items():
            seconds = run_once(argv, env, prepare=prepare)
            if i >= warmup:
                samples[name].seconds.append(seconds)
    for name, (argv, env, prepare) in cases.items():
        if TIME:
            samples[name].max_rss_kb = [peak_rss_kib(argv, env, prepare=prepare) for _ in range(3)]
    return samples


@contextmanager
def server(workdir: Path, keys: int) -> Iterator[tuple[str, str, str]]:
    """`iamcli serve` on a file database with one service ID holding `keys` API keys.

    Yields (url, service ID, its iam_id). The keys are put in through the store before the
    server starts, which is setup, not what is measured.
    """
    from iamcli.emulator.store import Store

    db = workdir / f"bench-{keys}.db"
    store = Store(str(db))
    boot = store.bootstrap(seed_apikey=KEY, account_id="bench-account")
    user = store.user_by_name(boot.username)
    assert user is not None
    # Far past IBM's 20 keys an identity: the list is what is measured, not the limit.
    store.set_identity_limit(boot.account_id, "apikeys_per_identity", keys + 10)
    sid = store.create_service_id(
        account_id=boot.account_id, name=f"bench-{keys}", description=None, created_by=user.iam_id
    )
    for i in range(keys):
        store.create_api_key(
            account_id=boot.account_id,
            iam_id=sid.iam_id,
            name=f"key-{i:05d}",
            description=f"benchmark key {i}",
            created_by=user.iam_id,
        )
    store.close()
    proc = subprocess.Popen(
        [IAMCLI, "serve", "--db", str(db), "--port", "0", "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        url = None
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if "listening on " in line:
                url = line.split("listening on ", 1)[1].split()[0]
            elif not line and proc.poll() is not None:
                break
        if url is None:
            raise SystemExit("iamcli serve did not start")
        yield url, sid.id, sid.iam_id
    finally:
        proc.terminate()
        proc.wait(20)


SDK_TOKEN = textwrap.dedent("""
    import json, os
    from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
    auth = IAMAuthenticator(os.environ["IAMCLI_API_KEY"], url=os.environ["IAMCLI_ENDPOINT"])
    print(json.dumps({"iam_token": "Bearer " + auth.token_manager.get_token()}))
""")

SDK_PAGER = textwrap.dedent("""
    import json, os, sys
    from urllib.parse import parse_qs, urlparse
    from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
    from ibm_platform_services import IamIdentityV1
    url = os.environ["IAMCLI_ENDPOINT"]
    iam = IamIdentityV1(authenticator=IAMAuthenticator(os.environ["IAMCLI_API_KEY"], url=url))
    iam.set_service_url(url)
    keys, token = [], None
    while True:
        page = iam.list_api_keys(iam_id=sys.argv[1], pagesize=100, pagetoken=token).get_result()
        keys += page["apikeys"]
        if not page.get("next"):
            break
        token = parse_qs(urlparse(page["next"]).query)["pagetoken"][0]
    print(json.dumps(keys, indent=2))
""")


def row(name: str, s: Sample, *, base: Sample | None = None, note: str = "") -> str:
    ratio = f"{s.median_ms / base.median_ms:5.2f}x" if base else "     "
    rss = f"{statistics.median(s.max_rss_kb) / 1024:6.1f} MiB" if s.max_rss_kb else "   n/a"
    return f"  {name:<52} {s.median_ms:8.1f} ms  ±{s.iqr_ms:6.1f}  {ratio}  {rss}  {note}"


def verdict(ok: bool, text: str) -> str:
    return f"{'MET ' if ok else 'MISS'} {text}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="few rounds, small lists")
    args = parser.parse_args()
    began = time.monotonic()
    rounds = 5 if args.quick else args.rounds
    warmup = 2 if args.quick else 5
    # Installers compile bytecode; an editable checkout (or PYTHONDONTWRITEBYTECODE) may not.
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "iamcli")], check=True)

    work = Path(tempfile.mkdtemp(prefix="iamcli-bench-"))
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("IAMCLI_", "IBMCLOUD_")) and k != "GH_TOKEN"
    }
    base_env["IAMCLI_HOME"] = str(work / "home")
    lines: list[str] = []
    try:
        with (
            server(work, 500) as (url, sid_small, _),
            server(work, LIST_KEYS) as (list_url, sid_list, iam_list),
            contextlib.ExitStack() as optional,
        ):
            huge_url, sid_huge = None, ""
            if not args.quick:
                huge_url, sid_huge, _ = optional.enter_context(server(work, MEMORY_KEYS))
            env_key = {**base_env, "IAMCLI_API_KEY": KEY, "IAMCLI_ENDPOINT": url}
            # A logged-in profile with a fresh cached token, for the cached case.
            subprocess.run(
                [
                    IAMCLI,
                    "login",
                    "-a",
                    url,
                    "--apikey",
                    KEY,
                    "--insecure-storage",
                    "--profile",
                    "bench",
                ],
                env=base_env,
                check=True,
                capture_output=True,
            )
            cached = {**base_env, "IAMCLI_PROFILE": "bench"}
            (work / "sdk_token.py").write_text(SDK_TOKEN)
            (work / "sdk_pager.py").write_text(SDK_PAGER)

            lines.append("Case 1: oauth-tokens with a valid cached token")
            gh = shutil.which("gh")
            c1 = {
                "python3 -c pass (floor)": ([PY, "-c", "pass"], base_env, None),
                "iamcli oauth-tokens (cached)": ([IAMCLI, "oauth-tokens"], cached, None),
            }
            if gh:
                c1["gh auth token (GH_TOKEN set)"] = (
                    [gh, "auth", "token"],
                    {**base_env, "GH_TOKEN": "x" * 40},
                    None,
                )
            s1 = interleave(c1, rounds, warmup)
            floor = s1["python3 -c pass (floor)"]
            ours = s1["iamcli oauth-tokens (cached)"]
            for name, s in s1.items():
                lines.append(row(name, s, base=floor))
            lines.append(
                "  "
                + verdict(
                    ours.median_ms <= 1.7 * floor.median_ms,
                    f"<= 1.7x python3 -c pass (ratio {ours.median_ms / floor.median_ms:.2f})",
                )
            )
            if gh:
                ghs = s1["gh auth token (GH_TOKEN set)"]
                lines.append(
                    "  "
                    + verdict(
                        ours.median_ms <= 0.5 * ghs.median_ms,
                        f"<= 0.5x gh auth token (ratio {ours.median_ms / ghs.median_ms:.2f})",
                    )
                )
            else:
                lines.append("  MISS <= 0.5x gh auth token: not measured, gh is not installed")

            lines.append("")
            lines.append("Case 1b: exec -- true with a valid cached token")
            true = shutil.which("true") or "/bin/true"
            c1b = {
                "true (a process start)": ([true], base_env, None),
                "iamcli oauth-tokens (cached)": ([IAMCLI, "oauth-tokens"], cached, None),
                "iamcli exec -- true (cached)": ([IAMCLI, "exec", "--", true], cached, None),
            }
            s1b = interleave(c1b, rounds, warmup)
            budget = (
                s1b["iamcli oauth-tokens (cached)"].median_ms
                + s1b["true (a process start)"].median_ms
            )
            for name, s in s1b.items():
                lines.append(row(name, s, base=s1b["iamcli oauth-tokens (cached)"]))
            ours_exec = s1b["iamcli exec -- true (cached)"].median_ms
            lines.append(
                "  "
                + verdict(
                    ours_exec <= 1.2 * budget,
                    f"<= 1.2x (cached oauth-tokens + true) = {1.2 * budget:.1f} ms "
                    f"(ratio {ours_exec / budget:.2f})",
                )
            )

            lines.append("")
            lines.append("Case 2: oauth-tokens --output json, IAMCLI_API_KEY, empty cache (mints)")
            clear = ["rm", "-rf", str(work / "home" / "cache")]
            curl = shutil.which("curl")
            c2 = {
                "iamcli oauth-tokens --output json": (
                    [IAMCLI, "oauth-tokens", "--output", "json"],
                    env_key,
                    clear,
                ),
                "IBM SDK script (IAMAuthenticator)": (
                    [PY, str(work / "sdk_token.py")],
                    env_key,
                    None,
                ),
            }
            if curl:
                c2["curl POST /identity/token"] = (
                    [
                        curl,
                        "-s",
                        "-X",
                        "POST",
                        "-d",
                        f"grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey={KEY}",
                        f"{url}/identity/token",
                    ],
                    base_env,
                    None,
                )
            s2 = interleave(c2, rounds, warmup)
            sdk = s2["IBM SDK script (IAMAuthenticator)"]
            for name, s in s2.items():
                lines.append(row(name, s, base=sdk))
            mint = s2["iamcli oauth-tokens --output json"].median_ms
            lines.append(
                "  "
                + verdict(
                    mint <= 0.5 * sdk.median_ms,
                    f"<= 0.5x the SDK script (ratio {mint / sdk.median_ms:.2f})",
                )
            )

            lines.append("")
            lines.append("Case 3: start-up of the full CLI")
            comp = {
                **base_env,
                "COMP_WORDS": "iamcli service-",
                "COMP_CWORD": "1",
                "_IAMCLI_COMPLETE": "complete_bash",
            }
            s3 = interleave(
                {
                    "iamcli --help": ([IAMCLI, "--help"], base_env, None),
                    "completion request (bash, TAB)": ([IAMCLI], comp, None),
                },
                rounds,
                warmup,
            )
            for name, s in s3.items():
                lines.append(row(name, s, note=verdict(s.median_ms <= 150, "<= 150 ms")))

            lines.append("")
            lines.append(
                f"Case 4: apikeys list --output json, {LIST_KEYS:,} keys (iamcli with its cached "
                "token; the SDK script mints, as a fresh script must)"
            )
            subprocess.run(
                [
                    IAMCLI,
                    "login",
                    "-a",
                    list_url,
                    "--apikey",
                    KEY,
                    "--insecure-storage",
                    "--profile",
                    "bench-list",
                ],
                env=base_env,
                check=True,
                capture_output=True,
            )
            list_argv = [IAMCLI, "apikeys", "list", "--service-id", sid_list, "--output", "json"]
            cached_list = {**base_env, "IAMCLI_PROFILE": "bench-list"}
            s4 = interleave(
                {
                    f"iamcli apikeys list ({LIST_KEYS})": (list_argv, cached_list, None),
                    f"IBM SDK pager script ({LIST_KEYS})": (
                        [PY, str(work / "sdk_pager.py"), iam_list],
                        {**env_key, "IAMCLI_ENDPOINT": list_url},
                        None,
                    ),
                },
                max(3, rounds // 2),
                2,
            )
            sdk_list = s4[f"IBM SDK pager script ({LIST_KEYS})"]
            ours_list = s4[f"iamcli apikeys list ({LIST_KEYS})"]
            for name, s in s4.items():
                lines.append(row(name, s, base=sdk_list))
            lines.append(
                "  "
                + verdict(
                    ours_list.median_ms <= 0.7 * sdk_list.median_ms,
                    f"<= 0.7x the SDK pager (ratio {ours_list.median_ms / sdk_list.median_ms:.2f})",
                )
            )
            if TIME and huge_url is not None:
                # Peak memory only (no timing): a list streams, so 5,000 keys cost what 500 do.
                rss = {}
                for n, (u, sid) in ((500, (url, sid_small)), (MEMORY_KEYS, (huge_url, sid_huge))):
                    env_n = {**env_key, "IAMCLI_ENDPOINT": u}
                    argv = [IAMCLI, "apikeys", "list", "--service-id", sid, "--output", "json"]
                    rss[n] = statistics.median(
                        peak_rss_kib(argv, env_n, prepare=clear) for _ in range(3)
                    )
                growth = rss[MEMORY_KEYS] / rss[500]
                lines.append(
                    "  "
                    + verdict(
                        growth <= 1.15,
                        f"peak memory flat: {MEMORY_KEYS:,} keys use {growth:.2f}x the memory "
                        f"of 500 ({rss[MEMORY_KEYS] / 1024:.1f} / {rss[500] / 1024:.1f} MiB)",
                    )
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"iamcli client benchmark ({rounds} rounds after {warmup} warm-up, interleaved; "
        f"median, interquartile spread, ratio to the case's baseline, peak RSS)"
    )
    print("\n".join(lines))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"(run time {time.monotonic() - began:.0f} s; load average {load:.2f} at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
