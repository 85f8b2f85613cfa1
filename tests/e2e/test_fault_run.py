"""200 CLI commands against a server that fails 30% of requests: every command correct, and no
create happened twice.

The server (`iamcli serve --fault-rate 0.3 --fault-status 500,502,503,429 --drop-rate 0.05`)
answers a share of requests with those statuses (Retry-After on 429 and 503) or cuts the
connection. Eight lanes of 25 commands run side by side, each lane on its own service IDs, as
parallel CI steps would; afterwards the server's state is counted.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from support import APIKEY_GRANT, iamcli_command, serve_process

KEY = "fault-run-admin-key-" + "f" * 30
LANES = 8
ROUNDS = 5  # 5 commands per round: 8 lanes x 5 rounds x 5 = 200 commands

pytestmark = pytest.mark.slow


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*iamcli_command(), *argv], capture_output=True, text=True, env=env, timeout=180
    )


def lane(n: int, env: dict[str, str]) -> list[tuple[list[str], int, str]]:
    """One lane's commands, with what each returned; the lane stops at the first failure."""
    done: list[tuple[list[str], int, str]] = []

    def step(*argv: str) -> str:
        r = run(list(argv), env)
        done.append((list(argv), r.returncode, r.stderr[-500:]))
        if r.returncode != 0:
            raise RuntimeError(f"lane {n}: {' '.join(argv)} failed: {r.stderr[-500:]}")
        return r.stdout

    try:
        for i in range(ROUNDS):
            name = f"lane{n}-sid{i}"
            step("service-id-create", name, "--output", "json")
            key = json.loads(step("service-api-key-create", "k", name, "--output", "json"))
            assert len(key["apikey"]) == 44
            listed = step("service-api-keys", name, "-q").split()
            assert listed == [key["id"]], (listed, key["id"])
            step("service-id-update", name, "-d", f"round {i}", "-f")
            if i % 2:
                step("apikeys", "delete", key["id"], "-f")
            else:
                step("oauth-tokens", "--output", "json")
    except (RuntimeError, AssertionError) as exc:
        done.append((["(lane stopped)"], 1, str(exc)))
    return done


def test_two_hundred_commands_under_faults(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IAMCLI_", "IBMCLOUD_"))}
    env.update(
        IAMCLI_HOME=str(home),
        IAMCLI_API_KEY=KEY,
        IAMCLI_FLAVOR="cloud",
        # Enough retries that 30% faults are ridden out: 0.35^11 per request.
        IAMCLI_HTTP_RETRIES="10",
        IAMCLI_RETRY_BASE="0.02",
        IAMCLI_HTTP_TIMEOUT="10",
    )
    with serve_process(
        "--db",
        str(tmp_path / "serve.db"),
        "--seed-apikey",
        KEY,
        "--quiet",
        "--fault-rate",
        "0.3",
        "--fault-status",
        "500,502,503,429",
        "--drop-rate",
        "0.05",
        "--fault-seed",
        "11",
    ) as server:
        env["IAMCLI_ENDPOINT"] = server.url
        with ThreadPoolExecutor(LANES) as pool:
            results = list(pool.map(lambda n: lane(n, env), range(LANES)))
        commands = [c for lane_result in results for c in lane_result]
        failures = [c for c in commands if c[1] != 0]
        assert failures == [], failures[:3]
        assert len(commands) == LANES * ROUNDS * 5

        # Count what exists, through a second, fault-free look at the same database.
        server.stop()
    with serve_process("--db", str(tmp_path / "serve.db"), "--quiet") as clean:
        token = httpx.post(
            f"{clean.url}/identity/token",
            timeout=10,
            data={"grant_type": APIKEY_GRANT, "apikey": KEY},
        ).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        account = _account(token["access_token"])
        sids = httpx.get(
            f"{clean.url}/v1/serviceids/",
            headers=auth,
            timeout=10,
            params={"account_id": account, "pagesize": 100},
        ).json()["serviceids"]
        names = sorted(s["name"] for s in sids)
        assert names == sorted(f"lane{n}-sid{i}" for n in range(LANES) for i in range(ROUNDS))
        for s in sids:
            keys = httpx.get(
                f"{clean.url}/v1/apikeys",
                headers=auth,
                timeout=10,
                params={"iam_id": s["iam_id"], "pagesize": 100},
            ).json()["apikeys"]
            deleted = int(s["name"].rsplit("sid", 1)[1]) % 2 == 1
            assert len(keys) == (0 if deleted else 1), (s["name"], keys)
            assert s["description"] == f"round {s['name'].rsplit('sid', 1)[1]}"
        clean.stop()


def _account(token: str) -> str:
    import base64

    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["account"]["bss"])
