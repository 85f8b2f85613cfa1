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

import base64
import contextlib
import json
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from iamcli.config import (
    dirs,
    ensure_private_dir,
    file_lock,
    validate_profile_name,
    write_private_json,
)
from iamcli.errors import ProtocolError

# Not `from typing import TYPE_CHECKING`: importing typing costs ~5 ms on the fast path;
# mypy treats a name TYPE_CHECKING as true all the same.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

EXPIRY_WINDOW = 10
REFRESH_FRACTION = 0.8
_MAX_CACHE_FILE = 64 * 1024


@dataclass(frozen=True)
class CachedToken:
    access_token: str = field(repr=False)
    token_type: str
    expires_at: int
    issued_at: int
    endpoint: str
    iam_id: str
    # What the token was minted from (a profile's stored login, or a digest naming an env key),
    # so that a token minted from one API key is never served for another.
    credential: str = ""

    @property
    def authorization(self) -> str:
        """The Authorization header value, e.g. ``Bearer eyJ...``."""
        return f"{self.token_type} {self.access_token}"


def tokens_dir() -> Path:
    return dirs().cache / "tokens"


def _path(profile: str) -> Path:
    return tokens_dir() / f"{validate_profile_name(profile)}.json"


def load(profile: str) -> CachedToken | None:
    """The cached token, or None when missing, unreadable, corrupt or not a private file."""
    path = _path(profile)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        # A token file someone else could have written is not a token we trust.
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
            return None
        data = json.loads(os.read(fd, _MAX_CACHE_FILE))
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    return _from_dict(data)


def _from_dict(data: Any) -> CachedToken | None:
    if not isinstance(data, dict):
        return None
    strings = ("access_token", "token_type", "endpoint", "iam_id")
    ints = ("expires_at", "issued_at")
    if not all(isinstance(data.get(k), str) for k in strings):
        return None
    if not all(_is_int(data.get(k)) for k in ints):
        return None
    if not data["access_token"] or not isinstance(data.get("credential", ""), str):
        return None
    return CachedToken(
        **{k: data[k] for k in strings + ints}, credential=data.get("credential", "")
    )


def save(profile: str, token: CachedToken) -> None:
    path = _path(profile)
    ensure_private_dir(path.parent)
    write_private_json(path, asdict(token))


def clear(profile: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        _path(profile).unlink()


def is_expired(token: CachedToken, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    return now >= token.expires_at - EXPIRY_WINDOW


def needs_refresh(token: CachedToken, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    lifetime = token.expires_at - token.issued_at
    return is_expired(token, now) or now >= token.issued_at + REFRESH_FRACTION * lifetime


@contextlib.contextmanager
def refresh_lock(profile: str, timeout: float = 30.0) -> Iterator[None]:
    """Serialise token refreshes of one profile across processes."""
    lock = tokens_dir() / f"{validate_profile_name(profile)}.lock"
    with file_lock(lock, timeout=timeout, what=f"the token of profile {profile!r}"):
        yield


def expiry_from_jwt(token: str) -> tuple[int, int] | None:
    """``(iat, exp)`` read from a JWT payload, without checking the signature.

    Only for cache timing: the server checks the token, we only decide when to ask again.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError):
        return None
    if not isinstance(payload, dict):
        return None
    iat, exp = _as_int(payload.get("iat")), _as_int(payload.get("exp"))
    if iat is None or exp is None or exp <= iat:
        return None
    return iat, exp


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
    raise ProtocolError("the token response says neither when the token expires nor is a JWT")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
