"""Grants: refresh tokens and the private family's opaque access tokens, kept as digests."""

from __future__ import annotations

import secrets

from .. import formats
from .base import StoreBase
from .records import RefreshGrant, digest


class GrantStore(StoreBase):
    def add_refresh_token(self, grant: RefreshGrant) -> str:
        token = secrets.token_urlsafe(48)
        with self._tx() as db:
            db.execute(
                "INSERT INTO refresh_tokens VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    digest(token),
                    grant.iam_id,
                    grant.account_id,
                    grant.api_key_id,
                    grant.client_id,
                    grant.grant_type,
                    grant.expires_at,
                ),
            )
            # Expired grants are useless; sweeping them here keeps the table small.
            db.execute("DELETE FROM refresh_tokens WHERE expires_at < ?", (formats.now() - 86400,))
        return token

    def refresh_grant(self, token: str) -> RefreshGrant | None:
        row = self._one("SELECT * FROM refresh_tokens WHERE token_hash = ?", (digest(token),))
        if row is None:
            return None
        return RefreshGrant(
            row["iam_id"],
            row["account_id"],
            row["api_key_id"],
            row["client_id"],
            row["grant_type"],
            row["expires_at"],
        )

    def add_opaque_access_token(self, iam_id: str, account_id: str, ttl: int) -> tuple[str, int]:
        token = secrets.token_urlsafe(32)
        issued = formats.now()
        with self._tx() as db:
            db.execute(
                "INSERT INTO access_tokens VALUES (?, ?, ?, ?, ?)",
                (digest(token), iam_id, account_id, issued, issued + ttl),
            )
            db.execute("DELETE FROM access_tokens WHERE expires_at < ?", (issued - 86400,))
        return token, issued + ttl

    def opaque_access_token(self, token: str) -> tuple[str, str, int, int] | None:
        """(iam_id, account_id, issued_at, expires_at) of an opaque user access token."""
        row = self._one("SELECT * FROM access_tokens WHERE token_hash = ?", (digest(token),))
        if row is None:
            return None
        return row["iam_id"], row["account_id"], row["issued_at"], row["expires_at"]
