"""Injected faults, so that clients' retries, timeouts and error handling meet a flaky server.

Each request, independently: after `latency_ms` of extra delay, with probability `drop_rate`
its connection is cut without an answer; otherwise with probability `rate` it is answered with
one of `statuses` (uniformly), in the error body of its path's API family, with
`Retry-After: 1` on 429 and 503.

Faults are decided before the request reaches the routes: the server never acts on a faulted
request, so a client that retries a faulted create makes exactly one entity. (A real server may
fail after acting; this one does not pretend to.)

The layer sits outside everything else in the app, because cutting a connection needs the
server's own `send`: uvicorn answers 500 when an app raises before starting its response, and
the ASGI protocol has no message that aborts one. uvicorn's `send` is a method of its
request-response cycle, which holds the connection's transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass

from . import problems
from .middleware import AccessLog, ASGIApp, Receive, Scope, Send, request_id
from .problems import Problem

DEFAULT_STATUSES = (500, 502, 503, 429)
MAX_LATENCY_MS = 60_000
_RETRY_AFTER = {429, 503}
_MESSAGES = {
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


@dataclass(frozen=True)
class FaultPlan:
    rate: float = 0.0
    statuses: tuple[int, ...] = DEFAULT_STATUSES
    latency_ms: int = 0
    drop_rate: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name, value in (("fault rate", self.rate), ("drop rate", self.drop_rate)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"the {name} must be between 0 and 1, not {value}")
        if not self.statuses:
            raise ValueError("at least one fault status is needed")
        for status in self.statuses:
            if not 400 <= status <= 599:
                raise ValueError(f"a fault status must be a 4xx or 5xx code, not {status}")
        if not 0 <= self.latency_ms <= MAX_LATENCY_MS:
            raise ValueError(f"the latency must be between 0 and {MAX_LATENCY_MS} ms")

    @property
    def active(self) -> bool:
        return self.rate > 0 or self.drop_rate > 0 or self.latency_ms > 0


def parse_statuses(text: str) -> tuple[int, ...]:
    """`500,502,503` as a tuple of status codes; ValueError for anything else."""
    try:
        statuses = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"fault statuses are codes separated by commas, not {text!r}") from None
    if not statuses:
        raise ValueError("at least one fault status is needed")
    return statuses


class Faults:
    """The ASGI middleware that carries out a FaultPlan."""

    def __init__(self, app: ASGIApp, plan: FaultPlan, *, log: AccessLog | None = None) -> None:
        self.app = app
        self.plan = plan
        self.log = log
        self._random = random.Random(plan.seed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        plan = self.plan
        if plan.latency_ms:
            await asyncio.sleep(plan.latency_ms / 1000)
        if plan.drop_rate and self._random.random() < plan.drop_rate:
            await _cut(send, receive)
            if self.log is not None:
                self.log.request(scope, "dropped", started)
            return
        if plan.rate and self._random.random() < plan.rate:
            status = self._random.choice(plan.statuses)
            await self._answer(scope, receive, send, status)
            if self.log is not None:
                self.log.request(scope, status, started)
            return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, status: int) -> None:
        rid = request_id(scope)
        message = _MESSAGES.get(status, f"HTTP {status}")
        response = problems.render(
            Problem(
                status,
                f"{message} (fault injected by iamcli serve)",
                headers={"Retry-After": "1"} if status in _RETRY_AFTER else None,
            ),
            path=scope["path"],
            request_id=rid,
            user_agent=_header(scope, b"user-agent")[:200],
        )
        response.headers["Transaction-Id"] = rid
        await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def _cut(send: Send, receive: Receive) -> None:
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("the server does not expose its connections; cannot drop one")
    # Closing a socket with unread input makes the kernel answer with a reset instead of an
    # orderly end; read the rest of the request first, so that the client sees the server hang
    # up without an answer (RemoteProtocolError in httpx), every time.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5):
            message = await receive()
            while message["type"] == "http.request" and message.get("more_body"):
                message = await receive()
    transport.close()
    # Wait until the server has seen the connection go, or it would answer the request itself
    # (to a closed socket) and log an application error.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1):
            while (await receive())["type"] != "http.disconnect":
                pass
