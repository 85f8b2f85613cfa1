"""`service-api-key-rotate` and `api-key-rotate`: one safe step, finished by running it again
after a kill at any step, a Ctrl-C, or a server that fails a third of its requests."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from support import APIKEY_GRANT, Emulator, iamcli_command, serve_process

STEPS = ["pending", "created", "saved", "proved", "moved", "retired"]
FLAVORS = ["cloud", "private"]


def run(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*iamcli_command(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **env},
    )


def ok(*args: str, env: dict[str, str]) -> str:
    r = run(*args, env=env)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout


@dataclass
class Setup:
    env: dict[str, str]
    sid: str
    name: str
    old: dict[str, object]


def make_key(url: str, admin_key: str, flavor: str, *, leak: bool = True) -> Setup:
    """A service ID with one key, the key made with a leak action and an expiry on IBM Cloud
    (over the API directly: the create commands do not set them)."""
    env = {"IAMCLI_API_KEY": admin_key, "IAMCLI_ENDPOINT": url, "IAMCLI_FLAVOR": flavor}
    sid_name = f"rot-{uuid.uuid4().hex[:8]}"
    sid = json.loads(ok("service-id-create", sid_name, "--output", "json", env=env))
    name = "deploy"
    if flavor == "cloud" and leak:
        token = httpx.post(
            f"{url}/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": admin_key}
        ).json()["access_token"]
        expires = time.strftime("%Y-%m-%dT%H:%M+0000", time.gmtime(time.time() + 30 * 86400))
        r = httpx.post(
            f"{url}/v1/apikeys",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "name": name,
                "description": "the deploy key",
                "iam_id": sid["iam_id"],
                "account_id": sid["account_id"],
                "action_when_leaked": "delete",
                "expires_at": expires,
            },
        )
        assert r.status_code == 201, r.text
        old = r.json()
    else:
        old = json.loads(
            ok(
                "service-api-key-create",
                name,
                sid["id"],
                "-d",
                "the deploy key",
                "--output",
                "json",
                env=env,
            )
        )
    return Setup(env, sid["id"], name, old)


def keys_of(setup: Setup) -> list[dict[str, object]]:
    out = ok("service-api-keys", setup.sid, "--output", "json", env=setup.env)
    return [k for k in json.loads(out) if k["name"] == setup.name]


def mints(url: str, flavor: str, value: str) -> bool:
    path = "/identity/token" if flavor == "cloud" else "/iam-token/oidc/token"
    r = httpx.post(url + path, data={"grant_type": APIKEY_GRANT, "apikey": value}, timeout=10)
    return r.status_code == 200


def check_finished(setup: Setup, file: Path, url: str, flavor: str, old_action: str) -> None:
    """Exactly one active key of the name, the one in FILE; the old one disabled or gone."""
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    saved = json.loads(file.read_text())
    keys = {k["id"]: k for k in keys_of(setup)}
    active = [k for k in keys.values() if not k.get("disabled")]
    assert [k["id"] for k in active] == [saved["id"]], keys
    assert saved["rotated_from"] == setup.old["id"] != saved["id"]
    if old_action == "delete":
        assert setup.old["id"] not in keys
    else:
        assert keys[str(setup.old["id"])]["disabled"] is True
    assert mints(url, flavor, saved["apikey"])
    new = keys[saved["id"]]
    assert new.get("description") == "the deploy key"
    if flavor == "cloud":
        assert new["action_when_leaked"] == setup.old["action_when_leaked"]
        assert new.get("expires_at") == setup.old.get("expires_at")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_rotation_end_to_end(emulator: Emulator, tmp_path: Path, flavor: str) -> None:
    setup = make_key(emulator.url, emulator.a.apikey, flavor)
    file = tmp_path / "new.json"
    r = run("service-api-key-rotate", setup.name, setup.sid, "--file", str(file), env=setup.env)
    assert r.returncode == 0, r.stderr
    default = "disable" if flavor == "cloud" else "delete"
    check_finished(setup, file, emulator.url, flavor, default)
    assert f"(old key {default}d)" in r.stderr
    saved = json.loads(file.read_text())
    assert saved["apikey"] not in r.stdout + r.stderr
    # Done is done: the same command again changes nothing and says so.
    again = run("service-api-key-rotate", setup.name, setup.sid, "--file", str(file), env=setup.env)
    assert again.returncode == 0, again.stderr
    assert "already" in again.stderr
    check_finished(setup, file, emulator.url, flavor, default)


def test_old_keep_says_two_keys_are_active(emulator: Emulator, tmp_path: Path) -> None:
    setup = make_key(emulator.url, emulator.a.apikey, "cloud")
    file = tmp_path / "new.json"
    r = run(
        "service-api-key-rotate", str(setup.old["id"]), setup.sid, "--file", str(file),
        "--old", "keep", env=setup.env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "two keys are active" in r.stderr
    assert sum(not k.get("disabled") for k in keys_of(setup)) == 2


def test_refusals_before_anything_happens(emulator: Emulator, tmp_path: Path) -> None:
    setup = make_key(emulator.url, emulator.a.apikey, "private")
    file = tmp_path / "new.json"
    args = ["service-api-key-rotate", setup.name, setup.sid, "--file", str(file)]
    r = run(*args, "--old", "disable", env=setup.env)
    assert r.returncode == 2 and "cannot be disabled" in r.stderr
    assert run(*args, "--old", "shred", env=setup.env).returncode == 2
    file.write_text("{}")
    exists = run(*args, env=setup.env)
    assert exists.returncode == 1 and "exists; use --force" in exists.stderr
    assert run("service-api-key-rotate", "nope", setup.sid, "--file", str(tmp_path / "x"),
               env=setup.env).returncode == 3  # fmt: skip
    assert [k["id"] for k in keys_of(setup)] == [setup.old["id"]]


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("step", STEPS)
def test_killed_at_any_step_the_same_command_finishes(
    emulator: Emulator, tmp_path: Path, flavor: str, step: str
) -> None:
    setup = make_key(emulator.url, emulator.a.apikey, flavor)
    file = tmp_path / "new.json"
    args = ["service-api-key-rotate", setup.name, setup.sid, "--file", str(file)]
    killed = run(*args, env={**setup.env, "IAMCLI_ROTATE_STOP_AT": step})
    assert killed.returncode == -9, killed.stderr
    # Never two active keys without a successor saved in FILE.
    saved = json.loads(file.read_text())
    active = [k["id"] for k in keys_of(setup) if not k.get("disabled")]
    assert setup.old["id"] in active or step == "retired"
    extra = set(active) - {setup.old["id"]}
    if extra:
        # The one successor is the file's: by its ID, or (IBM Cloud) by its value, saved
        # before it was made; on ICP a successor whose value died with the process is
        # removed by the next run.
        assert len(extra) == 1
        assert (
            saved["id"] in extra
            or (flavor == "cloud" and mints(emulator.url, flavor, saved["apikey"]))
            or (flavor == "private" and step == "created")
        )
    done = run(*args, env=setup.env)
    assert done.returncode == 0, done.stderr
    check_finished(setup, file, emulator.url, flavor, "disable" if flavor == "cloud" else "delete")


def test_ctrl_c_says_how_to_finish(emulator: Emulator, tmp_path: Path) -> None:
    setup = make_key(emulator.url, emulator.a.apikey, "cloud")
    file = tmp_path / "new.json"
    args = ["service-api-key-rotate", setup.name, setup.sid, "--file", str(file)]
    stopped = run(*args, env={**setup.env, "IAMCLI_ROTATE_STOP_AT": "proved:INT"})
    assert stopped.returncode == 130
    assert "run the same command again to finish" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert run(*args, env=setup.env).returncode == 0
    check_finished(setup, file, emulator.url, "cloud", "disable")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_the_profile_moves_to_the_successor(
    emulator: Emulator, tmp_path: Path, home: Path, flavor: str
) -> None:
    setup = make_key(emulator.url, emulator.a.apikey, flavor, leak=False)
    old_file = tmp_path / "old.json"
    admin = setup.env
    ok("service-api-key-create", "ci", setup.sid, "--file", str(old_file), env=admin)
    base = {"IAMCLI_HOME": str(home)}
    login = run(
        "login", "-a", emulator.url, "--flavor", flavor, "--apikey", f"@{old_file}",
        "--insecure-storage", "--profile", "bot", env=base,
    )  # fmt: skip
    assert login.returncode == 0, login.stderr
    file = tmp_path / "new.json"
    r = run("service-api-key-rotate", "ci", setup.sid, "--file", str(file), "--profile", "bot",
            env=base)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Profile bot now logs in with the new key" in r.stderr
    # The cached token is dropped: the next one is minted with what the profile stores now,
    # and the old key no longer mints anything.
    (home / "cache" / "tokens" / "bot.json").unlink()
    assert run("oauth-tokens", "--profile", "bot", env=base).returncode == 0
    assert not mints(emulator.url, flavor, json.loads(old_file.read_text())["apikey"])


@pytest.mark.parametrize("flavor", FLAVORS)
def test_api_key_rotate_of_ones_own_key(
    emulator: Emulator, tmp_path: Path, home: Path, flavor: str
) -> None:
    admin = {
        "IAMCLI_API_KEY": emulator.b.apikey,
        "IAMCLI_ENDPOINT": emulator.url,
        "IAMCLI_FLAVOR": flavor,
    }
    mine = tmp_path / "mine.json"
    name = f"laptop-{uuid.uuid4().hex[:6]}"
    ok("api-key-create", name, "--file", str(mine), env=admin)
    base = {"IAMCLI_HOME": str(home)}
    login = run("login", "-a", emulator.url, "--apikey", f"@{mine}", "--insecure-storage", env=base)
    assert login.returncode == 0, login.stderr
    file = tmp_path / "new.json"
    r = run("api-key-rotate", name, "--file", str(file), "--old", "delete", env=base)
    assert r.returncode == 0, r.stderr
    assert "Profile default now logs in with the new key" in r.stderr
    assert not mints(emulator.url, flavor, json.loads(mine.read_text())["apikey"])
    assert mints(emulator.url, flavor, json.loads(file.read_text())["apikey"])


@pytest.mark.slow
@pytest.mark.parametrize("flavor", FLAVORS)
def test_rotation_under_faults_finishes_by_running_it_again(tmp_path: Path, flavor: str) -> None:
    admin_key = "rotation-fault-admin-" + "r" * 30
    db = str(tmp_path / "serve.db")
    common = ["--db", db, "--seed-apikey", admin_key, "--quiet", "--workers", "1"]
    with (
        serve_process(*common) as clean,
        serve_process(
            *common, "--fault-rate", "0.3", "--fault-status", "500,502,503,429",
            "--drop-rate", "0.05", "--fault-seed", "7",
        ) as faulty,
    ):  # fmt: skip
        setup = make_key(clean.url, admin_key, flavor)
        file = tmp_path / "new.json"
        env = {
            **setup.env,
            "IAMCLI_ENDPOINT": faulty.url,
            # Few retries, so that runs do stop half-way and the next one must resume.
            "IAMCLI_HTTP_RETRIES": "1",
            "IAMCLI_RETRY_BASE": "0.01",
        }
        args = ["service-api-key-rotate", setup.name, setup.sid, "--file", str(file)]
        outcomes = []
        for _ in range(40):
            r = run(*args, env=env)
            outcomes.append(r.returncode)
            if r.returncode == 0:
                break
            assert "Traceback" not in r.stderr
            if file.exists():
                # Whenever the successor may be active, the failure says how to finish.
                assert "run the same command again" in r.stderr or "FAILED" in r.stderr
        assert outcomes[-1] == 0, outcomes
        # The seeded faults (one worker: one sequence) stop the first runs half-way.
        assert len(outcomes) > 1, outcomes
        check_finished(setup, file, clean.url, flavor, "disable" if flavor == "cloud" else "delete")
