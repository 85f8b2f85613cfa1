"""The emulator's ASGI application: both API families on one app, one store."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TextIO

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from .. import __version__
from . import cloud, openapi, private, problems, web
from .authz import Engine
from .cloud.vpc_metadata import VpcInstance
from .compute_resources import Issuer, Verifier
from .faults import FaultPlan, Faults
from .middleware import AccessLog, ASGIApp, RequestContext
from .problems import Problem
from .signer import Signer
from .store import (
    Conflict,
    Invalid,
    LimitExceeded,
    Locked,
    NotFound,
    StaleVersion,
    Store,
    StoreError,
)
from .tokens import Tokens


@dataclass(frozen=True)
class Settings:
    db: str = ":memory:"
    token_ttl: int = 3600
    refresh_token_ttl: int = 7 * 86400
    cluster_name: str = "mycluster"
    max_body_bytes: int = 64 * 1024
    access_log: bool = True
    faults: FaultPlan | None = None
    # The compute-resource token issuers trusted (--compute-resources), and the VPC instance
    # whose metadata service the server plays (--vpc-instance).
    compute_resources: tuple[Issuer, ...] = ()
    vpc_instance: VpcInstance | None = None


class EmulatorApp(FastAPI):
    """FastAPI, with the fault layer (when asked for) outside even Starlette's error handling
    (see faults.py for why it must hold the server's own `send`), and an OpenAPI document that
    describes the answers the routes really give (openapi.py)."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = openapi.honest(super().openapi())
        return self.openapi_schema

    def build_middleware_stack(self) -> ASGIApp:
        stack: ASGIApp = super().build_middleware_stack()
        plan: FaultPlan | None = self.state.settings.faults
        if plan is not None and plan.active:
            stack = Faults(stack, plan, log=self.state.access_log)
        return stack


def create_app(
    settings: Settings, store: Store | None = None, *, log: TextIO | None = None
) -> FastAPI:
    store = store or Store(settings.db)
    signer = Signer(store)
    access_log = AccessLog(log or sys.stderr) if settings.access_log else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if access_log is not None:
            access_log.flush()

    app = EmulatorApp(
        title="iamcli serve",
        version=__version__,
        description="A local IAM server speaking IBM Cloud's and IBM Cloud Private's wire formats.",
        docs_url=None,  # Swagger UI would load scripts from the internet
        redoc_url=None,
        lifespan=lifespan,
        # The routes go in as they are rather than through include_router: FastAPI 0.16x
        # matches an included router's routes through a wrapper, twice per request, which
        # cost a third of a bearer request's time here.
        routes=[*cloud.routes, *private.routes],
    )
    app.state.settings = settings
    app.state.access_log = access_log
    app.state.store = store
    app.state.signer = signer
    app.state.engine = Engine(store)
    app.state.tokens = Tokens(
        store,
        signer,
        ttl=settings.token_ttl,
        refresh_ttl=settings.refresh_token_ttl,
        engine=app.state.engine,
    )
    app.state.cr_verifier = Verifier(settings.compute_resources)
    _install_error_handlers(app)
    app.add_middleware(RequestContext, max_body_bytes=settings.max_body_bytes, log=access_log)
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
        elif isinstance(exc, LimitExceeded):
            status, code = 400, "limit_exceeded"  # see store/limits.py
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

    # A 405 must list the methods the resource allows (RFC 9110 §15.5.6). Starlette names only
    # those of the first route on the path, and this app has one route per method. The resource
    # is the path template of the first route that matches (/v1/apikeys/details, not {kid}).
    routes = [
        (route.path_regex, route.path, route.methods or set())
        for route in (*cloud.routes, *private.routes)
        if isinstance(route, APIRoute)
    ]

    def allowed(path: str) -> str:
        template = next((t for regex, t, _ in routes if regex.match(path)), None)
        return ", ".join(sorted({m for _, t, methods in routes if t == template for m in methods}))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "No such resource", 405: "Method not allowed"}.get(
            exc.status_code, str(exc.detail)
        )
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed(request.url.path)
        return answer(request, Problem(exc.status_code, message, headers=headers))

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> Response:
        # Shown to the caller without detail; the log line records the status.
        return answer(request, Problem(500, "Internal server error"))
