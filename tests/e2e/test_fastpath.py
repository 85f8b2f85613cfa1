"""`oauth-tokens` from the cache, before the CLI framework loads: same answers, fewer imports."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iamcli.__main__ import _full
from iamcli.fastpath import oauth_tokens, recognise
from iamcli.token_cache import needs_refresh, usable
from support import Emulator

HEAVY = (
    "httpx",
    "keyring",
    "rich",
    "typer",
    "pydantic",
    "jwt",
    "platformdirs",
    "typing",
    "dataclasses",
    "pathlib",
    "iamcli.config",
    "iamcli.session",
    "iamcli.cli.main",
)
# Not even these for a cached token in text: json, with the re and enum it imports, costs about
# as much as the rest of the run (the cache is read without it), and errors.py is for failures.
CACHED_ONLY = ("json", "re", "enum", "iamcli.errors")


@pytest.fixture
def logged_in(cli, emulator: Emulator) -> None:  # type: ignore[no-untyped-def]
    r = cli(
        "login", "-a", emulator.url, "--flavor", "cloud", "--apikey", "-", stdin=emulator.a.apikey
    )
    assert r.code == 0, r.stderr


def fast(*args: str) -> tuple[int | None, str]:
    """What the fast path answers from the cache alone; (None, "") when it would not."""
    request = recognise(list(args))
    if request is None:
        return None, ""
    cached = usable(request.profile)
    if cached is None or cached.has_refresh_token or needs_refresh(cached):
        return None, ""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = oauth_tokens(request)
    return code, out.getvalue()


def full(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = _full(list(args))
    return code, out.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        ["oauth-tokens"],
        ["oauth-tokens", "--output", "json"],
        ["oauth-tokens", "--output=JSON", "-q"],
        ["--profile", "default", "oauth-tokens"],
        ["oauth-tokens", "--profile=default", "--quiet"],
        ["oauth-tokens", "--raw"],
        ["oauth-tokens", "--min-valid", "10m", "--output", "json"],
        ["oauth-tokens", "--min-valid=90s", "--raw"],
    ],
)
def test_answers_exactly_as_the_full_command(logged_in: None, args: list[str]) -> None:
    code, text = fast(*args)
    assert code == 0 and text
    assert (0, _steady(text)) == (lambda r: (r[0], _steady(r[1])))(full(*args))


def _steady(text: str) -> str:
    # `expires_in` is the seconds left when printed: the two runs may be a second apart.
    if not text.startswith("{"):
        return text
    body = json.loads(text)
    assert body.pop("expires_in") >= 0
    return json.dumps(body)


def test_falls_through_whenever_unsure(
    logged_in: None, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for args in (
        ["oauth-tokens", "--trace"],
        ["oauth-tokens", "--help"],
        ["target"],
        ["oauth-tokens", "--output", "yaml"],
        ["oauth-tokens", "--profile", "../x"],
        ["oauth-tokens", "--profile", "nobody"],
        ["oauth-tokens", "extra"],
        ["oauth-tokens", "--min-valid", "soon"],
        ["oauth-tokens", "--raw", "--output", "json"],
        ["oauth-tokens", "--min-valid"],
    ):
        assert fast(*args) == (None, ""), args
    monkeypatch.setenv("IAMCLI_TRACE", "true")
    assert fast("oauth-tokens") == (None, "")
    monkeypatch.delenv("IAMCLI_TRACE")
    # A different key in the environment: not this cache's token.
    monkeypatch.setenv("IAMCLI_API_KEY", "some-other-key-" + "o" * 30)
    assert fast("oauth-tokens") == (None, "")
    monkeypatch.delenv("IAMCLI_API_KEY")
    # Due for refresh (80% of its life gone): the full command mints a new one.
    path = home / "cache" / "tokens" / "default.json"
    cached = json.loads(path.read_text())
    cached["issued_at"] -= 3000
    cached["expires_at"] -= 3000
    path.write_text(json.dumps(cached))
    assert fast("oauth-tokens") == (None, "")


def test_password_sessions_take_the_full_path(cli, emulator: Emulator) -> None:
    r = cli(
        "login",
        "-a",
        emulator.url,
        "--flavor",
        "private",
        "-u",
        emulator.a.username,
        "-p",
        emulator.a.password,
    )
    assert r.code == 0
    assert fast("oauth-tokens") == (None, "")  # its refresh token line needs the keyring
    assert "IAM refresh token:" in cli("oauth-tokens").stdout


def python_in(home: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "IAMCLI_HOME": str(home)},
    )


def test_imports_nothing_heavy(logged_in: None, home: Path) -> None:
    code = (
        "import sys; from iamcli.__main__ import main; rc = main(['oauth-tokens']);"
        f" print(rc, [m for m in {HEAVY + CACHED_ONLY!r} if m in sys.modules], file=sys.stderr)"
    )
    r = python_in(home, code)
    assert r.stderr.strip() == "0 []", r.stderr
    assert r.stdout.startswith("IAM token:  Bearer ")


def test_env_key_tokens_are_cached_and_served_fast(
    cli, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IAMCLI_API_KEY", emulator.a.apikey)
    monkeypatch.setenv("IAMCLI_ENDPOINT", emulator.url)
    assert fast("oauth-tokens") == (None, "")  # nothing cached yet
    minted = cli("oauth-tokens")
    assert minted.code == 0
    assert fast("oauth-tokens") == (0, minted.stdout)
    monkeypatch.setenv("IAMCLI_ENDPOINT", emulator.url + "/")  # another spelling: re-mint
    assert fast("oauth-tokens") == (None, "")


def test_minting_skips_the_cli_framework(cli, emulator: Emulator, home: Path) -> None:
    env = {
        **os.environ,
        "IAMCLI_HOME": str(home),
        "IAMCLI_API_KEY": emulator.a.apikey,
        "IAMCLI_ENDPOINT": emulator.url,
    }
    code = (
        "import sys; from iamcli.__main__ import main; rc = main(['oauth-tokens', "
        "'--output', 'json']); print(rc, [m for m in ('typer', 'rich', 'keyring',"
        " 'iamcli.cli.main') if m in sys.modules], file=sys.stderr)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert r.stderr.strip() == "0 []", r.stderr
    assert json.loads(r.stdout)["iam_token"].startswith("Bearer ")


def test_fast_path_errors_look_like_the_full_commands(cli) -> None:
    r = cli("oauth-tokens")
    assert r.code == 4 and r.stderr.startswith("FAILED\nNot logged in")
    assert cli("oauth-tokens", "--trace").stderr == r.stderr


def test_exec_with_a_cached_token_imports_nothing_heavy(logged_in: None, home: Path) -> None:
    code = (
        "import sys; import iamcli.services.exec as e;"
        " e._replace_process = lambda command, env: print(command, env['IAMCLI_TOKEN'][:3],"
        f" [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr) or 0;"
        " from iamcli.__main__ import main; main(['exec', '--', 'true', '-x'])"
    )
    r = python_in(home, code)
    assert r.stderr.strip() == "['true', '-x'] eyJ []", r.stderr


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["exec", "--", "true"], ["true"]),
        (["exec", "ls", "-l", "--sdk-service", "x"], ["ls", "-l", "--sdk-service", "x"]),
        (["--profile", "p", "exec", "--min-valid", "1h", "--", "a", "--"], ["a", "--"]),
    ],
)
def test_exec_argv_as_the_fast_path_reads_it(args: list[str], command: list[str]) -> None:
    from iamcli.fastpath import recognise_exec

    request = recognise_exec(args)
    assert request is not None and request.command == command


def test_exec_falls_through_whenever_unsure() -> None:
    from iamcli.fastpath import recognise_exec

    for args in (
        ["exec", "--help", "--", "true"],
        ["exec", "--trace", "--", "true"],
        ["exec", "--min-valid", "x", "--", "true"],
        ["exec", "--sdk-service", "bad name!", "--", "true"],
        ["exec"],
        ["exec", "--"],
    ):
        assert recognise_exec(args) is None, args
