"""Request and response plumbing shared by the emulator's route modules."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Request
from starlette.responses import Response

from .problems import Problem
from .signer import Signer
from .store import ApiKey, LoginLocked, ServiceId, Store, User
from .tokens import Caller, Tokens

FORM = "application/x-www-form-urlencoded"
# A token request has a handful of fields; a flood of them is not a token request.
FORM_FIELDS = 50
# Password checks at once per process. Each scrypt takes ~16 MiB and a core for tens of ms;
# without a bound of their own, a flood of logins would fill every thread of the pool and
# every other route would wait behind them.
PASSWORD_CHECKS = 4

T = TypeVar("T")


def store(request: Request) -> Store:
    s: Store = request.app.state.store
    return s


def tokens(request: Request) -> Tokens:
    t: Tokens = request.app.state.tokens
    return t


def signer(request: Request) -> Signer:
    s: Signer = request.app.state.signer
    return s


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def no_content() -> Response:
    return Response(status_code=204)


async def off_loop(request: Request, fn: Callable[..., T], *args: Any, password: bool = False) -> T:
    """`fn(*args)` in a worker thread, so that its SQLite calls, RS256 signing and scrypt never
    hold up the event loop; with `password`, in the smaller pool reserved for password checks.

    For the routes that must read their body first (the form of a token request); every other
    route is a plain `def`, which FastAPI runs in the thread pool itself.
    """
    limiter = _password_limiter(request) if password else None
    return await anyio.to_thread.run_sync(functools.partial(fn, *args), limiter=limiter)


def _password_limiter(request: Request) -> CapacityLimiter:
    # Made on first use: a limiter belongs to the event loop that runs the app.
    state = request.app.state
    limiter: CapacityLimiter | None = getattr(state, "password_limiter", None)
    if limiter is None:
        limiter = state.password_limiter = CapacityLimiter(PASSWORD_CHECKS)
    return limiter


def check_password(
    request: Request, form: dict[str, str], *, locked_status: int, code: str | None = None
) -> User | None:
    """The user whose `username` and `password` the form names, or None; a locked-out user
    name is refused with `locked_status` (IBM's status for it is unconfirmed) and Retry-After."""
    try:
        return store(request).check_password(form.get("username", ""), form.get("password", ""))
    except LoginLocked as exc:
        headers = {"Retry-After": str(exc.retry_after)}
        raise Problem(locked_status, str(exc), code=code, headers=headers) from None


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_form(request: Request, *, code: str | None = "BXNIM0106E") -> dict[str, str]:
    """The form fields of a token request (first value of each); 400 for another body type."""
    body = await request.body()
    # An empty POST carries no Content-Type; it is an empty form, missing every field.
    if _media_type(request) != FORM and (body or request.headers.get("content-type")):
        raise Problem(400, f"Unsupported Content-Type: expected {FORM}", code=code)
    try:
        parsed = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise Problem(400, "The request body is not a valid form", code=code) from None
    return {k: v[0] for k, v in parsed.items()}


def describe_validation(errors: Any) -> str:
    """One line for the first validation error, naming the field but never echoing its value."""
    first = errors[0] if errors else {}
    loc = list(first.get("loc", ()))
    if loc and loc[0] in ("body", "query", "header", "path"):
        loc = loc[1:]
    where = ".".join(str(p) for p in loc) or "body"
    kind = first.get("type", "")
    if kind == "json_invalid":
        return "The request body is not valid JSON"
    if kind == "missing":
        return f"Property missing or empty. Property: {where}"
    return f"Validation of property '{where}' failed: {first.get('msg', 'invalid value')}"


def header_flag(request: Request, name: str) -> bool:
    value = request.headers.get(name, "false").strip().lower()
    if value not in ("true", "false"):
        raise Problem(400, f"Header {name} must be true or false")
    return value == "true"


def form_body_schema(
    fields: dict[str, str], required: list[str], *, body_required: bool = True
) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {k: {"type": "string", "description": v} for k, v in fields.items()},
        "required": required,
    }
    return {"requestBody": {"required": body_required, "content": {FORM: {"schema": schema}}}}


def owned_service_id(store: Store, caller: Caller, sid: str) -> ServiceId:
    """The service ID, if it exists (else 404) in the caller's account (else 403)."""
    found = store.service_id(sid)
    if found is None:
        raise Problem(404, f"Service ID {sid[:100]} not found")
    if found.account_id != caller.account_id:
        raise Problem(403, "You are not allowed to access this service ID")
    return found


def owned_api_key(store: Store, caller: Caller, kid: str) -> ApiKey:
    """The API key, if it exists (else 404) in the caller's account (else 403)."""
    found = store.api_key(kid)
    if found is None:
        raise Problem(404, f"API key {kid[:100]} not found")
    if found.account_id != caller.account_id:
        raise Problem(403, "You are not allowed to access this API key")
    return found
