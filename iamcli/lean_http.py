"""The fast path's token grant over the standard library's http.client, and the limits that
iamcli.http shares with it.

Why a second way to send a request: `iamcli oauth-tokens` with `IAMCLI_API_KEY` and nothing
cached (the first call of every CI job) spent most of its run importing httpx, more than the
rest of the run together; http.client, which the interpreter ships, costs a third of that
(README, "Performance", has the measurements). So this one exchange, an environment API key
traded for an IBM Cloud token, goes this way when it can go exactly as through
:mod:`iamcli.http`, and through httpx otherwise:

- no proxy: with any ``*_proxy`` variable set, httpx (which honours them) does the request;
- TLS as httpx does it: verified against ``SSL_CERT_FILE``, ``SSL_CERT_DIR`` or certifi's
  bundle, or the profile's CA bundle, or not at all with its ``--skip-ssl-validation``; hostnames
  checked; an ``http://`` endpoint needs no TLS context at all;
- redirects are never followed (a 3xx gets the same error from ``http.raise_for_status``);
- each exchange is over within the timeout (``IAMCLI_HTTP_TIMEOUT``) as a whole, in a daemon
  worker given up on at the deadline, its socket shut down;
- at most MAX_BODY bytes of an answer are read; the same User-Agent, Accept, and a new
  X-Request-ID on every request.

Answers are judged as :func:`iamcli.http.send` judges them, with its own functions: an error
status or a body that is not a JSON object raises what the full path raises. Only what the full
path would try again (429 and 5xx, a failed connection or exchange) is handed over
(:class:`Handover`): the caller then does the whole grant through httpx, whose retry loop
starts over. A timed-out exchange is not handed over (the time is spent): it fails at once.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from urllib.parse import urlencode, urlsplit

from iamcli import __version__, bounded_json
from iamcli.errors import ApiError, IamcliError, NetworkError, ProtocolError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import http.client
    from typing import Any

    from .models import TokenGrant
    from .session import Session

MAX_BODY = 5 * 1024 * 1024
DEFAULT_TIMEOUT = 60.0
# What the full path's retry loop tries again (iamcli.http._RETRY_STATUSES for Retry.TOKEN).
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


def env_number(name: str, default: float, *, minimum: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= minimum:  # also rejects NaN
        raise UsageError(f"{name} must be a number of at least {minimum:g}, not {raw!r}")
    return value


def default_timeout() -> float:
    """``IAMCLI_HTTP_TIMEOUT`` in seconds, else 60 (as ``ibmcloud``)."""
    return env_number("IAMCLI_HTTP_TIMEOUT", DEFAULT_TIMEOUT, minimum=0.001)


@functools.cache
def user_agent() -> str:
    # What platform.system(), .machine() and .python_version() say, without importing platform.
    uname = os.uname()
    system = f"{uname.sysname} {uname.machine}".strip() or "unknown"
    return f"iamcli/{__version__} (python {sys.version.split()[0]}; {system})"


class Handover(Exception):
    """This exchange is not one this module does as iamcli.http would: use iamcli.http."""


class Answer:
    __slots__ = ("body", "headers", "method", "reason", "status", "url")

    def __init__(
        self,
        method: str,
        url: str,
        status: int,
        reason: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body


def _proxied() -> bool:
    # urllib's rule, which httpx follows: any `<scheme>_proxy` variable, in either case.
    return any(
        value and name.lower().endswith("_proxy") and name.lower() != "no_proxy"
        for name, value in os.environ.items()
    )


def _tls_context(verify: bool | str) -> Any:
    import ssl

    if verify is False:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif verify is True:
        # httpx's choice (trust_env): the variables, else certifi's bundle, not the system's.
        if os.environ.get("SSL_CERT_FILE"):
            ctx = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
        elif os.environ.get("SSL_CERT_DIR"):
            ctx = ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
        else:
            import certifi

            ctx = ssl.create_default_context(cafile=certifi.where())
    else:
        ctx = ca_bundle_context(verify)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def ca_bundle_context(verify: str) -> Any:
    """The TLS context of ``--ca-bundle PATH`` (a file, or a c_rehash'd directory)."""
    import ssl

    path = os.path.expanduser(verify)
    try:
        if os.path.isdir(path):
            return ssl.create_default_context(capath=path)
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"cannot use the CA bundle {verify}: {reason}") from None


