"""HTTP trace (``--trace``, ``IAMCLI_TRACE``) with every secret hidden.

The format follows ``ibmcloud``'s trace::

    REQUEST: [2026-11-27T10:00:00Z]
    POST /identity/token HTTP/1.1
    Host: iam.cloud.ibm.com
    Content-Type: application/x-www-form-urlencoded

    grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=[PRIVATE DATA HIDDEN]

    RESPONSE: [2026-11-27T10:00:00Z] Elapsed: 12ms
    HTTP/1.1 200 OK
    ...

The redaction functions are pure and usable on their own: :func:`redact_headers`,
:func:`redact_text`, :func:`redact_url`. Only the standard library is imported here.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import unquote_plus, urlsplit

from iamcli.paths import TRACE_OFF

# No runtime `typing` import (~5 ms); mypy treats a name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

HIDDEN = "[PRIVATE DATA HIDDEN]"

# Bodies beyond this are summarised: a trace is for reading, and a 5 MiB list is not.
MAX_TRACE_BODY = 64 * 1024

_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "iam-apikey"}
)
# A key is secret when it contains one of these; the form names IBM uses (apikey, password,
# refresh_token, access_token, token, passcode, client_secret, id_token, cr_token) all do.
_SECRET_KEY_PARTS = ("token", "apikey", "api_key", "password", "secret", "passcode")
# Secret form fields of the password grant (MFA) and the assume grant that the rule above misses.
_SECRET_KEYS_EXACT = frozenset({"security_code", "security_question_answer", "cookie"})
# Names that contain "token" but hold no secret (a type, a page cursor); hiding them makes
# traces harder to read for nothing.
_NOT_SECRET_KEYS = frozenset({"token_type", "token_type_hint", "pagetoken"})

_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER_RE = re.compile(r"\b(Bearer)\s+[A-Za-z0-9._~+/=-]{16,}", re.IGNORECASE)
_JSON_PAIR_RE = re.compile(r'("(?P<key>[^"\\]{1,100})"\s*:\s*)"(?:[^"\\]|\\.)*"?')
_FORM_PAIR_RE = re.compile(r"(?P<pre>(?:^|(?<=[?&;\s,]))(?P<key>[A-Za-z0-9_.%-]{1,100})=)[^&\s;,]*")
_FORM_BODY_RE = re.compile(r"[A-Za-z0-9_.%+-]+=[^&\s]*(?:&[A-Za-z0-9_.%+-]+=[^&\s]*)*")

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = TRACE_OFF
_STDERR_NAMES = frozenset({"stderr", "/dev/stderr"})


def is_secret_key(name: str) -> bool:
    """Whether a form field, query parameter or JSON key holds a secret."""
    lowered = name.lower().replace("-", "_")
    if lowered in _NOT_SECRET_KEYS:
        return False
    return lowered in _SECRET_KEYS_EXACT or any(part in lowered for part in _SECRET_KEY_PARTS)


def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_HEADERS or lowered.startswith("x-auth")


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers with the values of credential-bearing ones replaced, order and case kept."""
    return [
        (name, HIDDEN if is_secret_header(name) else _redact_free_text(value))
        for name, value in headers
    ]


def redact_json_value(value: Any, *, secret: bool = False) -> Any:
    """A copy of a decoded JSON value with the scalars under secret keys hidden.

    An object under a secret key is hidden field by field. A list under one is walked: its
    scalars are hidden, but its objects are records judged key by key, so that a list of API
    key records (``"apikeys": [{"name": ..., "apikey": ...}]``) keeps its names.
    """
    if isinstance(value, dict):
        return {
            k: redact_json_value(v, secret=secret or is_secret_key(str(k)))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_json_value(v, secret=secret and not isinstance(v, dict)) for v in value]
    if isinstance(value, str):
        return HIDDEN if secret else _JWT_RE.sub(HIDDEN, value)
    if secret and isinstance(value, int | float) and not isinstance(value, bool):
        return HIDDEN
    return value


def redact_query(query: str) -> str:
    """A query string or form body with secret values hidden; keys and order kept."""
    parts = []
    for pair in query.split("&"):
        key, sep, _ = pair.partition("=")
        parts.append(f"{key}={HIDDEN}" if sep and is_secret_key(unquote_plus(key)) else pair)
    return _JWT_RE.sub(HIDDEN, "&".join(parts))


