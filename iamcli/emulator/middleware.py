"""What every request goes through before the routes: an ID, a bounded body, one log line."""

from __future__ import annotations

import asyncio
import json
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
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_MEDIA = re.compile(r"^application/([a-z0-9.+-]*\+)?json$")
_BATCH_BYTES = 4096
_BATCH_SECONDS = 0.05


def unpaired_surrogate(body: bytes) -> bool:
    """Whether a JSON body holds a string with an unpaired UTF-16 surrogate (`"\\ud800"`).

    JSON allows the escape, Python decodes it, and nothing can encode the result: it would
    reach the store or a digest and fail there. Invalid JSON is not this function's business
    (FastAPI answers it); a surrogate can only come from a \\u escape or, since Python decodes
    JSON bytes with surrogatepass, from the bytes ED A0-BF xx, so other bodies are not parsed.
    """
    if b"\\u" not in body and b"\xed" not in body:
        return False
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return False
    stack = [value]
    while stack:  # a loop, not recursion: the depth is the sender's choice
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _json_media(scope: Scope) -> bool:
    for name, value in scope.get("headers") or ():
        if name == b"content-type":
            media = value.decode("latin-1").split(";")[0].strip().lower()
            return bool(_JSON_MEDIA.match(media))
    return False


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
        bounded = self._bounded(receive)
        if problem is None and _json_media(scope):
            bounded, problem = await self._checked_json(bounded)
        if problem is not None:
            response = problems.render(problem, path=scope["path"], request_id=rid)
            await response(scope, receive, send_with_id)
        else:
            await self.app(scope, bounded, send_with_id)
        if self.log is not None:
            self.log.request(scope, status, started)

    async def _checked_json(self, receive: Receive) -> tuple[Receive, Problem | None]:
        """Reads a JSON body whole (it is bounded) and refuses one that no part of the server
        could handle; the app then reads the same body from a replay."""
        messages: list[Message] = []
        try:
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
        except Problem as exc:  # over the size limit
            return receive, exc
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if unpaired_surrogate(body):
            return receive, Problem(
                400, "The request body is not valid: a string holds an unpaired surrogate"
            )

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        return replay, None

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
