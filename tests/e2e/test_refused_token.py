"""A token the server refuses is dropped, replaced once and the request tried once more; a
token that is dead on arrival is never cached."""

from __future__ import annotations

import json
import re
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from hostile_server import fake_jwt, hostile_server, send_json, token_answer
from support import REAL_KEYRING, serve_process

KEY = "refused-admin-key-" + "r" * 26
ACCOUNT = "a" * 32


def test_a_server_restarted_with_new_keys_gets_a_new_token(cli_process, home: Path) -> None:  # type: ignore[no-untyped-def]
    env = {"IAMCLI_HOME": str(home)}
    seed = ("--db", ":memory:", "--seed-apikey", KEY, "--account-id", ACCOUNT)
    with serve_process(*seed) as first:
        login = ["login", "-a", first.url, "--apikey", "-"]
        if not REAL_KEYRING:
            login.append("--insecure-storage")
        assert cli_process(*login, stdin=KEY, env=env).code == 0
        old = json.loads(cli_process("oauth-tokens", "--output", "json", env=env).stdout)
        port = re.sub(r".*:", "", first.url)
    # The same server again, on the same port with the same key, but a new signing key: every
    # token it issued before is refused.
    with serve_process(*seed, "--port", port) as second:
        assert second.url == first.url
        r = cli_process("service-ids", "--output", "json", env=env)
        assert r.code == 0, r.stderr
        time.sleep(0.3)
        log = [line for line in second.stderr_lines if line.startswith("127.0.0.1 ")]
        # Refused once, one new token, the list again: nothing more.
        assert [line.split()[1:4] for line in log] == [
            ["GET", "/v1/serviceids/", "401"],
            ["POST", "/identity/token", "200"],
            ["GET", "/v1/serviceids/", "200"],
        ]
        new = json.loads(cli_process("oauth-tokens", "--output", "json", env=env).stdout)
        assert new["iam_token"] != old["iam_token"]  # the dead one is not served again
        assert cli_process("introspect", env=env).code == 0


def test_a_server_that_refuses_every_token_is_tried_once_more_only(cli_process) -> None:  # type: ignore[no-untyped-def]
    def respond(h: BaseHTTPRequestHandler) -> None:
        if h.path.startswith("/identity/token"):
            return token_answer(h)
        send_json(h, {"errorCode": "BXNIM0407E", "errorMessage": "Invalid token"}, status=401)

    env = {"IAMCLI_API_KEY": "k" * 30, "IAMCLI_FLAVOR": "cloud"}
    with hostile_server(respond) as server:
        r = cli_process("service-ids", env={**env, "IAMCLI_ENDPOINT": server.url})
    assert r.code == 4, r.stderr
    assert [q.split("?")[0] for q in server.requests] == [
        "POST /identity/token",
        "GET /v1/serviceids/",
        "POST /identity/token",
        "GET /v1/serviceids/",
    ]


def test_a_token_that_expires_when_it_is_issued_is_not_cached(cli_process, home: Path) -> None:  # type: ignore[no-untyped-def]
    now = int(time.time())
    dead = fake_jwt(iat=now, exp=now)  # the answer's expires_in says an hour; the token, never

    def respond(h: BaseHTTPRequestHandler) -> None:
        token_answer(h, dead)

    with hostile_server(respond) as server:
        env = {"IAMCLI_API_KEY": "k" * 30, "IAMCLI_FLAVOR": "cloud", "IAMCLI_ENDPOINT": server.url}
        for _ in range(2):
            assert cli_process("oauth-tokens", env={**env, "IAMCLI_HOME": str(home)}).code == 0
    assert server.requests == ["POST /identity/token"] * 2  # minted each time: none was kept
    assert not (home / "cache" / "tokens" / "default.json").exists()
