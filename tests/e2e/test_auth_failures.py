"""No usable keyring, traces, TLS, and servers that answer nonsense."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from iamcli.emulator.app import Settings
from support import Emulator, ThreadServer, files_containing


def login(cli, url: str, key: str, *extra: str, flavor: str = "cloud"):  # type: ignore[no-untyped-def]
    return cli("login", "-a", url, "--flavor", flavor, "--apikey", "-", *extra, stdin=key)


@pytest.mark.parametrize(
    "backend",
    [
        "keyring.backends.fail.Keyring",
        "keyring.backends.null.Keyring",
        "fake_keyrings.LockedKeyring",
    ],
)
def test_no_usable_keyring_stops_login_with_the_two_ways_on(
    cli_process, emulator: Emulator, home: Path, backend: str
) -> None:
    env = {"PYTHON_KEYRING_BACKEND": backend}
    r = cli_process("login", "-a", emulator.url, "--apikey", "-", stdin=emulator.a.apikey, env=env)
    assert r.code == 1, r.stderr
    assert "IAMCLI_API_KEY" in r.stderr and "--insecure-storage" in r.stderr
    assert "Traceback" not in r.stderr and emulator.a.apikey not in r.stderr
    assert not (home / "config" / "config.json").exists()


def test_insecure_storage_works_and_warns_every_time(
    cli_process, emulator: Emulator, home: Path
) -> None:
    env = {"PYTHON_KEYRING_BACKEND": "fake_keyrings.LockedKeyring"}
    r = cli_process(
        "login",
        "-a",
        emulator.url,
        "--apikey",
        "-",
        "--insecure-storage",
        stdin=emulator.a.apikey,
        env=env,
    )
    assert r.code == 0, r.stderr
    assert "plain text" in r.stderr
    [stored] = files_containing(home, emulator.a.apikey)
    assert stored.stat().st_mode & 0o777 == 0o600
    info = json.loads(cli_process("target", "--output", "json", env=env).stdout)
    assert "plain-text file" in info["credential_source"]
    # A new token needs the key again: reading it from the file warns again.
    (home / "cache" / "tokens" / "default.json").unlink()
    again = cli_process("oauth-tokens", env=env)
    assert again.code == 0 and "plain text" in again.stderr
    assert cli_process("logout", env=env).code == 0
    assert files_containing(home, emulator.a.apikey) == []


@pytest.mark.parametrize("flavor", ["cloud", "private"])
def test_trace_hides_every_secret(
    cli, emulator: Emulator, home: Path, tmp_path: Path, flavor: str
) -> None:
    r1 = login(cli, emulator.url, emulator.a.apikey, "--trace", flavor=flavor)
    assert r1.code == 0
    r2 = cli("oauth-tokens", "--trace")
    token = r2.out_lines[0].split()[3]
    # A fresh token, so that the trace shows a token request and its answer.
    (home / "cache" / "tokens" / "default.json").unlink()
    trace_file = tmp_path / "trace.log"
    r3 = cli("introspect", env={"IAMCLI_TRACE": str(trace_file)})
    assert r3.code == 0
    traces = r1.stderr + r2.stderr + trace_file.read_text()
    assert "REQUEST:" in traces and "RESPONSE:" in traces
    assert "[PRIVATE DATA HIDDEN]" in traces
    new_token = json.loads((home / "cache" / "tokens" / "default.json").read_text())["access_token"]
    for secret in (emulator.a.apikey, token, new_token):
        assert secret not in traces
    assert trace_file.stat().st_mode & 0o777 == 0o600


def test_password_login_trace_hides_password_and_refresh_token(cli, emulator: Emulator) -> None:
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
        "--trace",
    )
    assert r.code == 0, r.stderr
    from support import stored_secret

    refresh = stored_secret("default", "refresh_token")
    assert refresh and refresh not in r.stderr and emulator.a.password not in r.stderr


def _unsigned_jwt(claims: dict[str, object]) -> str:
    import base64

    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}."


_TOKEN = {
    "token_type": "Bearer",
    "expires_in": 3600,
    "expiration": 4102444800,
    "refresh_token": "not_supported",
}
_ANSWERS = {
    "html": (502, "text/html", b"<!DOCTYPE html><html><body>Bad gateway</body></html>"),
    "garbage": (200, "application/json", b'{"access_token": "abc", "expires'),
    "wrong shape": (200, "application/json", b'["not", "an", "object"]'),
    "html 200": (200, "text/html", b"<html>login portal</html>"),
    "10 MB": (200, "application/json", b'{"access_token": "' + b"a" * 10_000_000 + b'"}'),
    "not a JWT": (
        200,
        "application/json",
        json.dumps({**_TOKEN, "access_token": "opaque-token"}).encode(),
    ),
    "alg none": (
        200,
        "application/json",
        json.dumps(
            {
                **_TOKEN,
                "access_token": _unsigned_jwt(
                    {"iam_id": "IBMid-EVIL", "account": {"bss": "x"}, "iat": 1, "exp": 4102444800}
                ),
            }
        ).encode(),
    ),
    "redirect": (302, "text/html", b""),
}


class _Nonsense(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, ctype, body = _ANSWERS[self.server.mode]  # type: ignore[attr-defined]
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "http://collector.invalid/identity/token")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(http.server.HTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A client that stops reading a 10 MB body breaks the pipe; that is the test's point,
        # and the server's traceback would land in the captured stderr of the CLI under test.
        pass


@pytest.fixture
def nonsense() -> Iterator[http.server.HTTPServer]:
    server = _QuietServer(("127.0.0.1", 0), _Nonsense)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("mode", "fragment"),
    [
        ("html", "HTTP 502 from 127.0.0.1"),
        ("garbage", "invalid JSON"),
        ("wrong shape", "expected a JSON object"),
        ("html 200", "invalid JSON"),
        ("10 MB", "too large"),
        ("not a JWT", "not an IBM IAM token"),
        ("alg none", "not signed with RS256"),
        ("redirect", "redirects to collector.invalid; not followed"),
    ],
)
def test_a_server_answering_nonsense(
    cli, nonsense: http.server.HTTPServer, home: Path, mode: str, fragment: str
) -> None:
    nonsense.mode = mode  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{nonsense.server_address[1]}"
    r = login(cli, url, "k" * 44)
    assert r.code == 1, r.stderr
    assert fragment in r.stderr
    assert "Traceback" not in r.stderr and "k" * 44 not in r.stderr
    assert "<html" not in r.stderr.lower()
    assert not (home / "config" / "config.json").exists()


def test_nobody_listening_is_a_network_error(cli) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = login(cli, f"http://127.0.0.1:{port}", "k" * 44)
    assert r.code == 6 and "127.0.0.1" in r.stderr and "Traceback" not in r.stderr


@pytest.fixture(scope="module")
def tls_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    from iamcli.emulator.store import Store

    home = tmp_path_factory.mktemp("tls")
    store = Store(str(home / "serve.db"))
    store.bootstrap(seed_apikey="tls-admin-key-" + "t" * 30)
    server = ThreadServer(Settings(db=store.path), store, tls_dir=home).start()
    yield server
    server.stop()


def test_tls_is_verified_and_can_be_trusted_or_skipped(cli, tls_emulator: ThreadServer) -> None:
    key = "tls-admin-key-" + "t" * 30
    refused = login(cli, tls_emulator.url, key)
    assert refused.code == 6
    assert "--ca-bundle" in refused.stderr and "--skip-ssl-validation" in refused.stderr
    trusted = login(cli, tls_emulator.url, key, "--ca-bundle", str(tls_emulator.ca_bundle))
    assert trusted.code == 0, trusted.stderr
    assert cli("oauth-tokens").code == 0
    skipped = login(cli, tls_emulator.url, key, "--skip-ssl-validation", "--profile", "k")
    assert skipped.code == 0
    assert cli("introspect", "--profile", "k").code == 0
    both = login(cli, tls_emulator.url, key, "--skip-ssl-validation", "--ca-bundle", "x")
    assert both.code == 2


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and reads requests, but never answers."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()


@pytest.mark.parametrize(
    "args",
    [
        ["login", "--flavor", "cloud", "--apikey", "-"],
        ["oauth-tokens"],
        ["service-ids"],
        ["introspect"],
    ],
)
def test_a_server_that_never_answers_is_given_up_on(
    cli, silent_server: str, args: list[str]
) -> None:
    import time

    env = {
        "IAMCLI_HTTP_TIMEOUT": "1",
        "IAMCLI_API_KEY": "k" * 44,
        "IAMCLI_ENDPOINT": silent_server,
        "IAMCLI_FLAVOR": "cloud",
    }
    if args[0] == "login":
        args = [*args[:1], "-a", silent_server, *args[1:]]
    started = time.monotonic()
    r = cli(*args, stdin="k" * 44, env=env)
    elapsed = time.monotonic() - started
    assert r.code == 6, r.stderr
    assert "127.0.0.1" in r.stderr and "within 1 s" in r.stderr
    assert "Traceback" not in r.stderr and "k" * 44 not in r.stderr
    assert elapsed < 20  # bounded: retries stop starting after twice the timeout
