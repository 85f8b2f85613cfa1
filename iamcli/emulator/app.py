"""The emulator's ASGI application: both API families on one app, one store."""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, TextIO

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from .. import __version__
from . import cloud_routes, private_routes, problems, web
from .problems import Problem
from .signer import Signer
from .store import Conflict, Invalid, Locked, NotFound, StaleVersion, Store, StoreError
from .tokens import Tokens

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


@dataclass(frozen=True)
class Settings:
    db: str = ":memory:"
    token_ttl: int = 3600
    refresh_token_ttl: int = 7 * 86400
    cluster_name: str = "mycluster"
    max_body_bytes: int = 64 * 1024
    access_log: bool = True


def create_app(
    settings: Settings, store: Store | None = None, *, log: TextIO | None = None
) -> FastAPI:
    store = store or Store(settings.db)
    signer = Signer(store)
    app = FastAPI(
        title="iamcli serve",
        version=__version__,
        description="A local IAM server speaking IBM Cloud's and IBM Cloud Private's wire formats.",
        docs_url=None,  # Swagger UI would load scripts from the internet
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.signer = signer
    app.state.tokens = Tokens(
        store, signer, ttl=settings.token_ttl, refresh_ttl=settings.refresh_token_ttl
    )
    app.include_router(cloud_routes.router)
    app.include_router(private_routes.router)
    _install_error_handlers(app)
    app.add_middleware(
        RequestContext,
        max_body_bytes=settings.max_body_bytes,
        log=(log or sys.stderr) if settings.access_log else None,
    )
    return app


def _install_error_handlers(app: FastAPI) -> None:
    def answer(request: Request, problem: Problem) -> Response:
        return problems.render(
            problem,
            path=request.url.path,
            request_id=web.request_id(request),
            user_agent=request.headers.get("user-agent", "")[:200],
        )

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> Response:
        return answer(request, exc)

    @app.exception_handler(StoreError)
    async def on_store_error(request: Request, exc: StoreError) -> Response:
        status = 400
        code = None
        if isinstance(exc, NotFound):
            status = 404
        elif isinstance(exc, StaleVersion):
            status = 412
        elif isinstance(exc, Locked):
            status, code = 409, "entity_locked"
        elif isinstance(exc, Conflict):
            status = 409
        elif isinstance(exc, Invalid):
            status = 400
        if problems.family_of(request.url.path) != "identity":
            code = None
        return answer(request, Problem(status, str(exc), code=code))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body_error = any(e.get("loc", ("",))[0] == "body" for e in errors)
        if body_error and media != "application/json":
            return answer(
                request, Problem(415, "Unsupported Content-Type: expected application/json")
            )
        return answer(request, Problem(400, web.describe_validation(errors)))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "No such resource", 405: "Method not allowed"}.get(
            exc.status_code, str(exc.detail)
        )
        return answer(request, Problem(exc.status_code, message))

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> Response:
        # Shown to the caller without detail; the log line records the status.
        return answer(request, Problem(500, "Internal server error"))


class RequestContext:
    """Gives each request an ID, bounds its body, and logs one line for it.

    The log line names the method, the path (never the query string, which may carry
    identifiers a user did not mean to log), the status and the time taken. A pure ASGI
    middleware, because the token endpoint is the server's hot path.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, log: TextIO | None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"transaction-id", request_id.encode()),
                ]
            await send(message)

        try:
            length = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > self.max_body_bytes:
            problem = Problem(
                413 if length > 0 else 400,
                f"The request body must be at most {self.max_body_bytes} bytes"
                if length > 0
                else "Invalid Content-Length",
            )
            response = problems.render(problem, path=scope["path"], request_id=request_id)
            await response(scope, receive, send_with_id)
        else:
            await self.app(scope, self._bounded(receive), send_with_id)
        if self.log is not None:
            elapsed = (time.perf_counter() - started) * 1000
            client = (scope.get("client") or ("-", 0))[0]
            self.log.write(f"{client} {scope['method']} {scope['path']} {status} {elapsed:.1f}ms\n")
            self.log.flush()

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
