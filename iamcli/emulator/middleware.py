"""What every request goes through before the routes: an ID, a bounded body, one log line."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TextIO

from . import problems
from .problems import Problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# Starlette's route patterns end in `$`, which also matches before a final newline: a path of
# /iam-token/apikeys/%0A would reach the list of keys instead of no key at all.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Writes of at most PIPE_BUF bytes to a pipe are atomic, so the lines of several workers sharing
# one stderr pipe never interleave mid-line.
_BATCH_BYTES = 4096
_BATCH_SECONDS = 0.05


def request_id(scope: Scope) -> str:
    """The caller's X-Request-ID when it is a sane token, else a new UUID."""
    for name, value in scope.get("headers") or ():
        if name == b"x-request-id":
            given: str = value.decode("latin-1")
            if _REQUEST_ID.match(given):
                return given
            break
    return str(uuid.uuid4())


class AccessLog:
    """One line per request: client, method, path (never the query string, which may carry
    identifiers a user did not mean to log), status and time taken.

    Lines are written in batches of at most PIPE_BUF bytes, at the latest 50 ms after the first
    of a batch, so that a busy server makes one write for dozens of requests instead of one
    flushed write each.
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._lines: list[str] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None

    def request(self, scope: Scope, status: int | str, started: float) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        client = (scope.get("client") or ("-", 0))[0]
        line = f"{client} {scope['method']} {scope['path']} {status} {elapsed:.1f}ms\n"
        size = len(line.encode())
        if self._size + size > _BATCH_BYTES:
            self.flush()
        self._lines.append(line)
        self._size += size
        if self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(_BATCH_SECONDS, self.flush)
            except RuntimeError:  # no event loop: write at once
                self.flush()

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lines:
            self.out.write("".join(self._lines))
            self.out.flush()
            self._lines.clear()
            self._size = 0


class RequestContext:
    """Gives each request an ID, bounds its body, and logs one line for it.

    A pure ASGI middleware, because the token endpoint is the server's hot path.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, log: AccessLog | None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"transaction-id", rid.encode()),
                ]
            await send(message)

        length = 0
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                try:
                    length = int(value or b"0")
                except ValueError:
                    length = -1
                break
        problem = None
        if length < 0 or length > self.max_body_bytes:
            problem = Problem(
                413 if length > 0 else 400,
                f"The request body must be at most {self.max_body_bytes} bytes"
                if length > 0
                else "Invalid Content-Length",
            )
        elif _CONTROL.search(scope["path"]):
            problem = Problem(404, "No such resource")
        if problem is not None:
            response = problems.render(problem, path=scope["path"], request_id=rid)
            await response(scope, receive, send_with_id)
        else:
            await self.app(scope, self._bounded(receive), send_with_id)
        if self.log is not None:
            self.log.request(scope, status, started)

    def _bounded(self, receive: Receive) -> Receive:
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise Problem(
                        413, f"The request body must be at most {self.max_body_bytes} bytes"
                    )
            return message

        return bounded
