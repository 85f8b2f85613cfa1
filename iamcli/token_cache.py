"""The cached access token of each profile, and when to mint a new one.

``<cache>/tokens/<profile>.json`` (0600, in a 0700 dir) holds the short-lived access token so
that ``iamcli oauth-tokens`` needs neither the keyring nor the network. The refresh token is a
long-lived secret and lives with the API key in the credential store, never here.

Policy, as IBM's SDKs: a token is *expired* 10 s before ``exp``, and *due for refresh* once 80 %
of its lifetime has passed. Concurrent processes refresh once::

    with refresh_lock(profile):
        tok = load(profile)
        if tok is None or needs_refresh(tok):
            tok = mint()            # the caller's business
            save(profile, tok)

Standard library only: this module is on the fast path.
"""

from __future__ import annotations

import os
import stat
import time

from iamcli import paths

# Not `from typing import TYPE_CHECKING`: importing typing costs ~5 ms on the fast path, and
# dataclasses, pathlib, contextlib and json (see _read) are kept out for the same reason;
# mypy treats a name TYPE_CHECKING as true all the same.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from typing import Any

EXPIRY_WINDOW = 10
REFRESH_FRACTION = 0.8
_MAX_CACHE_FILE = 64 * 1024
_STRINGS = ("access_token", "token_type", "endpoint", "iam_id", "credential")
_INTS = ("expires_at", "issued_at")


class CachedToken:
    """One cached access token and what it was minted from (immutable)."""

    __slots__ = (
        "access_token",
        "credential",
        "endpoint",
        "expires_at",
        "has_refresh_token",
        "iam_id",
        "issued_at",
        "token_type",
    )
    access_token: str
    token_type: str
    expires_at: int
    issued_at: int
    endpoint: str
    iam_id: str
    credential: str
    has_refresh_token: bool

    def __init__(
        self,
        access_token: str,
        token_type: str,
        expires_at: int,
        issued_at: int,
        endpoint: str,
        iam_id: str,
        credential: str = "",
        has_refresh_token: bool = False,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "access_token", access_token)
        set_(self, "token_type", token_type)
        set_(self, "expires_at", expires_at)
        set_(self, "issued_at", issued_at)
        set_(self, "endpoint", endpoint)
        set_(self, "iam_id", iam_id)
        # What the token was minted from (see credential_id), so that a token minted from
        # one API key is never served for another.
        set_(self, "credential", credential)
        # Whether the session also has a refresh token to show (kept in the keyring, not here).
        set_(self, "has_refresh_token", has_refresh_token)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("CachedToken is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CachedToken) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.to_dict().items()))

    def __repr__(self) -> str:
        return (
            f"CachedToken(token_type={self.token_type!r}, expires_at={self.expires_at}, "
            f"issued_at={self.issued_at}, endpoint={self.endpoint!r}, "
            f"iam_id={self.iam_id!r}, credential={self.credential!r})"
        )

    @property
    def authorization(self) -> str:
        """The Authorization header value, e.g. ``Bearer eyJ...``."""
        return f"{self.token_type} {self.access_token}"

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (*_STRINGS, *_INTS, "has_refresh_token")}


def credential_id(profile: str, env_var: str | None) -> str:
    """What a cached token is minted from, as decided by the environment of this run.

    The profile's stored login, or a digest of the API key in `env_var`; either way together
    with `IAMCLI_ENDPOINT` and `IAMCLI_FLAVOR` as given, since those change where it is minted.
    The digest names the key without revealing it.
    """
    where = "|".join(os.environ.get(v, "").strip() for v in ("IAMCLI_ENDPOINT", "IAMCLI_FLAVOR"))
    if env_var is None:
        return f"profile:{profile}|{where}"
    import hashlib

    raw = os.environ.get(env_var, "").strip()
    return "env:" + hashlib.sha256(f"{raw}|{where}".encode()).hexdigest()[:32]


def usable(profile: str) -> CachedToken | None:
    """The profile's cached token if it was minted from what this run would use (the same
    environment key, endpoint and flavor, or the same stored login), whatever its age."""
    cached = load(profile)
    if cached is None or cached.credential != credential_id(profile, paths.env_api_key_name()):
        return None
    return cached


def _trust_roots() -> tuple[str, ...]:
    roots = paths.trust_roots()
    if roots is None:
        from iamcli.config import trust_roots

        roots = trust_roots()
    return roots


