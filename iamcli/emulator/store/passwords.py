"""User passwords: scrypt hashes, their check, and the lockout after repeated failures.

IBMid locks an account after 5 consecutive wrong passwords, whatever the time between them,
until the password is reset. A lock that only a reset lifts is a lock anyone who knows a user
name can place for ever, so here it is bounded:

- 5 consecutive failures for one user name lock it for LOCK_SECONDS; while locked, every
  attempt, with the right password or not, is refused without a check (and costs no scrypt);
- attempts during a lock do not prolong it: a lock ends at most LOCK_SECONDS after the last
  attempt that was checked;
- after a lock, each further failure locks again at once (one guess per LOCK_SECONDS), until
  a success or a new password (`serve --admin-password`) clears the count;
- the count is kept for any user name, known or not, so that a lock does not tell which
  names exist; it is kept as a digest, for a day after the last failure, and for at most
  MAX_TRACKED names (the oldest are forgotten first).

The trade-off: someone who keeps guessing keeps a user's password login locked, one attempt
per LOCK_SECONDS. API keys are not affected, and a restart with `--admin-password` unlocks.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from .. import formats
from .base import StoreBase
from .records import StoreError, User, digest, user_from_row

MAX_FAILURES = 5
LOCK_SECONDS = 300
MAX_TRACKED = 10_000
FORGET_AFTER = 86400


class LoginLocked(StoreError):
    """Password login for this user name is locked for `retry_after` more seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "The user account is locked after repeated unsuccessful login attempts; "
            f"try again in {retry_after} seconds"
        )
        self.retry_after = retry_after


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    hashed = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${hashed.hex()}"


def _check_password(password: str, stored: str) -> bool:
    try:
        _, salt_hex, _ = stored.split("$")
    except ValueError:
        return False
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt_hex)), stored)


class PasswordStore(StoreBase):
    def check_password(self, username: str, password: str) -> User | None:
        """The user, if `password` is theirs; None if not. Raises LoginLocked."""
        key = digest(username)
        self._count_attempt(key)
        # The check runs outside the store's lock: scrypt is slow and needs no database.
        row = self._one("SELECT * FROM users WHERE username = ?", (username,))
        if row is None or row["password_hash"] is None:
            # Spend the same time as a real check so that timing does not reveal user names.
            _check_password(password, hash_password("x"))
            return None
        if not _check_password(password, row["password_hash"]):
            return None
        self.clear_login_failures(username)
        return user_from_row(row)

    def clear_login_failures(self, username: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM login_failures WHERE name_hash = ?", (digest(username),))

    def _count_attempt(self, key: bytes) -> None:
        """Counts an attempt as a failure before it is checked (a success clears the count), so
        that concurrent attempts cannot all slip in before the first of them is recorded."""
        now = formats.now()
        with self._tx() as db:
            row = db.execute(
                "SELECT failures, locked_until FROM login_failures WHERE name_hash = ?", (key,)
            ).fetchone()
            if row is not None and row["locked_until"] > now:
                raise LoginLocked(row["locked_until"] - now)
            failures = (row["failures"] if row is not None else 0) + 1
            locked_until = now + LOCK_SECONDS if failures >= MAX_FAILURES else 0
            db.execute(
                "INSERT OR REPLACE INTO login_failures VALUES (?, ?, ?, ?)",
                (key, failures, locked_until, now),
            )
            if row is None:
                db.execute("DELETE FROM login_failures WHERE last_at < ?", (now - FORGET_AFTER,))
                db.execute(
                    "DELETE FROM login_failures WHERE name_hash IN (SELECT name_hash FROM "
                    "login_failures ORDER BY last_at DESC LIMIT -1 OFFSET ?)",
                    (MAX_TRACKED,),
                )
