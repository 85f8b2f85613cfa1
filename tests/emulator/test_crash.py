"""SIGKILL in the middle of a create-heavy load: what was acknowledged is still there."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import jwt
import pytest

from support import APIKEY_GRANT, serve_process

SEED = "crash-test-admin-key-" + "c" * 24
THREADS = 4
LOAD_SECONDS = 1.5


def children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    return {int(p) for p in text.split()}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it no longer holds the socket or the database.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


def create_load(url: str, token: str, account: str, acknowledged: list[tuple[str, str]]) -> None:
    """Creates service IDs and keys until the server goes away, recording each 201."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=5, headers=auth) as c:
        n = 0
        while True:
            n += 1
            name = f"crash-{threading.get_ident()}-{n}"
            try:
                r = c.post("/v1/serviceids/", json={"account_id": account, "name": name})
                if r.status_code != 201:
                    raise AssertionError(f"unexpected {r.status_code}: {r.text}")
                acknowledged.append(("serviceids", r.json()["id"]))
                r = c.post("/v1/apikeys", json={"name": name, "iam_id": r.json()["iam_id"]})
                if r.status_code != 201:
                    raise AssertionError(f"unexpected {r.status_code}: {r.text}")
                acknowledged.append(("apikeys", r.json()["id"]))
            except httpx.TransportError:
                return


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads worker PIDs from /proc")
def test_acknowledged_creates_survive_sigkill(tmp_path: Path) -> None:
    db = str(tmp_path / "crash.db")
    acknowledged: list[tuple[str, str]] = []
    with serve_process("--db", db, "--seed-apikey", SEED, "--quiet") as server:
        r = httpx.post(
            f"{server.url}/identity/token",
            timeout=10,
            data={"grant_type": APIKEY_GRANT, "apikey": SEED},
        )
        token = r.json()["access_token"]
        account = jwt.decode(token, options={"verify_signature": False})["account"]["bss"]
        workers = children(server.proc.pid)
        assert workers, "no worker processes"
        threads = [
            threading.Thread(target=create_load, args=(server.url, token, account, acknowledged))
            for _ in range(THREADS)
        ]
        for t in threads:
            t.start()
        time.sleep(LOAD_SECONDS)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        for t in threads:
            t.join(20)
        assert not any(t.is_alive() for t in threads)
        try:
            deadline = time.monotonic() + 10
            while any(alive(p) for p in workers) and time.monotonic() < deadline:
                time.sleep(0.05)
            # Workers end with their parent instead of holding the port and the database.
            assert not any(alive(p) for p in workers)
        finally:
            for p in workers:
                if alive(p):
                    os.kill(p, signal.SIGKILL)
    assert len(acknowledged) >= 20, "the load did not get going before the kill"

    with (
        serve_process("--db", db, "--quiet") as again,
        httpx.Client(
            base_url=again.url, timeout=10, headers={"Authorization": f"Bearer {token}"}
        ) as c,
    ):
        # The token minted before the crash still verifies, and every acknowledged create is
        # there.
        missing = [
            (kind, entity)
            for kind, entity in acknowledged
            if c.get(f"/v1/{kind}/{entity}").status_code != 200
        ]
        assert missing == []
        assert again.stop() == 0

    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {
            row[0]
            for table in ("service_ids", "api_keys")
            for row in check.execute(f"SELECT id FROM {table}")
        }
    assert {entity for _, entity in acknowledged} <= stored
