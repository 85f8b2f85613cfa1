"""Bad input from a server or a file is one line and a documented exit code, never a
traceback: a JWKS of the wrong shape, a config that cannot be read or decoded, a token cache
that is not a file."""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from hostile_server import fake_jwt, hostile_server, send_json, token_answer
from support import Emulator


def one_line_failure(r, code: int) -> str:  # type: ignore[no-untyped-def]
    assert r.code == code, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    return lines[lines.index("FAILED") + 1]


@pytest.mark.parametrize(
    "jwks",
    [{"keys": 5}, {"keys": "x"}, {"keys": [{"kid": "k", "kty": "RSA", "n": 5, "e": []}]}, []],
    ids=["keys-a-number", "keys-a-string", "key-of-wrong-types", "not-an-object"],
)
def test_a_jwks_of_the_wrong_shape(cli_process, jwks: object) -> None:  # type: ignore[no-untyped-def]
    def respond(h: BaseHTTPRequestHandler) -> None:
        if h.path.startswith("/identity/token"):
            return token_answer(h)
        send_json(h, jwks)

    with hostile_server(respond) as server:
        env = {"IAMCLI_ENDPOINT": server.url, "IAMCLI_FLAVOR": "cloud", "IAMCLI_API_KEY": "k" * 20}
        r = cli_process("introspect", fake_jwt(), env=env)
    if jwks == {"keys": [{"kid": "k", "kty": "RSA", "n": 5, "e": []}]}:
        # A key that cannot be read verifies nothing: the token is not active (exit 4).
        assert r.code == 4 and "Traceback" not in r.stderr, r.stderr
        return
    line = one_line_failure(r, 1)
    assert line.startswith("unexpected answer from 127.0.0.1") or "expected a JSON object" in line


@pytest.mark.parametrize(
    ("spoil", "expect"),
    [
        (lambda p: p.mkdir(), "is not a regular file"),
        (lambda p: p.write_bytes(b"\xff\xfe{not utf-8"), "is not valid JSON"),
        (lambda p: p.write_text('{"version": 1, "profiles": {"default": 5}}'), "is not a JSON"),
        (
            lambda p: p.write_text('{"version": 1, "profiles": {"default": {"endpoint": 5}}}'),
            "an invalid 'endpoint'",
        ),
        (lambda p: p.write_text('{"version": 99}'), "newer than this iamcli"),
        (lambda p: p.write_text("[]"), "is not an iamcli configuration"),
    ],
    ids=[
        "a-directory",
        "not-utf8",
        "profile-not-object",
        "endpoint-not-string",
        "future",
        "a-list",
    ],
)
def test_a_config_that_cannot_be_used(cli, home: Path, spoil, expect: str) -> None:  # type: ignore[no-untyped-def]
    (home / "config").mkdir(parents=True, mode=0o700)
    home.chmod(0o700)
    spoil(home / "config" / "config.json")
    for args in (["target"], ["oauth-tokens"], ["logout"]):
        assert expect in one_line_failure(cli(*args), 1)


def test_a_token_cache_that_is_not_a_file(cli, emulator: Emulator, home: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("login", "-a", emulator.url, "--apikey", "-", stdin=emulator.a.apikey)
    assert r.code == 0, r.stderr
    cache = home / "cache" / "tokens" / "default.json"
    cache.unlink()
    cache.mkdir()
    r = cli("oauth-tokens")
    assert r.code == 0 and r.stdout.startswith("IAM token:  Bearer "), r.stderr
    assert "Warning: could not cache the token" in r.stderr
    os.rmdir(cache)


def test_an_identity_name_that_is_not_text_is_kept_and_shown_escaped(cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    # A lone surrogate is valid JSON ("\\ud800") but cannot be written as UTF-8.
    token = fake_jwt(name="bot\ud800\u202e")

    def respond(h: BaseHTTPRequestHandler) -> None:
        token_answer(h, token)

    with hostile_server(respond) as server:
        r = cli("login", "-a", server.url, "--flavor", "cloud", "--apikey", "-", stdin="k" * 30)
        assert r.code == 0, r.stderr
        assert "bot\\ud800\\u202e (IBMid-hostile)" in r.stdout
        shown = cli("target", "--output", "json")
    assert shown.code == 0, shown.stderr
    assert json.loads(shown.stdout)["identity_name"] == "bot\ud800\u202e"