def redact_url(url: str) -> str:
    """A URL with user info removed and secret query values hidden."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = f"?{redact_query(parts.query)}" if parts.query else ""
    base = f"{parts.scheme}://{netloc}" if parts.scheme else netloc
    return f"{base}{parts.path}{query}"


def redact_text(text: str, content_type: str | None = None) -> str:
    """Any body or message with every secret we can recognise hidden.

    JSON that parses is redacted structurally and re-serialised on one line; form bodies pair
    by pair; anything else (truncated JSON, HTML, prose) by pattern, which also catches any
    JWT-shaped string and ``Bearer`` credentials.
    """
    ctype = (content_type or "").lower()
    stripped = text.strip()
    if "json" in ctype or stripped.startswith(("{", "[")):
        try:
            decoded = json.loads(stripped)
        except (ValueError, RecursionError):
            pass
        else:
            return json.dumps(redact_json_value(decoded), ensure_ascii=False)
    if "x-www-form-urlencoded" in ctype or _FORM_BODY_RE.fullmatch(stripped):
        return redact_query(stripped)
    return _redact_free_text(text)


def _redact_free_text(text: str) -> str:
    def json_pair(m: re.Match[str]) -> str:
        return f'{m.group(1)}"{HIDDEN}"' if is_secret_key(m.group("key")) else m.group(0)

    def form_pair(m: re.Match[str]) -> str:
        return f"{m.group('pre')}{HIDDEN}" if is_secret_key(m.group("key")) else m.group(0)

    text = _JWT_RE.sub(HIDDEN, text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)} {HIDDEN}", text)
    text = _JSON_PAIR_RE.sub(json_pair, text)
    return _FORM_PAIR_RE.sub(form_pair, text)


def describe_body(body: bytes | None, content_type: str | None) -> str:
    """The trace text for a body: redacted text, or a one-line summary."""
    if not body:
        return ""
    if len(body) > MAX_TRACE_BODY:
        return f"[{len(body)} bytes of {content_type or 'data'} not shown]"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return f"[{len(body)} bytes of binary data not shown]"
    if "\x00" in text:
        return f"[{len(body)} bytes of binary data not shown]"
    return redact_text(text, content_type)


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _content_type(headers: list[tuple[str, str]]) -> str | None:
    return next((v for k, v in headers if k.lower() == "content-type"), None)


class Trace:
    """A sink for request/response traces. Each entry is written and flushed in one piece."""

    def __init__(self, stream: TextIO, *, owns_stream: bool = False) -> None:
        self._stream = stream
        self._owns_stream = owns_stream
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Trace(stream={getattr(self._stream, 'name', '?')!r})"

    @classmethod
    def from_env_and_flag(cls, flag: bool) -> Trace | None:
        """The trace selected by ``--trace`` and ``IAMCLI_TRACE`` (true, false or a file path).

        A path in ``IAMCLI_TRACE`` wins over the flag (the flag only says "trace"); ``false``
        turns tracing off unless the flag asks for it.
        """
        from iamcli.errors import UsageError

        value = os.environ.get("IAMCLI_TRACE", "").strip()
        lowered = value.lower()
        if lowered in _TRUE or lowered in _STDERR_NAMES:
            return cls(sys.stderr)
        if lowered in _FALSE:
            return cls(sys.stderr) if flag else None
        try:
            return cls(_open_trace_file(value), owns_stream=True)
        except OSError as exc:
            reason = "it is a symbolic link" if _is_symlink(value) else exc.strerror or str(exc)
            raise UsageError(
                f"cannot write the trace file {value} (IAMCLI_TRACE): {reason}",
                hint="set IAMCLI_TRACE to true, false or the path of a regular file",
            ) from None

    def request(
        self,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | None,
        *,
        http_version: str = "HTTP/1.1",
    ) -> None:
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{redact_query(parts.query)}" if parts.query else "")
        header_list = list(headers)
        if not any(k.lower() == "host" for k, _ in header_list):
            header_list.insert(0, ("Host", parts.netloc.rpartition("@")[2]))
        lines = [f"REQUEST: [{_timestamp()}]", f"{method} {target} {http_version}"]
        lines += [f"{k}: {v}" for k, v in redact_headers(header_list)]
        lines += ["", describe_body(body, _content_type(header_list)), ""]
        self._write(lines)

    def response(
        self,
        status: int,
        reason: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | None,
        *,
        elapsed: float,
        http_version: str = "HTTP/1.1",
    ) -> None:
        header_list = list(headers)
        lines = [
            f"RESPONSE: [{_timestamp()}] Elapsed: {round(elapsed * 1000)}ms",
            f"{http_version} {status} {reason}".rstrip(),
        ]
        lines += [f"{k}: {v}" for k, v in redact_headers(header_list)]
        lines += ["", describe_body(body, _content_type(header_list)), ""]
        self._write(lines)

    def note(self, text: str) -> None:
        """A free-form line (a retry, a dropped connection), redacted like everything else."""
        self._write([_redact_free_text(text), ""])

    def close(self) -> None:
        if self._owns_stream:
            self._stream.close()

    def _write(self, lines: list[str]) -> None:
        from iamcli.output import clean

        # Headers and bodies come from the server: escaped as every human output is, line by
        # line so that a multi-line body still reads as one.
        text = "\n".join(clean(line) for line in "\n".join(lines).split("\n"))
        with self._lock:
            self._stream.write(text + "\n")
            self._stream.flush()


def _is_symlink(path: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def _open_trace_file(path: str) -> TextIO:
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, "not a regular file")
        # A trace is redacted, but it still maps the user's account; keep it private.
        if st.st_uid == os.getuid() and st.st_mode & 0o077:
            os.fchmod(fd, 0o600)
        return os.fdopen(fd, "a", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise
