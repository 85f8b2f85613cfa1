"""Isolation for unit tests: a private IAMCLI_HOME, no ambient iamcli settings, fresh state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_AMBIENT = (
    "IAMCLI_API_KEY",
    "IBMCLOUD_API_KEY",
    "IAMCLI_PROFILE",
    "IAMCLI_TRACE",
    "IAMCLI_HTTP_TIMEOUT",
    "IAMCLI_HTTP_RETRIES",
    "IAMCLI_RETRY_BASE",
    "IAMCLI_KEYRING_TIMEOUT",
    "NO_COLOR",
    "IBMCLOUD_COLOR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "iamcli-home"
    monkeypatch.setenv("IAMCLI_HOME", str(home))
    for name in _AMBIENT:
        monkeypatch.delenv(name, raising=False)
    old_umask = os.umask(0o022)
    try:
        yield home
    finally:
        os.umask(old_umask)


@pytest.fixture(autouse=True)
def fresh_keyring_verdict() -> Iterator[None]:
    from iamcli import credentials

    credentials.reset_keyring_state()
    yield
    credentials.reset_keyring_state()
