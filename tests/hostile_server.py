"""A small hostile IAM server on 127.0.0.1, for answers `iamcli serve` would never give.

Each test hands it a `respond(handler) -> None` function that writes whatever it likes; the
server counts requests, runs each in a thread, and stops (closing held connections) within a
bounded time.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNT = "hostile0000000000000000000000000"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_jwt(
    lifetime: int = 3600, *, iat: int | None = None, exp: int | None = None, **extra: object
) -> str:
    """An RS256-labelled, unsigned token with IBM's claims: enough for a client that does not
    verify what it is handed (and the CLI does not, for its own tokens)."""
    now = int(time.time())
    claims = {
        "iam_id": "IBMid-hostile",
        "sub": "hostile@example.com",
        "account": {"bss": ACCOUNT},
        "iat": now if iat is None else iat,
        "exp": (now + lifetime) if exp is None else exp,
        "iss": "hostile",
        "jti": uuid.uuid4().hex,
        **extra,
    }
    head = b64(json.dumps({"alg": "RS256", "kid": "k"}).encode())
    return f"{head}.{b64(json.dumps(claims).encode())}.{b64(b'not-a-signature')}"


Respond = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Hostile:
    url: str
    requests: list[str] = field(default_factory=list)


def send_json(handler: BaseHTTPRequestHandler, body: object, status: int = 200) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def token_answer(handler: BaseHTTPRequestHandler, token: str | None = None) -> None:
    token = token or fake_jwt()
    send_json(handler, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})


@contextmanager
def hostile_server(respond: Respond) -> Iterator[Hostile]:
    served = Hostile("")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _any(self) -> None:
            served.requests.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            with suppress(BrokenPipeError, ConnectionResetError):
                respond(self)

        do_GET = do_POST = do_PUT = do_DELETE = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