class Link:
    """One connection to an endpoint, reused for the few requests of a token grant."""

    def __init__(self, endpoint: str, verify: bool | str) -> None:
        if _proxied():
            raise Handover("a proxy is configured")
        import http.client

        parts = urlsplit(endpoint)
        try:
            port = parts.port
        except ValueError:  # a port out of range: the full path says so in its own words
            raise Handover("not an endpoint this module reaches") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Handover("not an endpoint this module reaches")
        self.endpoint = endpoint.rstrip("/")
        self.timeout = default_timeout()
        self.host = parts.hostname
        # As iamcli.http names a host in messages: host, or host:port when a port was given.
        self.where = f"{parts.hostname}:{port}" if port else parts.hostname
        self._prefix = parts.path.rstrip("/")
        # The port always given: http.client would read the last group of an IPv6 address
        # without one ("2001:db8::1:8080") as a port, and send the key to another host.
        port = port or (443 if parts.scheme == "https" else 80)
        self.conn: http.client.HTTPConnection
        if parts.scheme == "https":
            try:
                context = _tls_context(verify)
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                # A CA file or directory from SSL_CERT_FILE/SSL_CERT_DIR that cannot be used:
                # the full path reports it as one line, as it always has.
                raise Handover(type(exc).__name__) from None
            self.conn = http.client.HTTPSConnection(
                parts.hostname, port, timeout=self.timeout, context=context
            )
        else:
            self.conn = http.client.HTTPConnection(parts.hostname, port, timeout=self.timeout)

    def close(self) -> None:
        self.conn.close()

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        """One exchange; the answer if it is 2xx, else the full path's error for it, or
        Handover where the full path would try again."""
        url = self.endpoint + path
        headers = {
            "User-Agent": user_agent(),
            "Accept": "application/json",
            "X-Request-ID": _request_id(),
        }
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        outcome: list[Answer | BaseException] = []
        connected: list[bool] = []

        def exchange() -> None:
            try:
                if self.conn.sock is None:
                    self.conn.connect()
                connected.append(True)
                self.conn.request(method, self._prefix + path, body=body, headers=headers)
                outcome.append(self._read(method, url))
            except BaseException as exc:  # handed to the caller's thread
                outcome.append(exc)

        worker = threading.Thread(target=exchange, name="iamcli-http", daemon=True)
        worker.start()
        worker.join(self.timeout)
        # Decided once, before the socket is shut: the worker, woken by the shutdown, may still
        # append what it read so far (a cut body), which must not pass for the answer.
        result = outcome[0] if outcome else TimeoutError()
        if isinstance(result, TimeoutError):
            self._abort()
            # The timeout is spent, as after the full path's DeadlineExceeded: no second try.
            error = NetworkError(_timeout_message(bool(connected), self.where, self.timeout))
            error.may_have_arrived = bool(connected)
            raise error
        if isinstance(result, BaseException):
            if isinstance(result, IamcliError) or not isinstance(result, Exception):
                raise result
            self.close()
            raise Handover(type(result).__name__) from result
        if 200 <= result.status < 300:
            return result
        self.close()
        if result.status in _RETRIED_STATUSES:
            raise Handover(f"HTTP {result.status}")
        from .http import raise_for_status

        raise_for_status(as_httpx(result))
        raise AssertionError("unreachable")  # raise_for_status returns only for 2xx

    def _read(self, method: str, url: str) -> Answer:
        response = self.conn.getresponse()
        encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
        if encoding != "identity":
            # Nothing asked for it (no Accept-Encoding is sent); httpx would decode it.
            raise Handover(f"Content-Encoding {encoding}")
        declared = response.getheader("Content-Length") or ""
        if declared.isdigit() and int(declared) > MAX_BODY:
            raise _too_large(self.where)
        body = response.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise _too_large(self.where)
        if not response.isclosed():
            self.close()  # not reused: the next request opens a new connection
        return Answer(method, url, response.status, response.reason, response.getheaders(), body)

    def _abort(self) -> None:
        import socket

        sock = self.conn.sock
        if sock is not None:
            try:  # noqa: SIM105 - contextlib stays off this path
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _timeout_message(connected: bool, where: str, timeout: float) -> str:
    # The full path's words for the same timeouts (iamcli.http._network_error).
    if connected:
        return f"no answer from {where} within {timeout:g} s (IAMCLI_HTTP_TIMEOUT)"
    return f"no connection to {where} within {timeout:g} s (IAMCLI_HTTP_TIMEOUT)"


def _too_large(where: str) -> ProtocolError:
    return ProtocolError(
        f"response too large from {where} (more than {MAX_BODY // (1024 * 1024)} MiB)"
    )


def _request_id() -> str:
    # A random (version 4) UUID, as iamcli.http stamps it, without importing uuid.
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def as_httpx(answer: Answer) -> Any:
    """The answer as the httpx.Response iamcli.http's error functions read (error paths only:
    this imports httpx)."""
    from .http import response_of

    return response_of(answer.method, answer.url, answer.status, answer.headers, answer.body)


def json_object(answer: Answer) -> dict[str, Any]:
    """The answer's JSON object, or the full path's error for what it is instead."""
    try:
        data = bounded_json.loads(answer.body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return data
    from .http import json_object as strict

    strict(as_httpx(answer))  # raises ProtocolError, saying what the body is
    raise AssertionError("unreachable")


def apikey_grant(session: Session) -> tuple[str, TokenGrant] | None:
    """``(flavor, TokenGrant)`` for the run's environment API key, through this module; None
    when the full path must do it (a private endpoint, a proxy, a retry, a family only the
    full detection can tell)."""
    from . import credentials, detect
    from .flavors._wire import Reader
    from .flavors.cloud_token import DISCOVERY_PATH, TOKEN_PATH, apikey_form, read_grant

    place = session.place()
    flavor = place.flavor or detect.known_flavor(place.endpoint)
    if flavor not in (None, "cloud"):
        return None
    try:
        link = Link(place.endpoint, place.verify)
    except Handover:
        return None
    try:
        if flavor is None:
            try:
                found = detect.answers_probe(json_object(link.request("GET", DISCOVERY_PATH)))
            except (ApiError, ProtocolError):
                found = False
            if not found:
                return None  # the full detection asks the other family too, and says why not
        key = credentials.resolve_api_key(session.profile_name, None, stdin=session.stdin)
        assert key is not None  # an environment key was set
        answer = link.request("POST", TOKEN_PATH, apikey_form(key[0]))
        return "cloud", read_grant(Reader(json_object(answer), link.where))
    except Handover:
        return None
    finally:
        link.close()
