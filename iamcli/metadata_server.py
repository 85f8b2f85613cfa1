"""A loopback-only stand-in for the IBM VPC instance metadata token flow, for `iamcli exec
--metadata-server`: the child's IBM SDKs (`<SERVICE>_AUTH_TYPE=vpc`) get fresh IAM tokens
from it for as long as the child runs, and never see an API key.

The calls are those of IBM's ``VPCInstanceAuthenticator`` (ibm-cloud-sdk-core python,
``token_managers/vpc_instance_token_manager.py``; the Go core's ``vpcinstance_authenticator``
makes the same two):

1. ``PUT {url}/instance_identity/v1/token?version=2022-03-01`` with ``Metadata-Flavor: ibm``
   and ``{"expires_in": 300}``: an *instance identity token*;
2. ``POST {url}/instance_identity/v1/iam_token?version=2022-03-01`` with
   ``Authorization: Bearer <instance identity token>``: ``{"access_token": <IAM token>, ...}``.

SDK core 3.28 can also be told ``VPC_IMS_VERSION=2025-08-26`` and then uses
``/identity/v1/token`` and ``/identity/v1/iam_tokens``; both path sets are served. Older cores
sent the version as a header on the first call; any version is accepted, as long as one is
given (the VPC API requires it). Trusted profiles (``trusted_profile`` in the body) are
refused: the token is always the exec's own identity.

Who can use it, while the child runs: the URL's path begins with a random per-run secret (the
SDK appends its paths to ``AUTH_URL``, so the protocol carries it), so a process that cannot
read the child's environment (another user's, on Linux) gets 404s; anything running as the
same user can read that environment and then mint tokens for the exec's identity, exactly as
it could read ``IAMCLI_TOKEN``. The Host header must name the loopback address (no DNS
rebinding from a browser), and the first call needs the ``Metadata-Flavor`` header, which no
plain cross-site request can send.

Its own code, standard library only: it shares nothing with ``iamcli.emulator`` (DESIGN).
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .errors import IamcliError
from .token_cache import CachedToken

# The two path sets, by the operation they name.
IDENTITY_TOKEN_PATHS = ("/instance_identity/v1/token", "/identity/v1/token")
IAM_TOKEN_PATHS = ("/instance_identity/v1/iam_token", "/identity/v1/iam_tokens")
# The VPC API's bounds for an instance identity token's life, and its default.
MIN_IDENTITY_TTL, MAX_IDENTITY_TTL, DEFAULT_IDENTITY_TTL = 5, 3600, 300
_MAX_BODY = 16 * 1024
_MAX_IDENTITY_TOKENS = 1024


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class MetadataServer:
    """Serves tokens from `token_source` on 127.0.0.1 (a port of the OS's choosing) while
    used as a context manager."""

    def __init__(self, token_source: Callable[[], CachedToken]) -> None:
        self._token_source = token_source
        self._source_lock = threading.Lock()
        self._secret = secrets.token_urlsafe(24)
        self._identity: dict[str, float] = {}
        self._identity_lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self._secret}"

    def __enter__(self) -> MetadataServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="iamcli-metadata",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    # -- the two operations ----------------------------------------------------------------

    def _identity_token(self, ttl: int) -> dict[str, Any]:
        now = time.time()
        token = secrets.token_urlsafe(32)
        with self._identity_lock:
            for old in [t for t, exp in self._identity.items() if exp <= now]:
                del self._identity[old]
            while len(self._identity) >= _MAX_IDENTITY_TOKENS:
                del self._identity[next(iter(self._identity))]
            self._identity[token] = now + ttl
        return {
            "access_token": token,
            "created_at": _iso(now),
            "expires_at": _iso(now + ttl),
            "expires_in": ttl,
        }

    def _check_identity(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        now = time.time()
        with self._identity_lock:
            expires = self._identity.get(token.strip()) if scheme.lower() == "bearer" else None
        if expires is None or expires <= now:
            raise _Refusal(401, "invalid_token", "The instance identity token is not valid.")

    def _iam_token(self) -> dict[str, Any]:
        try:
            with self._source_lock:
                token = self._token_source()
        except IamcliError as exc:
            raise _Refusal(503, "iam_token_unavailable", exc.message) from None
        now = int(time.time())
        return {
            "access_token": token.access_token,
            "created_at": _iso(token.issued_at),
            "expires_at": _iso(token.expires_at),
            "expires_in": max(0, token.expires_at - now),
        }

    # -- HTTP ------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "iamcli-metadata"
            sys_version = ""
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the child's output is the child's; nothing of ours goes in it

            def _answer(self, status: int, body: dict[str, Any], *, close: bool = False) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                if close:
                    # Said to the client too, so that it does not send on a closed connection.
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            def _refuse(self, refusal: _Refusal) -> None:
                body = {
                    "errors": [{"code": refusal.code, "message": refusal.message}],
                    "trace": secrets.token_hex(8),
                }
                # The body may be unread: this connection cannot carry another request.
                self._answer(refusal.status, body, close=True)

            def _operation(self) -> str:
                host = (self.headers.get("Host") or "").strip().lower()
                if host not in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
                    raise _Refusal(403, "forbidden", "Requests must be addressed to loopback.")
                parts = urlsplit(self.path)
                prefix = "/" + server._secret
                if not hmac.compare_digest(parts.path[: len(prefix)], prefix):
                    raise _Refusal(404, "not_found", "Not found.")
                path = parts.path[len(prefix) :]
                version = parse_qs(parts.query).get("version", [self.headers.get("version")])
                if not version[0] or len(version[0]) != 10:
                    raise _Refusal(
                        400, "missing_version", "The version query parameter is required."
                    )
                return path

            def _body(self) -> dict[str, Any]:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= _MAX_BODY:
                    raise _Refusal(400, "bad_request", "The request body is not acceptable.")
                raw = self.rfile.read(length) if length else b""
                if not raw.strip():
                    return {}
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise _Refusal(400, "bad_request", "The request body is not JSON.") from None
                if not isinstance(body, dict):
                    raise _Refusal(400, "bad_request", "The request body is not an object.")
                return body

            def do_PUT(self) -> None:
                try:
                    path = self._operation()
                    if path not in IDENTITY_TOKEN_PATHS:
                        raise _Refusal(
                            405 if path in IAM_TOKEN_PATHS else 404, "not_found", "Not found."
                        )
                    if (self.headers.get("Metadata-Flavor") or "").lower() != "ibm":
                        raise _Refusal(
                            400, "missing_header", "The Metadata-Flavor: ibm header is required."
                        )
                    ttl = self._body().get("expires_in", DEFAULT_IDENTITY_TTL)
                    if (
                        not isinstance(ttl, int)
                        or isinstance(ttl, bool)
                        or not MIN_IDENTITY_TTL <= ttl <= MAX_IDENTITY_TTL
                    ):
                        raise _Refusal(
                            400,
                            "bad_expires_in",
                            f"expires_in must be {MIN_IDENTITY_TTL} to {MAX_IDENTITY_TTL}.",
                        )
                    self._answer(200, server._identity_token(ttl))
                except _Refusal as refusal:
                    self._refuse(refusal)

            def do_POST(self) -> None:
                try:
                    path = self._operation()
                    if path not in IAM_TOKEN_PATHS:
                        raise _Refusal(
                            405 if path in IDENTITY_TOKEN_PATHS else 404, "not_found", "Not found."
                        )
                    server._check_identity(self.headers.get("Authorization"))
                    if self._body().get("trusted_profile") is not None:
                        raise _Refusal(
                            400,
                            "trusted_profile_not_linked",
                            "iamcli exec serves its own identity only, not trusted profiles.",
                        )
                    self._answer(200, server._iam_token())
                except _Refusal as refusal:
                    self._refuse(refusal)

            def _not_allowed(self) -> None:
                self._refuse(_Refusal(405, "method_not_allowed", "Method not allowed."))

            do_GET = do_DELETE = do_PATCH = _not_allowed

        return Handler
