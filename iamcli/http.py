"""The one HTTP client factory, the retry loop, and IBM error bodies mapped to exceptions.

One :class:`httpx.Client` per command run, from :func:`make_client`; every request goes through
:func:`send`, which retries what is safe to retry, caps the body size, traces, and turns failures
into the exception tree of :mod:`iamcli.errors`::

    with make_client(HttpSettings(endpoint)) as client:
        response = send(client, "POST", "/identity/token", retry=Retry.TOKEN, data=form)
        body = json_object(response)

No message built here contains a request body, an Authorization header or a query string.
"""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import os
import random
import socket
import ssl
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import urljoin, urlsplit

from iamcli import bounded_json
from iamcli.errors import (
    ApiError,
    NetworkError,
    NotFoundError,
    ProtocolError,
    UsageError,
    api_error_class,
)
from iamcli.lean_http import (
    DEFAULT_TIMEOUT,
    MAX_BODY,
    ca_bundle_context,
    default_timeout,
    user_agent,
)
from iamcli.lean_http import env_number as _env_number
from iamcli.trace import Trace, redact_text

# httpx imports its own command-line client (click, rich, pygments: ~70 ms) whenever those are
# installed, and falls back to a stub when that import fails; a None entry in sys.modules is
# Python's documented way to make it fail. We never use httpx's CLI.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402

DEFAULT_RETRIES = 3
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
# A server asking for a longer pause than this gets its 429 surfaced instead of a long hang.
RETRY_AFTER_CAP = 30.0
_MAX_MESSAGE = 500

# Replaced by tests to observe delays without waiting for them.
_sleep: Callable[[float], None] = time.sleep

