"""The token grant of an environment API key over http.client (iamcli/lean_http.py): the same
answers, refusals and limits as through httpx, and httpx where it alone does it right."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from hostile_server import hostile_server, send_json, token_answer
from iamcli.emulator.app import Settings
from support import Emulator, ThreadServer

TLS_KEY = "stdlib-tls-key-" + "s" * 30


def _env_key(monkeypatch: pytest.MonkeyPatch, url: str, key: str = "some-api-key") -> None:
    monkeypatch.setenv("IAMCLI_API_KEY", key)
    monkeypatch.setenv("IAMCLI_ENDPOINT", url)
    monkeypatch.setenv("IAMCLI_FLAVOR", "cloud")


def test_a_mint_with_an_environment_key_loads_no_httpx(emulator: Emulator, home: Path) -> None:
    env = {
        **os.environ,
        "IAMCLI_HOME": str(home),
        "IAMCLI_API_KEY": emulator.a.apikey,
        "IAMCLI_ENDPOINT": emulator.url,
    }
    env.pop("IAMCLI_FLAVOR", None)  # the family is found out, too, without httpx
    code = (
        "import sys; from iamcli.__main__ import main; rc = main(['oauth-tokens', '--output',"
        " 'json']); print(rc, [m for m in ('httpx', 'httpcore', 'keyring', 'typer')"
        " if m in sys.modules], file=sys.stderr)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert r.stderr.strip() == "0 []", r.stderr
    token = json.loads(r.stdout)["iam_token"]
    # The token is the server's own: it introspects as active, through the full CLI.
    check = subprocess.run(
        [sys.executable, "-m", "iamcli", "introspect", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["active"] is True
    assert token.startswith("Bearer ")


def test_a_redirect_is_not_followed(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    with hostile_server(lambda h: token_answer(h)) as elsewhere:

        def redirect(h: BaseHTTPRequestHandler) -> None:
            h.send_response(307)
            h.send_header("Location", elsewhere.url + "/identity/token")
            h.send_header("Content-Length", "0")
            h.end_headers()

        with hostile_server(redirect) as server:
            _env_key(monkeypatch, server.url)
            r = cli("oauth-tokens")
    assert r.code == 1
    assert "redirects to 127.0.0.1; not followed" in r.stderr
    assert server.requests == ["POST /identity/token"]  # once: a 3xx is not retried either
    assert elsewhere.requests == []


def test_a_refused_key_is_sent_once(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(h: BaseHTTPRequestHandler) -> None:
        send_json(
            h,
            {"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."},
            status=400,
        )

    with hostile_server(refuse) as server:
        _env_key(monkeypatch, server.url)
        r = cli("oauth-tokens")
    assert r.code == 4, r.stderr
    assert "BXNIM0415E: Provided API key could not be found." in r.stderr
    assert server.requests == ["POST /identity/token"]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"<html>captive portal</html>", "invalid JSON from 127.0.0.1"),
        (b"x" * (5 * 1024 * 1024 + 10), "response too large from 127.0.0.1"),
        (b'{"token_type": "Bearer"}', "'access_token' is not a non-empty string"),
    ],
)
def test_unusable_answers_are_refused(
    cli, monkeypatch: pytest.MonkeyPatch, body: bytes, said: str
) -> None:
    def answer(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    with hostile_server(answer) as server:
        _env_key(monkeypatch, server.url)
        r = cli("oauth-tokens")
    assert r.code == 1
    assert said in r.stderr
    assert "Traceback" not in r.stderr
    assert not list(Path(os.environ["IAMCLI_HOME"]).glob("cache/tokens/*.json"))


def test_what_is_retried_is_retried(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([503, 429])

    def flaky(h: BaseHTTPRequestHandler) -> None:
        status = next(answers, 200)
        if status == 200:
            token_answer(h)
        else:
            send_json(h, {"errorCode": "BXNIM0001E", "errorMessage": "busy"}, status=status)

    with hostile_server(flaky) as server:
        _env_key(monkeypatch, server.url)
        r = cli("oauth-tokens")
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("IAM token:  Bearer ")
    assert server.requests == ["POST /identity/token"] * 3


def test_a_proxy_in_the_environment_is_used(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: a proxy that cannot be reached
    with hostile_server(lambda h: token_answer(h)) as server:
        _env_key(monkeypatch, server.url)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("IAMCLI_HTTP_RETRIES", "0")
        r = cli("oauth-tokens")
    assert r.code == 6, r.stderr
    assert server.requests == []  # it went to the proxy, not around it


def test_a_silent_server_is_given_up_on_in_time(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def silent(h: BaseHTTPRequestHandler) -> None:
        time.sleep(8)

    with hostile_server(silent) as server:
        _env_key(monkeypatch, server.url)
        monkeypatch.setenv("IAMCLI_HTTP_TIMEOUT", "2")
        r = cli("oauth-tokens")
        asked = list(server.requests)
    assert r.code == 6
    assert f"no answer from {server.url.split('//')[1]} within 2 s (IAMCLI_HTTP_TIMEOUT)" in (
        r.stderr
    )
    # Given up on at the deadline, and not tried again (the server's 8 s never ended it).
    assert asked == ["POST /identity/token"]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    from iamcli.emulator.store import Store

    home = tmp_path_factory.mktemp("stdlib-tls")
    store = Store(str(home / "serve.db"))
    store.bootstrap(seed_apikey=TLS_KEY)
    server = ThreadServer(Settings(db=store.path), store, tls_dir=home).start()
    yield server
    server.stop()


def test_tls_is_verified_as_httpx_verifies(
    cli, monkeypatch: pytest.MonkeyPatch, tls_server: ThreadServer
) -> None:
    _env_key(monkeypatch, tls_server.url, TLS_KEY)
    refused = cli("oauth-tokens")
    assert refused.code == 6
    assert "could not be verified" in refused.stderr and "--ca-bundle" in refused.stderr
    # The variable httpx honours for its CA store is honoured here too.
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.ca_bundle))
    trusted = cli("oauth-tokens")
    assert trusted.code == 0, trusted.stderr
    assert trusted.stdout.startswith("IAM token:  Bearer ")


@pytest.mark.parametrize("trace", [False, True])  # --trace takes the full (httpx) path
def test_an_unusable_ca_file_in_the_environment_is_one_line(
    cli, monkeypatch: pytest.MonkeyPatch, tls_server: ThreadServer, tmp_path: Path, trace: bool
) -> None:
    _env_key(monkeypatch, tls_server.url, TLS_KEY)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    r = cli("oauth-tokens", *(["--trace"] if trace else []))
    assert r.code == 2, r.stderr
    assert "cannot use the CA certificates of SSL_CERT_FILE=" in r.stderr
    assert "Traceback" not in r.stderr and TLS_KEY not in r.stderr


@pytest.mark.parametrize(
    ("endpoint", "host", "port"),
    [
        ("http://[2001:db8::1]", "2001:db8::1", 80),
        ("https://[2001:db8::1]/", "2001:db8::1", 443),
        ("https://[2001:db8::1]:8443", "2001:db8::1", 8443),
        ("http://[fe80::a:b]", "fe80::a:b", 80),
    ],
)
def test_an_ipv6_endpoint_is_reached_at_its_own_address(
    endpoint: str, host: str, port: int
) -> None:
    """Without a port, http.client takes the last group of an IPv6 address for one
    ("2001:db8::1" → host 2001:db8:: port 1): the key would go to another host."""
    from iamcli.lean_http import Link

    link = Link(endpoint, True)
    assert (link.conn.host, link.conn.port) == (host, port)
