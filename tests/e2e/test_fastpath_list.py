"""`apikeys list --service-id REF --output json` before Typer loads: the same output, errors and
exit codes as the full command, and Typer never imported."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iamcli.__main__ import _full, main
from iamcli.exits import run_guarded
from iamcli.fastpath import recognise_list
from support import Emulator


@pytest.fixture
def keys(cli, emulator: Emulator) -> str:  # type: ignore[no-untyped-def]
    r = cli(
        "login", "-a", emulator.url, "--flavor", "cloud", "--apikey", "-", stdin=emulator.a.apikey
    )
    assert r.code == 0, r.stderr
    sid = "lister-" + os.urandom(4).hex()
    # With a description: other tests on the shared server read every service ID's.
    assert cli("service-id-create", sid, "-d", "listed", "--output", "json").code == 0
    for name in ("k1", "k2", "k3"):
        made = cli("service-api-key-create", name, sid, "-d", "d " + name, "--output", "json")
        assert made.code == 0, made.stderr
    return sid


def run(args: list[str], *, fast: bool) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args) if fast else run_guarded(lambda: _full(args))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        ["apikeys", "list", "--service-id", "SID", "--output", "json"],
        ["--output=json", "apikeys", "list", "--service-id=SID", "-q"],
        ["apikeys", "--profile", "default", "list", "--output", "JSON", "--service-id", "SID"],
        ["apikeys", "list", "--service-id", "no-such-service-id", "--output", "json"],
    ],
)
def test_the_fast_list_says_what_the_full_command_says(keys: str, args: list[str]) -> None:
    args = [a.replace("SID", keys) for a in args]
    assert recognise_list(args) is not None
    fast, full = run(args, fast=True), run(args, fast=False)
    assert fast == full
    if "no-such-service-id" in args:
        assert fast[0] == 3 and fast[1] == ""
    else:
        listed = json.loads(fast[1])
        assert sorted(k["name"] for k in listed) == ["k1", "k2", "k3"]


def test_the_fast_list_loads_no_typer(keys: str, home: Path) -> None:
    code = (
        "import sys; from iamcli.__main__ import main;"
        f" rc = main(['apikeys', 'list', '--service-id', {keys!r}, '--output', 'json']);"
        " print(rc, [m for m in ('typer', 'rich', 'iamcli.cli.main', 'iamcli.cli.params')"
        " if m in sys.modules], file=sys.stderr)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "IAMCLI_HOME": str(home)},
    )
    assert r.stderr.strip().splitlines()[-1] == "0 []", r.stderr
    assert len(json.loads(r.stdout)) == 3


@pytest.mark.parametrize(
    "args",
    [
        ["apikeys", "list", "--service-id", "x"],  # text: a table, the full command's
        ["apikeys", "list", "--output", "json"],  # the caller's own keys
        ["apikeys", "list", "--service-id", "x", "--output", "json", "--limit", "2"],
        ["apikeys", "list", "--service-id", "x", "--output", "json", "--trace"],
        ["apikeys", "list", "--service-id", "x", "--output", "json", "--help"],
        ["list", "apikeys", "--service-id", "x", "--output", "json"],
        ["apikeys", "get", "list", "--service-id", "x", "--output", "json"],
        ["apikeys", "list", "--service-id", "--output", "json"],
        ["apikeys", "list", "extra", "--service-id", "x", "--output", "json"],
    ],
)
def test_the_fast_list_stands_aside_whenever_unsure(args: list[str]) -> None:
    assert recognise_list(args) is None