_traces: weakref.WeakKeyDictionary[httpx.Client, Trace] = weakref.WeakKeyDictionary()
# Per client: what to call when the server refuses a bearer token (see on_refused_token).
_renewers: weakref.WeakKeyDictionary[httpx.Client, Callable[[str], str | None]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class HttpSettings:
    """How to reach one IAM endpoint.

    ``verify``: True checks TLS against the default CA store, False is
    ``--skip-ssl-validation``, a string is ``--ca-bundle PATH`` (a file or a c_rehash'd dir).
    """

    endpoint: str
    verify: bool | str = True
    timeout: float = field(default_factory=default_timeout)
    trace: Trace | None = None


class Retry(Enum):
    """Which failures :func:`send` may retry; pick the one that matches the request."""

    NONE = "none"
    # GET/PUT/DELETE: repeating them is harmless.
    IDEMPOTENT = "idempotent"
    # Token-endpoint POSTs mint a token and change nothing, so they retry like IDEMPOTENT.
    TOKEN = "token"
    # A POST that creates: retried only when the server certainly did not see it, or said 429.
    CREATE = "create"


# The statuses IBM's SDKs retry (python-sdk-core: 429, 500, 502, 503, 504). A 500 is safe to
# repeat only where repeating is harmless: never for a create.
_RETRY_STATUSES: dict[Retry, frozenset[int]] = {
    Retry.NONE: frozenset(),
    Retry.IDEMPOTENT: frozenset({429, 500, 502, 503, 504}),
    Retry.TOKEN: frozenset({429, 500, 502, 503, 504}),
    Retry.CREATE: frozenset({429}),
}


def make_client(
    settings: HttpSettings, *, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """The client for one command run (one connection, reused); close it when done.

    Redirects are not followed: a redirect to another host would carry the bearer token there.
    Proxies come from the environment (``HTTPS_PROXY``, ``NO_PROXY``) unless ``transport`` is
    given, which tests use to stand in for the network.
    """
    parts = urlsplit(settings.endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"invalid endpoint {settings.endpoint!r}", hint="give a URL such as https://HOST"
        )
    hooks: list[Callable[[httpx.Request], None]] = [_stamp_request_id]
    if settings.trace is not None:
        hooks.append(_trace_hook(settings.trace))
    try:
        client = _client(settings, parts.scheme, hooks, transport)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        # httpx reads SSL_CERT_FILE / SSL_CERT_DIR itself (trust_env): one that names nothing
        # usable ends here, not in a traceback.
        where = " or ".join(
            f"{name}={os.environ[name]}"
            for name in ("SSL_CERT_FILE", "SSL_CERT_DIR")
            if os.environ.get(name)
        )
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise UsageError(
            f"cannot use the CA certificates of {where or 'this system'}: {reason}",
            hint="point SSL_CERT_FILE at a PEM file (or unset it)",
        ) from None
    if settings.trace is not None:
        _traces[client] = settings.trace
    return client


def _client(
    settings: HttpSettings,
    scheme: str,
    hooks: list[Callable[[httpx.Request], None]],
    transport: httpx.BaseTransport | None,
) -> httpx.Client:
    return httpx.Client(
        base_url=settings.endpoint,
        # Loading the CA store costs ~30 ms; a plain-HTTP endpoint (iamcli serve on loopback)
        # never does TLS, and redirects (to https or anywhere) are not followed.
        verify=_ssl_verify(settings.verify) if scheme == "https" else False,
        timeout=httpx.Timeout(settings.timeout),
        follow_redirects=False,
        headers={"User-Agent": user_agent(), "Accept": "application/json"},
        event_hooks={"request": hooks},
        transport=transport,
        trust_env=True,
    )


def _ssl_verify(verify: bool | str) -> bool | ssl.SSLContext:
    return verify if isinstance(verify, bool) else ca_bundle_context(verify)


def _stamp_request_id(request: httpx.Request) -> None:
    # One ID per attempt, so a retried request can be told apart in the server's logs.
    request.headers["X-Request-ID"] = str(uuid.uuid4())


def _trace_hook(trace: Trace) -> Callable[[httpx.Request], None]:
    def hook(request: httpx.Request) -> None:
        try:
            body: bytes | None = request.content
        except httpx.RequestNotRead:
            body = None
        trace.request(request.method, str(request.url), _headers(request.headers), body)

    return hook


def _headers(headers: httpx.Headers) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers.raw]


def on_refused_token(client: httpx.Client, renew: Callable[[str], str | None]) -> None:
    """When ``client``'s server answers 401 to a request that carried a bearer token,
    ``renew(refused)`` gives the Authorization value to send instead (or None: give up), and
    :func:`send` sends the request once more with it."""
    _renewers[client] = renew


def send(
    client: httpx.Client, method: str, url: str, *, retry: Retry, **kwargs: Any
) -> httpx.Response:
    """Send a request, retrying as ``retry`` allows; return a 2xx response with its body read.

    Retries use exponential backoff with full jitter (``IAMCLI_RETRY_BASE``, default 0.5 s,
    capped at 8 s) or the server's ``Retry-After``; at most ``IAMCLI_HTTP_RETRIES`` (default 3)
    retries, and none that would start after twice the timeout has passed. Each attempt is over
    within the timeout as a whole, however slowly the server answers. ``kwargs`` go to
    :meth:`httpx.Client.build_request`, except ``auth``.

    Raises NetworkError, ProtocolError, or an ApiError subclass (see :func:`raise_for_status`).
    """
    statuses = _RETRY_STATUSES[retry]
    max_retries = 0 if retry is Retry.NONE else retry_budget()
    base = _env_number("IAMCLI_RETRY_BASE", BACKOFF_BASE, minimum=0)
    deadline = time.monotonic() + 2 * _timeout_of(client)
    trace = _traces.get(client)
    attempt = 0
    renewed = False
    while True:
        try:
            response = _send_once(client, method, url, kwargs, trace)
        except httpx.TransportError as exc:
            if attempt < max_retries and _may_retry_error(exc, retry):
                delay = _backoff(attempt, base)
                if time.monotonic() + delay < deadline:
                    _pause(trace, delay, type(exc).__name__)
                    attempt += 1
                    continue
            error = _network_error(exc, client, url, retry, attempt + 1)
            error.may_have_arrived = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            raise error from exc
        except httpx.DecodingError as exc:
            raise ProtocolError(
                f"cannot decode the answer from {_host(client.base_url.join(url))} "
                "(bad Content-Encoding)"
            ) from exc
        if response.status_code in statuses and attempt < max_retries:
            asked = _retry_after(response)
            delay = _backoff(attempt, base) if asked is None else asked
            if delay <= RETRY_AFTER_CAP and time.monotonic() + delay < deadline:
                _pause(trace, delay, f"HTTP {response.status_code}")
                attempt += 1
                continue
        try:
            raise_for_status(response)
        except ApiError as exc:
            fresh = _renewed_authorization(client, response, renewed)
            if fresh is not None:
                # A token the server no longer takes (it expired early, was revoked, or the
                # server restarted with new keys): one new token, one more try.
                kwargs = {
                    **kwargs,
                    "headers": {**kwargs.get("headers", {}), "Authorization": fresh},
                }
                renewed = True
                continue
            exc.attempts = attempt + 1
            raise
        return response


def _renewed_authorization(
    client: httpx.Client, response: httpx.Response, renewed: bool
) -> str | None:
    renew = _renewers.get(client)
    sent = response.request.headers.get("Authorization", "")
    if renewed or renew is None or response.status_code != 401:
        return None
    if not sent.lower().startswith("bearer "):
        return None
    fresh = renew(sent)
    return fresh if fresh and fresh != sent else None


def delete(client: httpx.Client, url: str, **kwargs: Any) -> None:
    """DELETE, where a 404 after a retry means done: the attempt whose answer was lost may be
    the one that deleted it."""
    try:
        send(client, "DELETE", url, retry=Retry.IDEMPOTENT, **kwargs)
    except NotFoundError as exc:
        if exc.attempts == 1:
            raise


class DeadlineExceeded(httpx.TimeoutException):
    """The whole exchange (connect, send, headers, body) took longer than the timeout."""


def _send_once(
    client: httpx.Client, method: str, url: str, kwargs: dict[str, Any], trace: Trace | None
) -> httpx.Response:
    """One attempt, over within the client's timeout as a whole.

    httpx's timeouts bound each read, so a server that drips a byte a second would hold a
    request for ever: the exchange runs in a worker thread that is given up on at the deadline,
    as Go's http.Client.Timeout (which `ibmcloud` uses) bounds the whole exchange. The worker
    is a daemon: a hung socket never keeps the process from exiting.
    """
    build_args = {k: v for k, v in kwargs.items() if k != "auth"}
    request = client.build_request(method, url, **build_args)
    started = time.monotonic()
    outcome: list[tuple[httpx.Response, bytes] | BaseException] = []
    streams: list[httpx.Response] = []

    def exchange() -> None:
        try:
            response = client.send(
                request, stream=True, auth=kwargs.get("auth", httpx.USE_CLIENT_DEFAULT)
            )
            streams.append(response)
            try:
                body = _read_capped(response)
            finally:
                response.close()
            outcome.append((response, body))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)

    worker = threading.Thread(target=exchange, name="iamcli-http", daemon=True)
    worker.start()
    worker.join(_timeout_of(client))
    if not outcome:
        for stream in streams:
            _abort(stream)
        raise DeadlineExceeded(
            f"the exchange took longer than {_timeout_of(client):g} s", request=request
        )
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    response, body = result
    elapsed = time.monotonic() - started
    if trace is not None:
        trace.response(
            response.status_code,
            response.reason_phrase,
            _headers(response.headers),
            body,
            elapsed=elapsed,
            http_version=response.http_version,
        )
    return _with_body(response, body, elapsed)


