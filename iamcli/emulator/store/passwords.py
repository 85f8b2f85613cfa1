"""User passwords: scrypt hashes and their check."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from .base import StoreBase
from .records import User, user_from_row


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
        row = self._one("SELECT * FROM users WHERE username = ?", (username,))
        if row is None or row["password_hash"] is None:
            # Spend the same time as a real check so that timing does not reveal user names.
            _check_password(password, hash_password("x"))
            return None
        return user_from_row(row) if _check_password(password, row["password_hash"]) else None
