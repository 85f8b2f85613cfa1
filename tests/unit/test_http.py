from __future__ import annotations

import datetime
import gzip
import json
import random
import socket
import ssl
import threading
import uuid
from collections.abc import Callable, Iterator
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from iamcli import __version__, http
from iamcli.errors import (
    ApiError,
    AuthError,
    ExitCode,
    NetworkError,
    NotFoundError,
    ProtocolError,
    RateLimitError,
    ServerError,
    UsageError,
)
from iamcli.http import HttpSettings, Retry, json_object, make_client, send

ENDPOINT = "https://iam.example.com"
SECRET = "k3y-S3CRET-value"

Step = httpx.Response | Exception


class Script:
    """A MockTransport handler that answers with the given steps in order and records requests."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        return step


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(http, "_sleep", recorded.append)
    monkeypatch.setenv("IAMCLI_RETRY_BASE", "0.01")
    return recorded


def client_for(script: Script, **settings: object) -> httpx.Client:
    opts: dict[str, object] = {"timeout": 5.0, **settings}
    return make_client(HttpSettings(ENDPOINT, **opts), transport=httpx.MockTransport(script))  # type: ignore[arg-type]


def ok(body: object = None) -> httpx.Response:
    return httpx.Response(200, json=body if body is not None else {"ok": True})


# --- client defaults -----------------------------------------------------------------------------


def test_client_sends_identity_headers_and_fresh_request_ids(sleeps: list[float]) -> None:
    script = Script(httpx.Response(503), ok(), ok())
    with client_for(script) as client:
        send(client, "GET", "/v1/serviceids", retry=Retry.IDEMPOTENT)
        send(client, "GET", "/v1/serviceids", retry=Retry.IDEMPOTENT)
    ua = script.requests[0].headers["User-Agent"]
    assert ua.startswith(f"iamcli/{__version__} (python 3.")
    assert script.requests[0].headers["Accept"] == "application/json"
    ids = [r.headers["X-Request-ID"] for r in script.requests]
    assert len(ids) == 3 and len(set(ids)) == 3
    for rid in ids:
        uuid.UUID(rid)


def test_timeout_comes_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAMCLI_HTTP_TIMEOUT", "7.5")
    assert HttpSettings(ENDPOINT).timeout == 7.5
    monkeypatch.delenv("IAMCLI_HTTP_TIMEOUT")
    assert HttpSettings(ENDPOINT).timeout == 60.0
    monkeypatch.setenv("IAMCLI_HTTP_TIMEOUT", "soon")
    with pytest.raises(UsageError, match="IAMCLI_HTTP_TIMEOUT"):
        HttpSettings(ENDPOINT)


@pytest.mark.parametrize("endpoint", ["iam.example.com", "ftp://iam.example.com", "https://"])
def test_invalid_endpoint_is_a_usage_error(endpoint: str) -> None:
    with pytest.raises(UsageError, match="invalid endpoint"):
        make_client(HttpSettings(endpoint))


def test_missing_ca_bundle_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="CA bundle"):
        make_client(HttpSettings(ENDPOINT, verify=str(tmp_path / "nope.pem")))


# --- retries -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_idempotent_retries_transient_statuses(status: int, sleeps: list[float]) -> None:
    script = Script(httpx.Response(status), ok({"n": 1}))
    with client_for(script) as client:
        response = send(client, "GET", "/v1/apikeys", retry=Retry.IDEMPOTENT)
    assert response.json() == {"n": 1}
    assert len(script.requests) == 2
    assert len(sleeps) == 1


def test_retries_are_bounded_by_count(sleeps: list[float]) -> None:
    script = Script(httpx.Response(503, json={"errorCode": "BXNIM9999E", "errorMessage": "down"}))
    with client_for(script) as client, pytest.raises(ServerError) as info:
        send(client, "GET", "/v1/apikeys", retry=Retry.IDEMPOTENT)
    assert len(script.requests) == 4
    assert info.value.message == "BXNIM9999E: down"
    assert info.value.exit_code == ExitCode.ERROR
    # Full jitter: each pause is somewhere in [0, base * 2**n].
    assert len(sleeps) == 3
    assert all(0 <= d <= 0.01 * 2**n for n, d in enumerate(sleeps))


def test_retry_count_comes_from_env(sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAMCLI_HTTP_RETRIES", "1")
    script = Script(httpx.Response(503))
    with client_for(script) as client, pytest.raises(ServerError):
        send(client, "GET", "/x", retry=Retry.IDEMPOTENT)
    assert len(script.requests) == 2


def test_backoff_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda lo, hi: hi)
    assert [http._backoff(n, 0.5) for n in range(7)] == [0.5, 1, 2, 4, 8, 8, 8]


def test_retry_none_does_not_retry(sleeps: list[float]) -> None:
    script = Script(httpx.Response(503), ok())
    with client_for(script) as client, pytest.raises(ServerError):
        send(client, "GET", "/x", retry=Retry.NONE)
    assert len(script.requests) == 1


def test_retry_after_seconds_is_honoured(sleeps: list[float]) -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "2"}), ok())
    with client_for(script) as client:
        send(client, "GET", "/x", retry=Retry.IDEMPOTENT)
    assert sleeps == [2.0]


def test_retry_after_http_date_is_honoured(sleeps: list[float]) -> None:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=4)
    script = Script(
        httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)}), ok()
    )
    with client_for(script) as client:
        send(client, "GET", "/x", retry=Retry.IDEMPOTENT)
    assert len(sleeps) == 1 and 2.0 <= sleeps[0] <= 4.0


def test_retry_after_beyond_the_cap_surfaces_the_429(sleeps: list[float]) -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "3600"}), ok())
    with client_for(script) as client, pytest.raises(RateLimitError):
        send(client, "GET", "/x", retry=Retry.IDEMPOTENT)
    assert sleeps == [] and len(script.requests) == 1


def test_no_retry_starts_after_twice_the_timeout(sleeps: list[float]) -> None:
    # timeout 0.5 s: a pause of 2 s would end past the 1 s budget, so it is not taken.
    script = Script(httpx.Response(503, headers={"Retry-After": "2"}), ok())
    with client_for(script, timeout=0.5) as client, pytest.raises(ServerError):
        send(client, "GET", "/x", retry=Retry.IDEMPOTENT)
    assert sleeps == [] and len(script.requests) == 1


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
    ],
    ids=type,
)
@pytest.mark.parametrize("retry", [Retry.IDEMPOTENT, Retry.TOKEN])
def test_idempotent_and_token_retry_transport_errors(
    error: Exception, retry: Retry, sleeps: list[float]
) -> None:
    script = Script(error, ok())
    with client_for(script) as client:
        send(client, "POST" if retry is Retry.TOKEN else "GET", "/x", retry=retry)
    assert len(script.requests) == 2


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("[Errno 111] Connection refused"), httpx.ConnectTimeout("timed out")],
    ids=type,
)
def test_create_retries_only_what_never_reached_the_server(
    error: Exception, sleeps: list[float]
) -> None:
    script = Script(error, httpx.Response(429), httpx.Response(201, json={"id": "ServiceId-1"}))
    with client_for(script) as client:
        response = send(client, "POST", "/v1/serviceids", retry=Retry.CREATE, json={"name": "x"})
    assert response.status_code == 201
    assert len(script.requests) == 3


@pytest.mark.parametrize(
    "step",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
        httpx.Response(500),
        httpx.Response(502),
        httpx.Response(503),
    ],
    ids=lambda s: getattr(s, "status_code", type(s).__name__),
)
def test_create_never_retries_after_the_request_may_have_landed(
    step: Step, sleeps: list[float]
) -> None:
    script = Script(step, httpx.Response(201, json={"id": "dup"}))
    with client_for(script) as client, pytest.raises((NetworkError, ServerError)) as info:
        send(client, "POST", "/v1/serviceids", retry=Retry.CREATE, json={"name": "x"})
    assert len(script.requests) == 1
    if isinstance(info.value, NetworkError):
        assert info.value.hint is not None and "may have acted" in info.value.hint


# --- transport errors → NetworkError -------------------------------------------------------------


def test_timeout_message_names_host_and_setting(sleeps: list[float]) -> None:
    script = Script(httpx.ReadTimeout("timed out"))
    with client_for(script, timeout=7) as client, pytest.raises(NetworkError) as info:
        send(client, "GET", "/x", retry=Retry.IDEMPOTENT)
    assert str(info.value) == (
        "no answer from iam.example.com within 7 s (IAMCLI_HTTP_TIMEOUT) (after 4 attempts)"
    )
    assert info.value.exit_code == ExitCode.NETWORK


def test_tls_failure_names_the_fix_and_is_not_retried(sleeps: list[float]) -> None:
    error = httpx.ConnectError(
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate "
        "(_ssl.c:1006)"
    )
    script = Script(error)
    with client_for(script) as client, pytest.raises(NetworkError) as info:
        send(client, "GET", "/x", retry=Retry.IDEMPOTENT)
    assert str(info.value) == (
        "TLS certificate of iam.example.com could not be verified (self-signed certificate); "
        "use --ca-bundle PATH or --skip-ssl-validation"
    )
    assert len(script.requests) == 1


def test_unknown_host_is_not_retried(sleeps: list[float]) -> None:
    script = Script(httpx.ConnectError("[Errno -2] Name or service not known"))
    with (
        client_for(script) as client,
        pytest.raises(NetworkError, match=r"cannot resolve host iam\.example\.com"),
    ):
        send(client, "GET", "/x", retry=Retry.IDEMPOTENT)
    assert len(script.requests) == 1


def test_proxy_error_names_the_proxy_settings(sleeps: list[float]) -> None:
    script = Script(httpx.ProxyError("407 Proxy Authentication Required"))
    with client_for(script) as client, pytest.raises(NetworkError, match="HTTPS_PROXY"):
        send(client, "GET", "/x", retry=Retry.IDEMPOTENT)


# --- error bodies --------------------------------------------------------------------------------


def _fail(response: httpx.Response, method: str = "POST", url: str = "/identity/token") -> ApiError:
    with client_for(Script(response)) as client, pytest.raises(ApiError) as info:
        send(client, method, url, retry=Retry.NONE)
    return info.value


def test_token_endpoint_error_shape() -> None:
    body = {
        "context": {"requestId": "req-77", "requestType": "incoming.Identity_Token"},
        "errorCode": "BXNIM0415E",
        "errorMessage": "Provided API key could not be found",
    }
    exc = _fail(httpx.Response(400, json=body))
    assert type(exc) is AuthError and exc.exit_code == ExitCode.AUTH
    assert exc.message == "BXNIM0415E: Provided API key could not be found"
    assert (exc.status, exc.code, exc.request_id) == (400, "BXNIM0415E", "req-77")
    assert (exc.method, exc.url) == ("POST", "https://iam.example.com/identity/token")


def test_error_details_are_preferred_over_error_message() -> None:
    body = {"errorCode": "BXNIM0400E", "errorMessage": "short", "errorDetails": "the long story"}
    assert _fail(httpx.Response(400, json=body)).message == "BXNIM0400E: the long story"


def test_private_api_numeric_error_code_is_not_a_prefix() -> None:
    body = {"errorCode": "400", "errorMessage": "input error", "errorDetails": "boundTo is missing"}
    exc = _fail(httpx.Response(400, json=body), "GET", "/iam-token/apikeys/")
    assert exc.message == "boundTo is missing" and exc.code == "400"


def test_identity_api_error_shape() -> None:
    body = {
        "status_code": "404",
        "errors": [
            {"code": "not_found", "message_code": "BXNIM0513E", "message": "Service ID not found"}
        ],
        "trace": "trace-9",
    }
    exc = _fail(httpx.Response(404, json=body), "GET", "/v1/serviceids/ServiceId-1")
    assert type(exc) is NotFoundError and exc.exit_code == ExitCode.NOT_FOUND
    assert exc.message == "BXNIM0513E: Service ID not found"
    assert (exc.code, exc.request_id) == ("BXNIM0513E", "trace-9")


def test_identity_api_error_without_message_code_uses_code() -> None:
    body = {"errors": [{"code": "conflict", "message": "Version mismatch"}], "trace": "t"}
    exc = _fail(httpx.Response(412, json=body), "PUT", "/v1/serviceids/x")
    assert exc.message == "conflict: Version mismatch" and exc.exit_code == ExitCode.CONFLICT


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": "invalid_grant", "error_description": "Bad key"}, "invalid_grant: Bad key"),
        ({"message": "Forbidden by policy"}, "Forbidden by policy"),
        ({"error": "unauthorized"}, "unauthorized"),
        ({"error": {"code": "E1", "message": "nested"}}, "E1: nested"),
    ],
)
def test_other_json_error_shapes(body: dict[str, object], message: str) -> None:
    assert _fail(httpx.Response(403, json=body)).message == message


def test_request_id_from_headers() -> None:
    exc = _fail(httpx.Response(500, json={"message": "x"}, headers={"Transaction-Id": "tx-5"}))
    assert exc.request_id == "tx-5"


def test_html_error_page_is_described_not_dumped() -> None:
    page = "<!DOCTYPE html><html><body>Bad Gateway " + SECRET + "</body></html>"
    exc = _fail(httpx.Response(502, text=page, headers={"Content-Type": "text/html"}))
    assert type(exc) is ServerError
    assert exc.message == "HTTP 502 from iam.example.com (not JSON: an HTML page)"


def test_empty_error_body() -> None:
    assert _fail(httpx.Response(401)).message == "HTTP 401 from iam.example.com"


def test_error_message_and_url_never_carry_the_query_string() -> None:
    with client_for(Script(httpx.Response(404))) as client, pytest.raises(NotFoundError) as info:
        send(client, "GET", "/v1/apikeys/details", retry=Retry.NONE, params={"apikey": SECRET})
    assert SECRET not in str(info.value) and SECRET not in info.value.url
    assert SECRET not in repr(info.value)
    assert info.value.url == "https://iam.example.com/v1/apikeys/details"


def test_jwt_echoed_by_a_server_is_hidden_in_the_message() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
    exc = _fail(httpx.Response(401, json={"errorCode": "BXNIM0407E", "errorMessage": f"bad {jwt}"}))
    assert jwt not in exc.message


def test_redirect_is_not_followed(sleeps: list[float]) -> None:
    script = Script(
        httpx.Response(302, headers={"Location": "https://evil.example.net/identity/token"})
    )
    with client_for(script) as client, pytest.raises(ProtocolError) as info:
        send(
            client,
            "POST",
            "/identity/token",
            retry=Retry.TOKEN,
            headers={"Authorization": "Bearer x"},
        )
    assert "evil.example.net" in str(info.value)
    assert len(script.requests) == 1


# --- bodies --------------------------------------------------------------------------------------


def test_json_object_accepts_an_object_and_rejects_the_rest() -> None:
    with client_for(Script(ok({"a": 1}))) as client:
        assert json_object(send(client, "GET", "/x", retry=Retry.NONE)) == {"a": 1}
    cases = [
        (httpx.Response(200, content=b'{"access_token": "ey'), "invalid JSON from iam.example.com"),
        (httpx.Response(200, text="<html>login</html>"), "(an HTML page)"),
        (
            httpx.Response(200, json=[1, 2]),
            "expected a JSON object from iam.example.com, got a JSON array",
        ),
        (httpx.Response(200), "(an empty body)"),
    ]
    for response, message in cases:
        with client_for(Script(response)) as client:
            got = send(client, "GET", "/x", retry=Retry.NONE)
            with pytest.raises(ProtocolError) as info:
                json_object(got)
        assert message in str(info.value)


class _Chunks(httpx.SyncByteStream):
    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total, self.chunk, self.sent = total, chunk, 0

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.total:
            self.sent += self.chunk
            yield b"x" * self.chunk


def test_oversized_body_is_not_read_whole() -> None:
    stream = _Chunks(10 * 1024 * 1024)
    with (
        client_for(Script(httpx.Response(200, stream=stream))) as client,
        pytest.raises(ProtocolError, match=r"response too large from iam\.example\.com"),
    ):
        send(client, "GET", "/v1/apikeys", retry=Retry.NONE)
    assert stream.sent <= http.MAX_BODY + stream.chunk


def test_oversized_content_length_is_refused_before_reading() -> None:
    stream = _Chunks(10 * 1024 * 1024)
    response = httpx.Response(200, stream=stream, headers={"Content-Length": str(10 * 1024 * 1024)})
    with client_for(Script(response)) as client, pytest.raises(ProtocolError, match="too large"):
        send(client, "GET", "/v1/apikeys", retry=Retry.NONE)
    assert stream.sent == 0


def test_body_just_under_the_limit_is_read() -> None:
    body = b'"' + b"x" * (http.MAX_BODY - 2) + b'"'
    with client_for(Script(httpx.Response(200, content=body))) as client:
        assert len(send(client, "GET", "/x", retry=Retry.NONE).content) == http.MAX_BODY


def test_gzip_body_is_decoded() -> None:
    raw = gzip.compress(json.dumps({"apikeys": []}).encode())
    response = httpx.Response(200, content=raw, headers={"Content-Encoding": "gzip"})
    with client_for(Script(response)) as client:
        assert json_object(send(client, "GET", "/x", retry=Retry.NONE)) == {"apikeys": []}


# --- real sockets on loopback --------------------------------------------------------------------


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """Start a one-thread TCP server whose connections are handled by the given function."""
    servers: list[socket.socket] = []

    def start(handle: Callable[[socket.socket], None]) -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        servers.append(sock)

        def loop() -> None:
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    return
                threading.Thread(target=handle, args=(conn,), daemon=True).start()

        threading.Thread(target=loop, daemon=True).start()
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for sock in servers:
        sock.close()


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


def test_truncated_body_on_the_wire(raw_server: Callable[..., str], sleeps: list[float]) -> None:
    def handle(conn: socket.socket) -> None:
        _read_request(conn)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
        conn.sendall(head + b'\r\n{"access')
        conn.close()

    url = raw_server(handle)
    with make_client(HttpSettings(url, timeout=5)) as client, pytest.raises(NetworkError) as info:
        send(client, "GET", "/identity/keys", retry=Retry.IDEMPOTENT)
    assert "closed the connection without a complete answer (after 4 attempts)" in str(info.value)
    assert "127.0.0.1:" in str(info.value)


def test_read_timeout_on_the_wire(raw_server: Callable[..., str]) -> None:
    held: list[socket.socket] = []

    def handle(conn: socket.socket) -> None:
        held.append(conn)  # accept, then say nothing

    url = raw_server(handle)
    with make_client(HttpSettings(url, timeout=0.2)) as client, pytest.raises(NetworkError) as info:
        send(client, "GET", "/x", retry=Retry.NONE)
    assert str(info.value).startswith("no answer from 127.0.0.1:")
    assert "within 0.2 s (IAMCLI_HTTP_TIMEOUT)" in str(info.value)


def test_connection_refused_on_the_wire(sleeps: list[float]) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    settings = HttpSettings(f"http://127.0.0.1:{port}", timeout=2)
    with make_client(settings) as client, pytest.raises(NetworkError) as info:
        send(client, "GET", "/x", retry=Retry.IDEMPOTENT)
    assert (
        str(info.value)
        == f"cannot connect to 127.0.0.1:{port}: Connection refused (after 4 attempts)"
    )


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on loopback with a freshly made self-signed certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"keys": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert_path
    server.shutdown()
    server.server_close()


def test_real_tls_self_signed_is_refused_with_the_fix(
    tls_server: tuple[str, Path], sleeps: list[float]
) -> None:
    url, _ = tls_server
    with make_client(HttpSettings(url, timeout=5)) as client, pytest.raises(NetworkError) as info:
        send(client, "GET", "/identity/keys", retry=Retry.IDEMPOTENT)
    message = str(info.value)
    assert "TLS certificate of 127.0.0.1:" in message
    assert message.endswith("use --ca-bundle PATH or --skip-ssl-validation")
    assert sleeps == []


def test_real_tls_with_ca_bundle_or_skip_validation(tls_server: tuple[str, Path]) -> None:
    url, cert = tls_server
    for verify in (str(cert), False):
        with make_client(HttpSettings(url, verify=verify, timeout=5)) as client:
            assert json_object(send(client, "GET", "/identity/keys", retry=Retry.NONE)) == {
                "keys": []
            }


def test_delete_after_a_lost_answer_counts_a_404_as_done(sleeps: list[float]) -> None:
    from iamcli.http import delete

    # The first DELETE did its work but its answer was lost behind a 502; the retry finds
    # nothing left to delete.
    script = Script(
        httpx.Response(502),
        httpx.Response(404, json={"errors": [{"code": "not_found", "message": "gone"}]}),
    )
    with client_for(script) as client:
        delete(client, "/v1/apikeys/ApiKey-1")
    assert [r.method for r in script.requests] == ["DELETE", "DELETE"]


def test_delete_of_something_never_there_is_not_found(sleeps: list[float]) -> None:
    from iamcli.errors import NotFoundError
    from iamcli.http import delete

    script = Script(
        httpx.Response(404, json={"errors": [{"code": "not_found", "message": "no such key"}]})
    )
    with client_for(script) as client, pytest.raises(NotFoundError) as info:
        delete(client, "/v1/apikeys/ApiKey-1")
    assert info.value.attempts == 1