def _abort(response: httpx.Response) -> None:
    """Wake the worker still reading ``response``: shut its socket down (closing it from
    another thread would leave the read blocked)."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _read_capped(response: httpx.Response) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _too_large(response)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_BODY:
            raise _too_large(response)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(response: httpx.Response) -> ProtocolError:
    return ProtocolError(
        f"response too large from {_host(response.request.url)} "
        f"(more than {MAX_BODY // (1024 * 1024)} MiB)"
    )


def _with_body(response: httpx.Response, body: bytes, elapsed: float) -> httpx.Response:
    # The body is already decoded: drop the framing headers that describe the wire form.
    skip = {b"content-encoding", b"content-length", b"transfer-encoding"}
    headers = [(k, v) for k, v in response.headers.raw if k.lower() not in skip]
    rebuilt = httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
        extensions=response.extensions,
    )
    rebuilt.elapsed = datetime.timedelta(seconds=elapsed)
    return rebuilt


def response_of(
    method: str, url: str, status: int, headers: list[tuple[str, str]], body: bytes
) -> httpx.Response:
    """An answer received without httpx (iamcli/lean_http.py), for this module's functions."""
    return httpx.Response(status, headers=headers, content=body, request=httpx.Request(method, url))


def retry_budget() -> int:
    """How many times a failed request may be tried again (``IAMCLI_HTTP_RETRIES``)."""
    return int(_env_number("IAMCLI_HTTP_RETRIES", DEFAULT_RETRIES, minimum=0))


def back_off(attempt: int) -> None:
    """Wait before trying again, as the retry loop does: exponential, full jitter."""
    _sleep(_backoff(attempt, _env_number("IAMCLI_RETRY_BASE", BACKOFF_BASE, minimum=0)))


def _pause(trace: Trace | None, delay: float, reason: str) -> None:
    if trace is not None:
        trace.note(f"RETRY: after {reason}, waiting {delay:.2f}s")
    _sleep(delay)


def _backoff(attempt: int, base: float) -> float:
    return random.uniform(0, min(BACKOFF_CAP, base * 2**attempt))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds) if seconds == seconds else None


def _timeout_of(client: httpx.Client) -> float:
    return client.timeout.read or DEFAULT_TIMEOUT


def _may_retry_error(exc: httpx.TransportError, retry: Retry) -> bool:
    if retry is Retry.NONE or _is_tls_error(exc) or _is_unknown_host(exc):
        return False
    if isinstance(exc, DeadlineExceeded):
        # The timeout is spent: another attempt would outlive it.
        return False
    if retry is Retry.CREATE:
        # Only failures that happen before a byte of the request left this machine.
        return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
    return isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)


def _exception_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _is_tls_error(exc: BaseException) -> bool:
    chain = _exception_chain(exc)
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain):
        return True
    text = str(exc)
    return "CERTIFICATE_VERIFY_FAILED" in text or text.startswith("[SSL")