def tokens_dir() -> str:
    known = paths.base_dirs()
    if known is not None:
        return os.path.join(known[1], "tokens")
    from iamcli.config import dirs

    return str(dirs().cache / "tokens")


def _path(profile: str, suffix: str = ".json") -> str:
    if not paths.is_valid_profile_name(profile):
        from iamcli.config import validate_profile_name

        validate_profile_name(profile)
    return os.path.join(tokens_dir(), profile + suffix)


def load(profile: str) -> CachedToken | None:
    """The cached token, or None when missing, unreadable, corrupt or not a private file."""
    path = _path(profile)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        # A token file someone else could have written, or swapped in, is not a token we trust
        # (the refresh lock then says why, as it checks the same directories).
        if not stat.S_ISREG(st.st_mode) or paths.untrusted(st, directory=False) is not None:
            return None
        if paths.untrusted_dirs(os.path.dirname(path), _trust_roots()) is not None:
            return None
        data = _read(os.read(fd, _MAX_CACHE_FILE))
    except (OSError, ValueError, RecursionError):
        return None
    finally:
        os.close(fd)
    return _from_dict(data)


def _read(raw: bytes) -> Any:
    """``json.loads(raw)``, for the files :func:`save` writes, without importing json.

    json (with the re and enum modules it imports) costs about as much as the rest of a cached
    `oauth-tokens`. What save writes is one flat object of plain strings, integers and booleans;
    :func:`_flat_object` reads exactly that and gives up on anything else (an escape, a nested
    value, a float, non-ASCII text), which json then reads, or refuses, as it always did.
    """
    try:
        flat = _flat_object(raw.decode())
    except (UnicodeDecodeError, ValueError):
        flat = None
    if flat is not None:
        return flat
    import json

    return json.loads(raw)


_JSON_SPACE = " \t\n\r"
_LITERALS = {"true": True, "false": False, "null": None}


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _JSON_SPACE:
        i += 1
    return i


def _flat_string(text: str, i: int) -> tuple[str, int] | None:
    """A string without escapes at ``text[i]`` and the index after it."""
    if not text.startswith('"', i):
        return None
    end = text.find('"', i + 1)
    value = text[i + 1 : end]
    # No backslash before the closing quote means it is the closing quote; printable ASCII
    # leaves out the control characters JSON forbids raw (and, needlessly, other text).
    if end < 0 or "\\" in value or not (value.isascii() and value.isprintable()):
        return None
    return value, end + 1


def _flat_value(text: str, i: int) -> tuple[Any, int] | None:
    if text.startswith('"', i):
        return _flat_string(text, i)
    for word, value in _LITERALS.items():
        if text.startswith(word, i):
            return value, i + len(word)
    j = i + 1 if text.startswith("-", i) else i
    start = j
    while j < len(text) and text[j] in "0123456789":
        j += 1
    digits = text[start:j]
    if not digits or (digits[0] == "0" and len(digits) > 1) or text[j : j + 1] in (".", "e", "E"):
        return None
    return int(text[i:j]), j


def _flat_object(text: str) -> dict[str, Any] | None:
    """``text`` as JSON if it is one object of escape-free strings, integers, booleans and
    nulls, else None (then it may still be JSON: the caller asks json)."""
    i = _skip(text, 0)
    if not text.startswith("{", i):
        return None
    found: dict[str, Any] = {}
    i = _skip(text, i + 1)
    if text.startswith("}", i):
        return found if _skip(text, i + 1) == len(text) else None
    while True:
        key = _flat_string(text, i)
        if key is None:
            return None
        i = _skip(text, key[1])
        if not text.startswith(":", i):
            return None
        value = _flat_value(text, _skip(text, i + 1))
        if value is None:
            return None
        found[key[0]] = value[0]
        i = _skip(text, value[1])
        if text.startswith("}", i):
            return found if _skip(text, i + 1) == len(text) else None
        if not text.startswith(",", i):
            return None
        i = _skip(text, i + 1)


def _from_dict(data: Any) -> CachedToken | None:
    if not isinstance(data, dict):
        return None
    data = {"credential": "", **data}
    if not all(isinstance(data.get(k), str) for k in _STRINGS):
        return None
    if not all(_is_int(data.get(k)) for k in _INTS):
        return None
    if not data["access_token"]:
        return None
    return CachedToken(
        **{k: data[k] for k in (*_STRINGS, *_INTS)},
        has_refresh_token=data.get("has_refresh_token") is True,
    )


def save(profile: str, token: CachedToken) -> None:
    """Cache ``token`` for ``profile``; one that is not :func:`cacheable` replaces nothing but
    removes what was cached (it was minted to replace it)."""
    from pathlib import Path

    from iamcli.config import ensure_private_dir, write_private_json

    if not cacheable(token):
        clear(profile)
        return
    path = Path(_path(profile))
    ensure_private_dir(path.parent)
    write_private_json(path, token.to_dict())


def discard(profile: str, authorization: str) -> None:
    """Forget the cached token if it is the one given (``Bearer ...``): the server refused it.
    Under the refresh lock, so that a token another process just minted is not lost."""
    with refresh_lock(profile):
        cached = load(profile)
        if cached is not None and cached.authorization == authorization:
            clear(profile)


def clear(profile: str) -> None:
    # Not contextlib.suppress: contextlib stays off the fast path.
    try:  # noqa: SIM105
        os.unlink(_path(profile))
    except FileNotFoundError:
        pass


def is_expired(token: CachedToken, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    return now >= token.expires_at - EXPIRY_WINDOW


def needs_refresh(token: CachedToken, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    lifetime = token.expires_at - token.issued_at
    return is_expired(token, now) or now >= token.issued_at + REFRESH_FRACTION * lifetime


def lasts(token: CachedToken, seconds: int, now: float | None = None) -> bool:
    """Whether the token is still valid `seconds` from now (`--min-valid`)."""
    now = time.time() if now is None else now
    return token.expires_at - now >= seconds


def fresh_enough(token: CachedToken, min_valid: int = 0, now: float | None = None) -> bool:
    """Usable as it is: not due for refresh, and valid for at least `min_valid` seconds."""
    return not needs_refresh(token, now) and lasts(token, min_valid, now)


def refresh_lock(profile: str, timeout: float = 30.0) -> AbstractContextManager[None]:
    """The profile's one lock across processes: held while a token is refreshed (and a new
    refresh token stored), and while a login stores, or a logout forgets, the profile and its
    secrets, so that the profile and its secret always agree."""
    from pathlib import Path

    from iamcli.config import file_lock

    lock = Path(_path(profile, ".lock"))
    return file_lock(lock, timeout=timeout, what=f"the token of profile {profile!r}")


def expiry_from_jwt(token: str) -> tuple[int, int] | None:
    """``(iat, exp)`` read from a JWT payload, without checking the signature.

    Only for cache timing: the server checks the token, we only decide when to ask again.
    """
    times = _jwt_times(token)
    return times if times is not None and times[1] > times[0] else None


def _jwt_times(token: str) -> tuple[int, int] | None:
    """The JWT's own ``(iat, exp)`` claims as they are, even when they make no sense."""
    import base64

    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = _read(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(payload, dict):
        return None
    iat, exp = _as_int(payload.get("iat")), _as_int(payload.get("exp"))
    if iat is None or exp is None:
        return None
    return iat, exp


def cacheable(token: CachedToken) -> bool:
    """Whether a token is worth keeping: not one that expires when (or before) it was issued,
    by its own claims or by the answer's (such a token is dead on arrival; caching it would
    serve it until the answer's expiry)."""
    if token.expires_at <= token.issued_at:
        return False
    times = _jwt_times(token.access_token)
    return times is None or times[1] > times[0]


def token_times(
    access_token: str,
    *,
    expires_in: Any = None,
    expiration: Any = None,
    now: float | None = None,
) -> tuple[int, int]:
    """``(issued_at, expires_at)`` for a token endpoint answer.

    The JWT's own claims first; else the answer's ``expiration`` (epoch seconds) and
    ``expires_in`` (seconds), as IBM's Go SDK does for tokens it cannot decode. Values that
    are not integers are ignored (they come straight from the server).
    """
    from_jwt = expiry_from_jwt(access_token)
    if from_jwt is not None:
        return from_jwt
    now_i = int(time.time() if now is None else now)
    expiration = _as_int(expiration)
    expires_in = _as_int(expires_in)
    if expiration is not None and expires_in is not None and expires_in > 0:
        return expiration - expires_in, expiration
    if expiration is not None and expiration > now_i:
        return now_i, expiration
    if expires_in is not None and expires_in > 0:
        return now_i, now_i + expires_in
    from iamcli.errors import ProtocolError

    raise ProtocolError("the token response says neither when the token expires nor is a JWT")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
