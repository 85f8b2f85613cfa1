"""Many iamcli processes at once, as in a CI job's parallel steps: on one profile, on many (with
IAMCLI_API_KEY, which never touches the keyring), and logging in to many through the real
Secret Service."""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from support import REAL_KEYRING, iamcli_command, serve_process, stored_secret

KEY = "parallel-admin-key-" + "p" * 30
WORKERS = 16


def run_many(argvs: list[list[str]], env: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    def one(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*iamcli_command(), *argv], capture_output=True, text=True, env=env, timeout=120
        )

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(one, argvs))


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IAMCLI_", "IBMCLOUD_"))}
    env["IAMCLI_HOME"] = str(home)
    return env


def test_sixteen_processes_refresh_an_expired_token_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = base_env(home)
    with serve_process("--db", ":memory:", "--seed-apikey", KEY) as server:
        login = ["login", "-a", server.url, "--apikey", KEY]
        if not REAL_KEYRING:
            login.append("--insecure-storage")
        assert (
            subprocess.run(
                [*iamcli_command(), *login], env=env, capture_output=True, text=True, timeout=60
            ).returncode
            == 0
        )
        cache = home / "cache" / "tokens" / "default.json"
        cached = json.loads(cache.read_text())
        cached["expires_at"] = int(time.time()) - 1  # just expired
        cache.write_text(json.dumps(cached))
        mints_before = sum("POST /identity/token" in line for line in server.stderr_lines)

        results = run_many([["oauth-tokens", "--output", "json"]] * WORKERS, env)

        time.sleep(0.5)  # let the server's log lines arrive
        mints = sum("POST /identity/token" in line for line in server.stderr_lines) - mints_before
        server.stop()
    assert [r.returncode for r in results] == [0] * WORKERS, [r.stderr for r in results]
    tokens = {json.loads(r.stdout)["iam_token"] for r in results}
    assert len(tokens) == 1  # everyone got the one new token
    assert mints == 1
    assert json.loads(cache.read_text())["expires_at"] > time.time()
    json.loads((home / "config" / "config.json").read_text())


def test_sixteen_processes_write_different_profiles(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**base_env(home), "IAMCLI_API_KEY": KEY}
    with serve_process("--db", ":memory:", "--seed-apikey", KEY, "--quiet") as server:
        results = run_many(
            [["login", "-a", server.url, "--profile", f"p{i:02d}"] for i in range(WORKERS)], env
        )
        server.stop()
    assert [r.returncode for r in results] == [0] * WORKERS, [r.stderr for r in results]
    profiles = json.loads((home / "config" / "config.json").read_text())["profiles"]
    assert sorted(profiles) == [f"p{i:02d}" for i in range(WORKERS)]
    assert all(p["secret_store"] == "env" for p in profiles.values())
    leftovers = [
        p.name
        for p in (home / "config").iterdir()
        if p.name not in ("config.json", "config.json.lock")
    ]
    assert leftovers == []  # no temp files left behind


@pytest.mark.skipif(not REAL_KEYRING, reason="needs the Secret Service (make test)")
@pytest.mark.keyring
def test_sixteen_logins_to_sixteen_profiles_through_the_keyring(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = base_env(home)
    with serve_process("--db", ":memory:", "--seed-apikey", KEY, "--quiet") as server:
        key_file = tmp_path / "key"
        key_file.write_text(KEY)
        results = run_many(
            [
                ["login", "-a", server.url, "--apikey", f"@{key_file}", "--profile", f"k{i:02d}"]
                for i in range(WORKERS)
            ],
            env,
        )
        server.stop()
    assert [r.returncode for r in results] == [0] * WORKERS, "\n".join(r.stderr for r in results)
    profiles = json.loads((home / "config" / "config.json").read_text())["profiles"]
    assert sorted(profiles) == [f"k{i:02d}" for i in range(WORKERS)]
    assert {p["secret_store"] for p in profiles.values()} == {"keyring"}
    # Every secret is in the Secret Service, under the home's own service name.
    os.environ["IAMCLI_HOME"] = str(home)
    try:
        assert [stored_secret(f"k{i:02d}", "apikey") for i in range(WORKERS)] == [KEY] * WORKERS
    finally:
        del os.environ["IAMCLI_HOME"]