def _is_unknown_host(exc: BaseException) -> bool:
    text = str(exc).lower()
    # "Temporary failure in name resolution" is left out on purpose: that one can pass.
    return any(
        s in text
        for s in (
            "name or service not known",
            "nodename nor servname",
            "no address associated",
            "getaddrinfo failed",
        )
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    if text.startswith("[Errno") and "]" in text:
        text = text.split("]", 1)[1].strip()
    return redact_text(text) if text else type(exc).__name__


def _tls_reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("certificate verify failed: ", "] "):
        if marker in text:
            text = text.split(marker, 1)[1]
            break
    return text.split(" (_ssl.c", 1)[0].strip() or "TLS error"


def _network_error(
    exc: httpx.TransportError, client: httpx.Client, url: str, retry: Retry, attempts: int
) -> NetworkError:
    try:
        target = exc.request.url
    except RuntimeError:
        target = client.base_url.join(url)
    host = _host(target)
    after = f" (after {attempts} attempts)" if attempts > 1 else ""
    timeout = _timeout_of(client)
    maybe_sent = None
    if retry is Retry.CREATE:
        maybe_sent = "the server may have acted on the request; list before you try again"
    if _is_tls_error(exc):
        reason = _tls_reason(exc)
        if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "certificate" in reason.lower():
            return NetworkError(
                f"TLS certificate of {host} could not be verified ({reason}); "
                "use --ca-bundle PATH or --skip-ssl-validation"
            )
        return NetworkError(
            f"TLS handshake with {host} failed ({reason}); check the endpoint's scheme and port"
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return NetworkError(
            f"no connection to {host} within {timeout:g} s (IAMCLI_HTTP_TIMEOUT){after}"
        )
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(
            f"no answer from {host} within {timeout:g} s (IAMCLI_HTTP_TIMEOUT){after}",
            hint=maybe_sent,
        )
    if isinstance(exc, httpx.ProxyError):
        return NetworkError(
            f"the proxy failed to connect to {host}: {_reason(exc)}; check HTTPS_PROXY and NO_PROXY"
        )
    if _is_unknown_host(exc):
        return NetworkError(f"cannot resolve host {_hostname(target)}; check the endpoint")
    if isinstance(exc, httpx.ConnectError):
        return NetworkError(f"cannot connect to {host}: {_reason(exc)}{after}")
    if isinstance(exc, httpx.RemoteProtocolError):
        return NetworkError(
            f"{host} closed the connection without a complete answer{after}", hint=maybe_sent
        )
    return NetworkError(f"network error talking to {host}: {_reason(exc)}{after}", hint=maybe_sent)


def _hostname(url: httpx.URL) -> str:
    return url.host or "?"


def _host(url: httpx.URL) -> str:
    """``host`` or ``host:port`` when the port is not the scheme's default."""
    return f"{url.host}:{url.port}" if url.port else (url.host or "?")


def _public_url(url: httpx.URL) -> str:
    return f"{url.scheme}://{_host(url)}{url.path}"


def raise_for_status(response: httpx.Response) -> None:
    """Raise the matching exception for a non-2xx response; return for a 2xx one.

    3xx: ProtocolError naming where it points. Error bodies in IBM's three shapes become
    ``CODE: message`` (see :func:`error_details`); anything else a short description, never the
    body itself.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    request = response.request
    host = _host(request.url)
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        target = urlsplit(urljoin(str(request.url), location)).hostname if location else None
        raise ProtocolError(
            f"HTTP {status} from {host} redirects to {target or 'nowhere'}; "
            "not followed, so that credentials stay with the endpoint you chose",
            hint="check the endpoint; a proxy or captive portal may be answering instead",
        )
    code, message, request_id = error_details(response)
    cls = api_error_class(status, code)
    raise cls(
        message,
        status=status,
        code=code,
        request_id=request_id,
        method=request.method,
        url=_public_url(request.url),
    )


def error_details(response: httpx.Response) -> tuple[str | None, str, str | None]:
    """``(code, one-line message, request id)`` of an error response.

    Shapes: (a) token endpoint and private API ``{"errorCode", "errorMessage",
    "errorDetails"?, "context": {"requestId"}}``; (b) Identity API ``{"errors": [{"code",
    "message_code", "message"}], "trace"}``; (c) ``message`` / ``error_description`` / ``error``.
    """
    host = _host(response.request.url)
    head = f"HTTP {response.status_code} from {host}"
    body = response.content
    data = _loads(body)
    code: str | None = None
    message: str | None = None
    request_id: str | None = None
    if isinstance(data, dict):
        code, message, request_id = _ibm_fields(data)
    if request_id is None:
        request_id = next(
            (
                response.headers[h]
                for h in ("X-Request-ID", "Transaction-Id", "X-Global-Transaction-Id")
                if h in response.headers
            ),
            None,
        )
    if message:
        message = _one_line(message)
        if code and not code.isdigit() and not message.startswith(code):
            message = f"{code}: {message}"
        return code, message, request_id
    if data is _NOT_JSON and body.strip():
        head += f" (not JSON: {_describe(body, response.headers.get('Content-Type'))})"
    return code, head, request_id


def _ibm_fields(data: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    if "errorCode" in data or "errorMessage" in data:
        context = data.get("context")
        rid = context.get("requestId") if isinstance(context, dict) else None
        details = data.get("errorDetails")
        message = details if _text(details) else data.get("errorMessage")
        return _str(data.get("errorCode")), _str(message), _str(rid)
    errors = data.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = _str(first.get("message_code")) or _str(first.get("code"))
        message = _str(first.get("message")) or _str(first.get("details"))
        return code, message, _str(data.get("trace"))
    error = data.get("error")
    if isinstance(error, dict):
        return _str(error.get("code")), _str(error.get("message")), None
    if _text(data.get("error_description")):
        return _str(error), _str(data["error_description"]), None
    if _text(data.get("message")):
        return _str(data.get("code")), _str(data["message"]), None
    return None, _str(error), None


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _str(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int):
        text = str(value).strip()
        return text or None
    return None


def _one_line(text: str) -> str:
    text = redact_text(" ".join(text.split()))
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


_NOT_JSON = object()


def _loads(body: bytes) -> Any:
    try:
        return bounded_json.loads(body)
    except ValueError:
        return _NOT_JSON


def _describe(body: bytes, content_type: str | None) -> str:
    start = body.lstrip()[:64].lower()
    ctype = (content_type or "").split(";")[0].strip().lower()
    if not start:
        return "an empty body"
    if "html" in ctype or start.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if start.startswith((b"{", b"[")):
        return "truncated or invalid JSON"
    if ctype:
        return f"a {ctype} body"
    return "an unrecognised body"


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The body of a 2xx response as a JSON object, or ProtocolError."""
    host = _host(response.request.url)
    data = _loads(response.content)
    if data is _NOT_JSON:
        what = _describe(response.content, response.headers.get("Content-Type"))
        raise ProtocolError(f"invalid JSON from {host} ({what})")
    if not isinstance(data, dict):
        raise ProtocolError(f"expected a JSON object from {host}, got a JSON {_json_kind(data)}")
    return data


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "null" if value is None else "number"
