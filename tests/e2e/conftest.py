"""The CLI, run as users run it, against the real emulator over HTTP on 127.0.0.1.

`cli(...)` runs `iamcli` in this process (fast, and its output is captured exactly);
`cli_process(...)` runs it as a separate process where a test needs a fresh interpreter.
Secrets go to the real Secret Service when IAMCLI_TEST_REAL_KEYRING=1 (as `make test` runs
the suite, inside scripts/with-keyring); otherwise to an in-memory keyring.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest
from fake_keyrings import MemoryKeyring

from iamcli import credentials
from iamcli.__main__ import main
from support import REAL_KEYRING, iamcli_command

_AMBIENT = (
    "IAMCLI_API_KEY",
    "IBMCLOUD_API_KEY",
    "IAMCLI_PROFILE",
    "IAMCLI_TRACE",
    "IAMCLI_ENDPOINT",
    "IAMCLI_FLAVOR",
    "IAMCLI_OUTPUT",
    "IAMCLI_HTTP_TIMEOUT",
    "IAMCLI_HTTP_RETRIES",
    "NO_COLOR",
    "PYTHON_KEYRING_BACKEND",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def out_lines(self) -> list[str]:
        return self.stdout.splitlines()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "iamcli-home"
    for name in _AMBIENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IAMCLI_HOME", str(home))
    monkeypatch.setenv("IAMCLI_RETRY_BASE", "0.01")
    credentials.reset_keyring_state()
    if not REAL_KEYRING:
        previous = keyring.get_keyring()
        keyring.set_keyring(MemoryKeyring())
    yield home
    credentials.reset_keyring_state()
    if not REAL_KEYRING:
        keyring.set_keyring(previous)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def run(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        with monkeypatch.context() as m:
            for name, value in (env or {}).items():
                m.setenv(name, value)
            m.setattr(sys, "stdin", io.StringIO(stdin))
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(list(args))
        credentials.reset_keyring_state()
        return Result(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def cli_process():  # type: ignore[no-untyped-def]
    def run(
        *args: str, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 60
    ) -> Result:
        tests_dir = str(Path(__file__).resolve().parents[1])
        full_env = {**os.environ, **(env or {})}
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (tests_dir, full_env.get("PYTHONPATH", "")) if p
        )
        r = subprocess.run(
            [*iamcli_command(), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
        )
        return Result(r.returncode, r.stdout, r.stderr)

    return run
