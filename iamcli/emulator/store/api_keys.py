"""API keys: of users and of service IDs, their values kept as digests (or sealed)."""

from __future__ import annotations

import sqlite3
from typing import Any

from .. import formats
from .base import StoreBase, filter_sql
from .limits import check_limit
from .records import (
    ACTIONS_WHEN_LEAKED,
    API_KEY_SORTS,
    ApiKey,
    Conflict,
    Invalid,
    Locked,
    NotFound,
    Page,
    StaleVersion,
    api_key_from_row,
    check_text,
    digest,
)
from .serviceid_groups import keys_in_group_sql


class ApiKeyStore(StoreBase):
    def create_api_key(
        self,
        *,
        account_id: str,
        iam_id: str,
        name: str,
        description: str | None,
        value: str | None = None,
        store_value: bool = False,
        locked: bool = False,
        disabled: bool = False,
        support_sessions: bool = False,
        action_when_leaked: str = "disable",
        expires_at: int | None = None,
        created_by: str,
        entity_id: str | None = None,
    ) -> tuple[ApiKey, str]:
        """The new key and its value, which is not kept and cannot be read again (unless
        `store_value`). `entity_id` is for seeding a database with known IDs."""
        if iam_id.startswith("iam-Profile-"):
            # A profile is applied, never logged in to: IBM gives profiles no API keys.
            raise Invalid("A trusted profile cannot have API keys")
        check_text(name, description)
        if value is not None and not formats.APIKEY_VALUE_RE.match(value):
            raise Invalid("apikey must be 32 to 256 characters without white space")
        if action_when_leaked not in ACTIONS_WHEN_LEAKED:
            raise Invalid("action_when_leaked must be one of none, disable, delete")
        owner_kind = "serviceid" if iam_id.startswith("iam-ServiceId-") else "user"
        if store_value and owner_kind == "user":
            raise Invalid("store_value is only allowed for API keys of service IDs")
        value = value or formats.new_api_key_value()
        with self._tx() as db:
            check_limit(db, account_id, "apikeys_per_identity", iam_id)
            kid = self._insert_api_key(
                db,
                account_id=account_id,
                iam_id=iam_id,
                owner_kind=owner_kind,
                name=name,
                description=description,
                value=value,
                store_value=store_value,
                locked=locked,
                disabled=disabled,
                support_sessions=support_sessions,
                action_when_leaked=action_when_leaked,
                expires_at=expires_at,
                created_by=created_by,
                at=formats.now(),
                entity_id=entity_id,
            )
        return self.api_key(kid), value  # type: ignore[return-value]

    def _insert_api_key(
        self,
        db: sqlite3.Connection,
        *,
        value: str,
        store_value: bool,
        at: int,
        entity_id: str | None = None,
        **fields: Any,
    ) -> str:
        kid = entity_id or formats.new_api_key_id()
        key_hash = digest(value)
        if db.execute("SELECT 1 FROM api_keys WHERE key_hash = ?", (key_hash,)).fetchone():
            raise Conflict("An API key with this value already exists")
        db.execute(
            "INSERT INTO api_keys (id, account_id, iam_id, owner_kind, name, description, "
            "key_hash, sealed_value, locked, disabled, support_sessions, action_when_leaked, "
            "expires_at, version, created_at, modified_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            (
                kid,
                fields["account_id"],
                fields["iam_id"],
                fields["owner_kind"],
                fields["name"],
                fields["description"],
                key_hash,
                self._seal(value, kid) if store_value else None,
                int(fields["locked"]),
                int(fields["disabled"]),
                int(fields["support_sessions"]),
                fields["action_when_leaked"],
                fields["expires_at"],
                at,
                at,
                fields["created_by"],
            ),
        )
        return kid

    def api_key(self, kid: str) -> ApiKey | None:
        row = self._one("SELECT * FROM api_keys WHERE id = ?", (kid,))
        return None if row is None else api_key_from_row(row)

    def api_key_by_value(self, value: str) -> ApiKey | None:
        # Not a constant-time comparison, and it need not be one. The index compares SHA-256
        # digests, so a timing difference can tell a caller at most how the digest of its own
        # guess sorts among the stored digests. Unlike a matching prefix of the key itself, a
        # matching prefix of a digest cannot be extended byte by byte into a key, and a digest
        # does not lead back to a random key. (For a low-entropy chosen key, digest bits learnt
        # this way would let guesses be filtered offline; memcmp differences of nanoseconds are
        # far below what a caller over TCP can measure.)
        row = self._one("SELECT * FROM api_keys WHERE key_hash = ?", (digest(value),))
        return None if row is None else api_key_from_row(row)

    def stored_value(self, key: ApiKey) -> str | None:
        row = self._one("SELECT sealed_value FROM api_keys WHERE id = ?", (key.id,))
        if row is None or row["sealed_value"] is None:
            return None
        return self._unseal(row["sealed_value"], key.id)

    def list_api_keys(
        self,
        account_id: str,
        *,
        iam_id: str | None = None,
        owners: list[str] | None = None,
        owner_kind: str | None = None,
        group_id: str | None = None,
        filter_expr: str | None = None,
        sort: str | None = None,
        descending: bool = False,
        offset: int = 0,
        limit: int = 20,
    ) -> Page:
        where, params = ["account_id = ?"], [account_id]
        if group_id is not None:
            # Service-ID keys whose service ID is in the group (DEFAULT_GROUP: in none); user
            # keys are always in the default group, and IBM ignores the group for them.
            where.append(f"(owner_kind = 'user' OR {keys_in_group_sql(group_id or None)})")
            params.extend([group_id] if group_id else [])
        if iam_id is not None:
            where.append("iam_id = ?")
            params.append(iam_id)
        if owners is not None:
            where.append(f"iam_id IN ({','.join('?' * len(owners)) or 'NULL'})")
            params.extend(owners)
        if owner_kind is not None:
            where.append("owner_kind = ?")
            params.append(owner_kind)
        if filter_expr:
            clause, extra = filter_sql(filter_expr)
            where.append(clause)
            params.extend(extra)
        rows = self._page("api_keys", where, params, sort, API_KEY_SORTS, descending, offset, limit)
        return Page([api_key_from_row(r) for r in rows[:limit]], offset, len(rows) > limit)

    def update_api_key(
        self,
        kid: str,
        *,
        if_match: str | None,
        name: str | None = None,
        description: str | None = None,
        support_sessions: bool | None = None,
        action_when_leaked: str | None = None,
        expires_at: int | None = None,
    ) -> ApiKey:
        check_text(name, description)
        if name is not None and not name.strip():
            raise Invalid("name must not be empty")
        if action_when_leaked is not None and action_when_leaked not in ACTIONS_WHEN_LEAKED:
            raise Invalid("action_when_leaked must be one of none, disable, delete")
        with self._tx() as db:
            c = self._current_api_key(db, kid, if_match)
            db.execute(
                "UPDATE api_keys SET name = ?, description = ?, support_sessions = ?, "
                "action_when_leaked = ?, expires_at = ?, version = version + 1, "
                "modified_at = ? WHERE id = ?",
                (
                    c.name if name is None else name,
                    c.description if description is None else description,
                    int(c.support_sessions if support_sessions is None else support_sessions),
                    action_when_leaked or c.action_when_leaked,
                    c.expires_at if expires_at is None else expires_at,
                    formats.now(),
                    kid,
                ),
            )
        return self.api_key(kid)  # type: ignore[return-value]

    def delete_api_key(self, kid: str) -> None:
        with self._tx() as db:
            self._current_api_key(db, kid, None)
            # Tokens already issued stay valid until they expire, as IBM documents; only the
            # key's own refresh grants end with it.
            db.execute("DELETE FROM refresh_tokens WHERE api_key_id = ?", (kid,))
            db.execute("DELETE FROM api_keys WHERE id = ?", (kid,))

    def set_api_key_flag(self, kid: str, flag: str, value: bool) -> ApiKey:
        if flag not in ("locked", "disabled"):
            raise ValueError(flag)
        with self._tx() as db:
            row = db.execute("SELECT * FROM api_keys WHERE id = ?", (kid,)).fetchone()
            if row is None:
                raise NotFound(f"API key {kid} not found")
            if flag == "disabled" and row["locked"]:
                raise Locked(f"API key {kid} is locked")
            db.execute(
                f"UPDATE api_keys SET {flag} = ?, version = version + 1, modified_at = ? "
                "WHERE id = ?",
                (int(value), formats.now(), kid),
            )
        return self.api_key(kid)  # type: ignore[return-value]

    def _current_api_key(self, db: sqlite3.Connection, kid: str, if_match: str | None) -> ApiKey:
        row = db.execute("SELECT * FROM api_keys WHERE id = ?", (kid,)).fetchone()
        if row is None:
            raise NotFound(f"API key {kid} not found")
        current = api_key_from_row(row)
        if current.locked:
            raise Locked(f"API key {kid} is locked")
        if if_match not in (None, "*") and if_match != current.entity_tag:
            raise StaleVersion(
                f"API key {kid} was changed by someone else (version {current.entity_tag})"
            )
        return current
