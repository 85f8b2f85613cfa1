"""iamcli's credential store against a real Secret Service (GNOME Keyring over D-Bus).

Skipped unless IAMCLI_TEST_REAL_KEYRING=1. Headless, in a throwaway D-Bus session:

    dbus-run-session -- sh -c 'echo pw | gnome-keyring-daemon --unlock --components=secrets \\
        >/dev/null; IAMCLI_TEST_REAL_KEYRING=1 .venv/bin/pytest -m keyring tests/unit'

(Debian packages: dbus, gnome-keyring.) The daemon and its collection die with the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iamcli import credentials
from iamcli.config import Profile, save_profile
from iamcli.credentials import (
    delete_secrets,
    keyring_usable,
    load_secret,
    resolve_api_key,
    store_secrets,
)

pytestmark = [
    pytest.mark.keyring,
    pytest.mark.skipif(
        os.environ.get("IAMCLI_TEST_REAL_KEYRING") != "1",
        reason="set IAMCLI_TEST_REAL_KEYRING=1 inside dbus-run-session (see module docstring)",
    ),
]

KEY = "real-keyring-apikey-0123456789"


def _profile() -> str:
    # Unique per run: the collection is shared by every test of the session.
    name = f"t{os.getpid()}"
    save_profile(Profile(name=name, endpoint="https://iam.example.com", secret_store="keyring"))
    return name


def test_secret_service_is_usable() -> None:
    usable, backend = keyring_usable()
    assert usable, backend
    assert backend == "keyring.backends.SecretService.Keyring"


def test_store_read_delete_through_secret_service(isolated_home: Path) -> None:
    import keyring

    name = _profile()
    assert store_secrets(name, KEY, "rt-1", insecure=False) == "keyring"
    # Read back through the keyring library directly: the secret really is in the collection.
    assert keyring.get_password(credentials.service_name(), f"{name}/apikey") == KEY
    assert keyring.get_password(credentials.service_name(), f"{name}/refresh_token") == "rt-1"
    assert load_secret(name, "refresh_token") == "rt-1"
    assert resolve_api_key(name, None, stdin=None) == (KEY, "keyring")
    assert not (isolated_home / "data" / "credentials.json").exists()
    delete_secrets(name, store="keyring")
    assert keyring.get_password(credentials.service_name(), f"{name}/apikey") is None
    assert load_secret(name, "apikey") is None


def test_another_process_reads_what_this_one_stored(isolated_home: Path) -> None:
    name = _profile()
    store_secrets(name, KEY, None, insecure=False)
    try:
        code = (
            "import sys\n"
            "from iamcli.credentials import resolve_api_key\n"
            f"print(resolve_api_key({name!r}, None, stdin=None))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "IAMCLI_HOME": str(isolated_home)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.stdout.strip() == repr((KEY, "keyring")), out.stderr
    finally:
        delete_secrets(name, store="keyring")


def test_without_a_session_bus_the_keyring_is_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Same machine, D-Bus address removed: what CI without a session looks like.
    code = (
        "from iamcli.credentials import keyring_usable\n"
        "usable, reason = keyring_usable()\n"
        "print(usable)\n"
        "print(reason)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "False", out.stderr
    assert lines[1]
    credentials.reset_keyring_state()


@pytest.mark.skipif(
    not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")),
    reason="needs dbus-run-session and gnome-keyring-daemon",
)
def test_locked_collection_is_unusable(tmp_path: Path) -> None:
    # Locking cannot be undone without a prompter, so it happens in a session of its own, with
    # its own keyring files, leaving the session of the other tests untouched.
    code = (
        "import secretstorage\n"
        "from iamcli.credentials import keyring_usable, store_secrets\n"
        "from iamcli.errors import CredentialStoreError\n"
        "conn = secretstorage.dbus_init()\n"
        "secretstorage.get_default_collection(conn).lock()\n"
        "print(keyring_usable())\n"
        "try:\n"
        "    store_secrets('p', 'k', None, insecure=False)\n"
        "except CredentialStoreError as exc:\n"
        "    print('refused:', exc.hint)\n"
    )
    script = (
        "echo pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; "
        f'"{sys.executable}" -c "$CODE"'
    )
    env = {
        **{k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"},
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "IAMCLI_HOME": str(tmp_path / "iamcli"),
        "CODE": code,
    }
    out = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "(False, 'KeyringLocked: Failed to unlock the collection!')", out.stderr
    assert lines[1].startswith("refused: in CI, set IAMCLI_API_KEY")
