"""Credential resolution and storage against in-memory keyring backends.

The real Secret Service is exercised in test_credentials_keyring.py.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import pytest
from keyring.errors import KeyringLocked, PasswordDeleteError

from iamcli import credentials
from iamcli.config import Profile, save_profile
from iamcli.credentials import (
    delete_secrets,
    keyring_usable,
    load_secret,
    resolve_api_key,
    store_refresh_token,
    store_secrets,
)
from iamcli.errors import CredentialStoreError, UsageError

KEY = "apikey-0123456789abcdef"
RT = "refresh-token-abcdef"


class MemoryKeyring(keyring.backend.KeyringBackend):
    # Defining a backend registers it with keyring's discovery; a priority of 0 or less keeps
    # these test doubles out of the chainer that keyring builds for the real-keyring tests.
    priority = -1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")


class HangingKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        time.sleep(5)


class ForgetfulKeyring(MemoryKeyring):
    """Accepts writes and returns nothing, like keyring.backends.null, under another name."""

    def set_password(self, service: str, username: str, password: str) -> None:
        pass


class LeakyErrorKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        if not username.startswith("__iamcli_probe__"):
            raise RuntimeError(f"D-Bus said no to {password}")
        super().set_password(service, username, password)


def _install(backend: keyring.backend.KeyringBackend) -> None:
    keyring.set_keyring(backend)
    credentials.reset_keyring_state()


@pytest.fixture(autouse=True)
def restore_keyring() -> Iterator[None]:
    before = keyring.get_keyring()
    yield
    keyring.set_keyring(before)


@pytest.fixture
def memory() -> MemoryKeyring:
    backend = MemoryKeyring()
    _install(backend)
    return backend


def _save(name: str = "default", store: str = "keyring") -> None:
    save_profile(Profile(name=name, endpoint="https://iam.example.com", secret_store=store))  # type: ignore[arg-type]


# --- resolution order ----------------------------------------------------------------------------


def test_resolution_order(memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    _save()
    store_secrets("default", "from-keyring", None, insecure=False)
    assert resolve_api_key("default", None, stdin=None) == ("from-keyring", "keyring")
    monkeypatch.setenv("IBMCLOUD_API_KEY", "from-ibmcloud")
    assert resolve_api_key("default", None, stdin=None) == ("from-ibmcloud", "IBMCLOUD_API_KEY")
    monkeypatch.setenv("IAMCLI_API_KEY", "from-iamcli")
    assert resolve_api_key("default", None, stdin=None) == ("from-iamcli", "IAMCLI_API_KEY")
    assert resolve_api_key("default", "from-flag", stdin=None) == ("from-flag", "--apikey")
    assert resolve_api_key("default", "-", stdin=io.StringIO("from-stdin\n")) == (
        "from-stdin",
        "--apikey",
    )


def test_nothing_found(memory: MemoryKeyring) -> None:
    assert resolve_api_key("default", None, stdin=None) is None
    _save()
    assert resolve_api_key("default", None, stdin=None) is None
    _save("ci", store="env")
    assert resolve_api_key("ci", None, stdin=None) is None


def test_empty_env_counts_as_unset(memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAMCLI_API_KEY", "")
    monkeypatch.setenv("IBMCLOUD_API_KEY", "  ")
    assert resolve_api_key("default", None, stdin=None) is None


def test_env_accepts_at_file_but_not_dash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "key.json").write_text(json.dumps({"apikey": KEY}))
    monkeypatch.setenv("IBMCLOUD_API_KEY", f"@{tmp_path / 'key.json'}")
    assert resolve_api_key("default", None, stdin=io.StringIO("nope")) == (KEY, "IBMCLOUD_API_KEY")
    monkeypatch.setenv("IAMCLI_API_KEY", "-")
    with pytest.raises(UsageError, match="IAMCLI_API_KEY"):
        resolve_api_key("default", None, stdin=io.StringIO("nope"))


def test_env_path_never_imports_keyring(isolated_home: Path) -> None:
    code = (
        "import sys\n"
        "from iamcli.config import Profile, save_profile\n"
        "from iamcli.credentials import resolve_api_key\n"
        "save_profile(Profile(name='default', endpoint='https://e'))\n"
        "print(resolve_api_key('default', None, stdin=sys.stdin))\n"
        "print('keyring' in sys.modules, 'httpx' in sys.modules)\n"
    )
    env = {**os.environ, "IAMCLI_HOME": str(isolated_home), "IAMCLI_API_KEY": KEY}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"('{KEY}', 'IAMCLI_API_KEY')", "False False"]


# --- keyring store -------------------------------------------------------------------------------


def test_store_load_delete_in_the_keyring(memory: MemoryKeyring, isolated_home: Path) -> None:
    _save()
    assert keyring_usable() == (True, f"{MemoryKeyring.__module__}.MemoryKeyring")
    assert store_secrets("default", KEY, RT, insecure=False) == "keyring"
    assert memory.store == {
        (credentials.service_name(), "default/apikey"): KEY,
        (credentials.service_name(), "default/refresh_token"): RT,
    }
    assert load_secret("default", "apikey") == KEY
    assert load_secret("default", "refresh_token") == RT
    store_refresh_token("default", "rt-2")
    assert load_secret("default", "refresh_token") == "rt-2"
    store_refresh_token("default", None)
    assert load_secret("default", "refresh_token") is None
    delete_secrets("default", store="keyring")
    delete_secrets("default", store="keyring")  # missing is fine
    assert memory.store == {}
    assert not (isolated_home / "data" / "credentials.json").exists()


def test_probe_leaves_no_sentinel(memory: MemoryKeyring) -> None:
    assert keyring_usable()[0]
    assert memory.store == {}


def test_verdict_is_cached_per_process(memory: MemoryKeyring) -> None:
    calls = 0
    real = memory.set_password

    def counting(service: str, username: str, password: str) -> None:
        nonlocal calls
        calls += 1
        real(service, username, password)

    memory.set_password = counting  # type: ignore[method-assign]
    keyring_usable()
    keyring_usable()
    assert calls == 1


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        ("keyring.backends.null.Keyring", "the keyring is disabled (keyring.backends.null.Keyring"),
        ("keyring.backends.fail.Keyring", "no keyring backend is available (keyring.backends.fail"),
    ],
)
def test_null_and_fail_backends_are_rejected(backend: str, reason: str) -> None:
    module, _, cls = backend.rpartition(".")
    _install(getattr(__import__(module, fromlist=[cls]), cls)())
    usable, why = keyring_usable()
    assert not usable and why.startswith(reason)


def test_empty_chainer_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    from keyring.backends.chainer import ChainerBackend

    monkeypatch.setattr(ChainerBackend, "backends", [])
    _install(ChainerBackend())  # type: ignore[no-untyped-call]
    assert keyring_usable() == (
        False,
        "no keyring backend is available (keyring.backends.chainer.ChainerBackend has nothing "
        "to chain)",
    )


def test_plaintext_backend_is_rejected() -> None:
    plaintext = type("PlaintextKeyring", (MemoryKeyring,), {"__module__": "keyrings.alt.file"})
    _install(plaintext())
    usable, why = keyring_usable()
    assert not usable
    assert why == "keyrings.alt.file.PlaintextKeyring keeps secrets unencrypted in a file"


def test_backend_that_forgets_is_caught_by_the_probe() -> None:
    _install(ForgetfulKeyring())
    usable, why = keyring_usable()
    assert not usable and "accepted a secret but did not return it" in why


def test_locked_keyring_is_unusable() -> None:
    _install(LockedKeyring())
    assert keyring_usable() == (False, "KeyringLocked: Failed to unlock the collection!")


def test_hanging_keyring_is_unusable_within_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAMCLI_KEYRING_TIMEOUT", "0.2")
    _install(HangingKeyring())
    started = time.monotonic()
    assert keyring_usable() == (
        False,
        "the keyring did not answer within 0.2 s (IAMCLI_KEYRING_TIMEOUT)",
    )
    with pytest.raises(CredentialStoreError, match="did not answer"):
        load_secret("default", "apikey", store="keyring")
    assert time.monotonic() - started < 1.5


def test_a_busy_keyring_is_not_answered_with_plaintext_storage(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A keyring that is slow (locked, or busy with many clients) is not unfit for secrets: the
    # hint must not send the user to a plaintext file.
    monkeypatch.setenv("IAMCLI_KEYRING_TIMEOUT", "0.2")
    _install(HangingKeyring())
    with pytest.raises(CredentialStoreError) as info:
        store_secrets("default", "k" * 20, None, insecure=False)
    assert "did not answer within 0.2 s" in info.value.message
    assert info.value.hint is not None
    assert "insecure-storage" not in info.value.hint
    assert "try again or raise IAMCLI_KEYRING_TIMEOUT" in info.value.hint


def test_unusable_keyring_refuses_to_fall_back_silently(isolated_home: Path) -> None:
    _install(LockedKeyring())
    with pytest.raises(CredentialStoreError) as info:
        store_secrets("default", KEY, RT, insecure=False)
    assert "KeyringLocked" in info.value.message
    assert info.value.hint is not None
    assert "IAMCLI_API_KEY" in info.value.hint and "--insecure-storage" in info.value.hint
    assert not (isolated_home / "data" / "credentials.json").exists()


def test_keyring_errors_never_carry_the_secret(memory: MemoryKeyring) -> None:
    _install(LeakyErrorKeyring())
    with pytest.raises(CredentialStoreError) as info:
        store_secrets("default", KEY, None, insecure=False)
    assert KEY not in str(info.value)
    assert "[hidden]" in str(info.value)


# --- plaintext store -----------------------------------------------------------------------------


def test_insecure_storage_is_a_private_file_with_warnings(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(LockedKeyring())
    _save(store="file")
    old = os.umask(0)
    try:
        assert store_secrets("default", KEY, RT, insecure=True) == "file"
    finally:
        os.umask(old)
    path = isolated_home / "data" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert capsys.readouterr().err == (
        f"Warning: the API key and refresh token for profile default are stored in plain text "
        f"in {path}\n"
    )
    for _ in range(2):
        assert resolve_api_key("default", None, stdin=None) == (KEY, f"file {path}")
        assert capsys.readouterr().err == (
            f"Warning: the API key for profile default is stored in plain text in {path}\n"
        )
    assert load_secret("default", "refresh_token") == RT
    assert "refresh token for profile default" in capsys.readouterr().err


def test_plaintext_copy_is_removed_once_the_keyring_works(isolated_home: Path) -> None:
    _install(LockedKeyring())
    store_secrets("default", KEY, None, insecure=True)
    store_secrets("other", KEY, None, insecure=True)
    _install(MemoryKeyring())
    assert store_secrets("default", KEY, None, insecure=True) == "keyring"
    data: dict[str, Any] = json.loads((isolated_home / "data" / "credentials.json").read_text())
    assert list(data["profiles"]) == ["other"]
    delete_secrets("other", store="file")
    assert not (isolated_home / "data" / "credentials.json").exists()


def test_corrupt_plaintext_file_is_a_clear_error(isolated_home: Path) -> None:
    path = isolated_home / "data" / "credentials.json"
    path.parent.mkdir(parents=True)
    path.write_text("{nope")
    with pytest.raises(CredentialStoreError, match=str(path)):
        load_secret("default", "apikey", store="file")


def test_delete_tolerates_an_unusable_keyring_unless_secrets_were_there() -> None:
    _install(LockedKeyring())
    delete_secrets("default", store="env")
    delete_secrets("default", store="file")
    with pytest.raises(CredentialStoreError, match="remove the API key of profile default"):
        delete_secrets("default", store="keyring")
