"""`iamcli serve` as a process: first start, restarts, seeding, signals, logging."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import httpx
import jwt
import pytest

from support import APIKEY_GRANT, iamcli_command, serve_process

SEED = "ci-known-admin-key-" + "s" * 26


def mint(url: str, apikey: str) -> httpx.Response:
    return httpx.post(
        f"{url}/identity/token", timeout=10, data={"grant_type": APIKEY_GRANT, "apikey": apikey}
    )


def wait_for_log(lines: list[str], pattern: str, timeout: float = 5) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(lines):
            if re.search(pattern, line):
                return line
        time.sleep(0.02)
    raise AssertionError(f"no log line matching {pattern!r} in {lines}")


def test_first_start_prints_a_key_once_and_data_survives_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "iam.db")
    with serve_process("--db", db) as first:
        printed = wait_for_log(first.stderr_lines, r"API key \(shown once")
        apikey = printed.rsplit(" ", 1)[1].strip()
        assert re.fullmatch(r"[A-Za-z0-9_-]{44}", apikey)
        r = mint(first.url, apikey)
        assert r.status_code == 200
        old_token = r.json()["access_token"]
        account = jwt.decode(old_token, options={"verify_signature": False})["account"]["bss"]
        created = httpx.post(
            f"{first.url}/v1/serviceids/",
            timeout=10,
            headers={"Authorization": f"Bearer {old_token}"},
            json={"account_id": account, "name": "survivor"},
        ).json()
        assert first.stop() == 0
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600

    with serve_process("--db", db) as second:
        assert mint(second.url, apikey).status_code == 200
        # A token issued before the restart still verifies, and the service ID is still there.
        got = httpx.get(
            f"{second.url}/v1/serviceids/{created['id']}",
            timeout=10,
            headers={"Authorization": f"Bearer {old_token}"},
        )
        assert got.status_code == 200 and got.json()["name"] == "survivor"
        assert second.stop() == 0
        assert not any("shown once" in line for line in second.stderr_lines)
    # The database file never holds the key in a usable form.
    assert apikey.encode() not in Path(db).read_bytes()


def test_seed_apikey_is_exact_and_idempotent(tmp_path: Path) -> None:
    db = str(tmp_path / "seeded.db")
    for _ in range(2):
        with serve_process(
            "--db", db, "--seed-apikey", SEED, "--account-id", "ci-account"
        ) as server:
            r = mint(server.url, SEED)
            assert r.status_code == 200
            claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
            assert claims["account"]["bss"] == "ci-account"
            keys = httpx.get(
                f"{server.url}/v1/apikeys",
                timeout=10,
                headers={"Authorization": f"Bearer {r.json()['access_token']}"},
            ).json()["apikeys"]
            assert len(keys) == 1
            assert not any("API key (shown once" in line for line in server.stderr_lines)
            server.stop()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stops_cleanly_on_signals(sig: int) -> None:
    with serve_process("--db", ":memory:", "--seed-apikey", SEED) as server:
        assert mint(server.url, SEED).status_code == 200
        assert server.stop(sig) == 0
        wait_for_log(server.stderr_lines, "iamcli serve stopped")


def test_logs_one_line_per_request_without_secrets() -> None:
    with serve_process("--db", ":memory:", "--seed-apikey", SEED) as server:
        mint(server.url, SEED)
        httpx.get(f"{server.url}/v1/apikeys?secret=query-value", timeout=10)
        line = wait_for_log(server.stderr_lines, r"POST /identity/token 200 [\d.]+ms")
        assert line.startswith("127.0.0.1 ")
        wait_for_log(server.stderr_lines, r"GET /v1/apikeys 401 ")
        server.stop()
    log = "".join(server.stderr_lines)
    assert SEED not in log and "query-value" not in log


def test_quiet_logs_no_requests() -> None:
    with serve_process("--db", ":memory:", "--seed-apikey", SEED, "--quiet") as server:
        mint(server.url, SEED)
        server.stop()
    assert not any("/identity/token" in line for line in server.stderr_lines)


def test_default_database_lives_in_the_data_dir(tmp_path: Path) -> None:
    with serve_process(env={"IAMCLI_HOME": str(tmp_path)}) as server:
        server.stop()
    db = tmp_path / "data" / "serve.db"
    assert db.exists() and stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700


def test_warns_when_not_on_loopback() -> None:
    with serve_process("--db", ":memory:", "--host", "0.0.0.0") as server:
        server.stop()
    assert any("reachable from other machines" in line for line in server.stderr_lines)


def test_busy_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = subprocess.run(
            [*iamcli_command(), "serve", "--db", ":memory:", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert r.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_workers_share_the_port_and_stop_cleanly(tmp_path: Path, sig: int) -> None:
    db = str(tmp_path / "workers.db")
    with serve_process("--db", db, "--seed-apikey", SEED, "--workers", "2") as server:
        assert "2 workers" in "".join(server.stderr_lines)
        workers = _children(server.proc.pid)
        # A fresh connection each (Connection: close), so that the requests spread over the
        # workers: a token minted by one must verify in the other.
        tokens = [mint(server.url, SEED).json()["access_token"] for _ in range(20)]
        for token in tokens:
            r = httpx.get(
                f"{server.url}/v1/apikeys",
                timeout=10,
                headers={"Authorization": f"Bearer {token}", "Connection": "close"},
            )
            assert r.status_code == 200
        line = wait_for_log(server.stderr_lines, r"GET /v1/apikeys 200 ")
        assert line.startswith("127.0.0.1 ")
        assert server.stop(sig) == 0
        wait_for_log(server.stderr_lines, "iamcli serve stopped")
    assert not any(_alive(pid) for pid in workers)
    # Every request was logged, the last ones included: the log is flushed at shutdown.
    log = "".join(server.stderr_lines)
    assert log.count("POST /identity/token 200") == 20
    assert log.count("GET /v1/apikeys 200") == 20
    assert "Traceback" not in log
    # The first start printed its secrets once, not once per worker.
    assert log.count("Administrator password (shown once)") == 1


def test_several_workers_need_a_database_file() -> None:
    r = subprocess.run(
        [*iamcli_command(), "serve", "--db", ":memory:", "--port", "0", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "--workers needs a database file" in r.stderr


def test_memory_database_runs_one_worker() -> None:
    with serve_process("--db", ":memory:", "--seed-apikey", SEED) as server:
        assert "workers" not in "".join(server.stderr_lines)
        assert _children(server.proc.pid) == set()
        server.stop()


def test_workers_that_cannot_start_fail_the_command(tmp_path: Path) -> None:
    # A TLS key that is not one: each worker fails while loading it.
    (tmp_path / "serve-tls-cert.pem").write_text("not a certificate")
    (tmp_path / "serve-tls-key.pem").write_text("not a key")
    (tmp_path / "serve-tls-key.pem").chmod(0o600)  # else refused before any worker starts
    db = str(tmp_path / "x.db")
    r = subprocess.run(
        [*iamcli_command(), "serve", "--db", db, "--port", "0", "--workers", "2", "--tls"],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert r.returncode == 1, r.stderr
    assert "workers did not start" in r.stderr
    assert "listening on" not in r.stderr


def _children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    return {int(p) for p in text.split()} - {_resource_tracker(pid)}


def _resource_tracker(parent: int) -> int:
    for pid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        if "resource_tracker" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
            return int(pid)
    return -1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--compute-resources", "/nonexistent/cr.json"], "cannot read /nonexistent/cr.json"),
        (["--compute-resources", "{bad}"], "is not JSON"),
        (["--compute-resources", "{wrong-type}"], "cr_type must be one of"),
        (["--compute-resources", "{no-jwks}"], "cannot read the JWKS"),
        (["--vpc-instance", "not-a-crn"], "--vpc-instance needs an instance CRN"),
        (
            [
                "--vpc-instance",
                "crn:v1:bluemix:public:is:us-south-1:a/acct1::instance:i1,colour=red",
            ],
            "attribute 'colour=red' is not one of",
        ),
    ],
)
def test_bad_trust_configuration_is_a_usage_error(
    tmp_path: Path, args: list[str], message: str
) -> None:
    issuer = {
        "iss": "https://k8s",
        "jwks": "jwks.json",
        "cr_type": "IKS_SA",
        "crn": "crn:v1:bluemix:public:containers-kubernetes:us-south:a/acct1:c1::",
    }
    files = {
        "{bad}": "[",
        "{wrong-type}": json.dumps([{**issuer, "cr_type": "VM"}]),
        "{no-jwks}": json.dumps([issuer]),
    }
    if args[1] in files:
        (tmp_path / "cr.json").write_text(files[args[1]])
        args = [args[0], str(tmp_path / "cr.json")]
    r = subprocess.run(
        [*iamcli_command(), "serve", "--db", ":memory:", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr


def test_workers_play_the_vpc_instance(tmp_path: Path) -> None:
    from ibm_cloud_sdk_core.authenticators import VPCInstanceAuthenticator

    account = "acct" + "5" * 28
    crn = f"crn:v1:bluemix:public:is:us-south-2:a/{account}::instance:0727_w1"
    db = str(tmp_path / "vpc.db")
    args = ["--db", db, "--workers", "2", "--seed-apikey", SEED, "--account-id", account]
    with serve_process(*args, "--vpc-instance", f"{crn},vpc_id=v1") as server:
        token = mint(server.url, SEED).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=auth, timeout=10) as c:
            profile = c.post("/v1/profiles", json={"name": "vsi", "account_id": account}).json()
            made = c.post(
                f"/v1/profiles/{profile['id']}/links", json={"cr_type": "VSI", "link": {"crn": crn}}
            )
            assert made.status_code == 201, made.text
        got = set()
        for _ in range(4):  # both workers, most likely
            vpc = VPCInstanceAuthenticator(url=server.url, iam_profile_id=profile["id"])
            got.add(
                jwt.decode(vpc.token_manager.get_token(), options={"verify_signature": False})[
                    "iam_id"
                ]
            )
        assert got == {profile["iam_id"]}
        assert server.stop() == 0


def test_member_users_get_a_key_once_or_from_a_file(tmp_path: Path) -> None:
    db = str(tmp_path / "members.db")
    keyfile = tmp_path / "carol.key"
    carol_key = "carol-known-key-" + "c" * 30
    keyfile.write_text(carol_key + "\n")
    args = ("--db", db, "--seed-apikey", SEED, "--user", "bob", "--user", f"carol:@{keyfile}")
    with serve_process(*args) as first:
        printed = wait_for_log(first.stderr_lines, r"User bob API key \(shown once")
        bob_key = printed.rsplit(" ", 1)[1].strip()
        assert carol_key not in "".join(first.stderr_lines)
        for key in (bob_key, carol_key):
            token = mint(first.url, key).json()["access_token"]
            claims = jwt.decode(token, options={"verify_signature": False})
            assert claims["iam_id"].startswith("IBMid-") and claims["account"]["bss"]
            # A member holds API keys of its own, and only of its own.
            mine = httpx.post(
                f"{first.url}/v1/apikeys",
                timeout=10,
                headers={"Authorization": f"Bearer {token}"},
                json={"name": "second", "iam_id": claims["iam_id"]},
            )
            assert mine.status_code == 201
        first.stop()
    with serve_process(*args) as second:
        assert mint(second.url, bob_key).status_code == 200
        assert mint(second.url, carol_key).status_code == 200
        assert not any("shown once" in line for line in second.stderr_lines)
        second.stop()


@pytest.mark.parametrize(
    ("option", "spec"),
    [
        ("--user", ""),
        ("--user", ":@x"),
        ("--user", "dave:key"),
        ("--user", "dave:@/nonexistent/key"),
        ("--identity-limit", "apikeys_per_identity"),
        ("--identity-limit", "=3"),
        ("--identity-limit", "profiles=-1"),
        ("--identity-limit", "nothing=3"),
    ],
)
def test_a_bad_option_is_a_usage_error(option: str, spec: str, tmp_path: Path) -> None:
    r = subprocess.run(
        [*iamcli_command(), "serve", "--db", str(tmp_path / "x.db"), option, spec],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    assert option in r.stderr and "Traceback" not in r.stderr


def test_identity_limits_are_set_from_the_command_line(tmp_path: Path) -> None:
    args = ("--db", str(tmp_path / "limits.db"), "--seed-apikey", SEED)
    with serve_process(*args, "--identity-limit", "apikeys_per_identity=1") as server:
        token = mint(server.url, SEED).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        account = jwt.decode(token, options={"verify_signature": False})["account"]["bss"]
        limits = httpx.get(
            f"{server.url}/v1/accounts/{account}/limits/identity", timeout=10, headers=auth
        ).json()
        assert limits["apikeys_per_identity"] == {"limit": 1}
        # The seeded key is the administrator's one key: a second is past the limit.
        iam_id = jwt.decode(token, options={"verify_signature": False})["iam_id"]
        r = httpx.post(
            f"{server.url}/v1/apikeys",
            timeout=10,
            headers=auth,
            json={"name": "x", "iam_id": iam_id},
        )
        assert r.status_code == 400 and r.json()["errors"][0]["code"] == "limit_exceeded"
        server.stop()
