"""An account's identity settings (IBM's `/v1/accounts/{id}/settings/identity`): one versioned
record per account with its change history, and the preferences of identities in it."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from .. import formats
from .base import StoreBase
from .records import NotFound, StaleVersion, entity_tag

# What an account that never changed a setting has. IBM answers every field, with NOT_SET where
# the service default applies (the effective settings resolve those; see cloud/settings.py).
DEFAULT_SETTINGS: dict[str, Any] = {
    "restrict_create_service_id": "NOT_SET",
    "restrict_create_platform_apikey": "NOT_SET",
    "restrict_user_list_visibility": "NOT_RESTRICTED",
    "allowed_ip_addresses": "",
    "mfa": "NONE",
    "user_mfa": [],
    "restrict_user_domains": [],
    "session_expiration_in_seconds": "NOT_SET",
    "session_invalidation_in_seconds": "NOT_SET",
    "max_sessions_per_identity": "NOT_SET",
    "system_access_token_expiration_in_seconds": "NOT_SET",
    "system_refresh_token_expiration_in_seconds": "NOT_SET",
}
# History is for people reading the console; an account cannot grow it without bound here.
HISTORY_LIMIT = 100


@dataclass(frozen=True)
class AccountSettings:
    account_id: str
    values: dict[str, Any]
    version: int
    modified_at: int
    history: list[dict[str, Any]]

    @property
    def entity_tag(self) -> str:
        return entity_tag(self.account_id, self.version, self.modified_at)


@dataclass(frozen=True)
class Preference:
    account_id: str
    iam_id: str
    service: str
    preference_id: str
    value_string: str | None
    value_list_of_strings: list[str] | None


class AccountSettingsStore(StoreBase):
    TABLES = """
    CREATE TABLE IF NOT EXISTS account_settings (
        account_id TEXT PRIMARY KEY, body TEXT NOT NULL, version INTEGER NOT NULL,
        modified_at INTEGER NOT NULL, history TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS identity_preferences (
        account_id TEXT NOT NULL, iam_id TEXT NOT NULL, service TEXT NOT NULL,
        preference_id TEXT NOT NULL, value_string TEXT, value_list TEXT,
        PRIMARY KEY (account_id, iam_id, service, preference_id));
    """

    def account_settings(self, account_id: str) -> AccountSettings:
        row = self._one("SELECT * FROM account_settings WHERE account_id = ?", (account_id,))
        if row is None:
            # Never written: version 1 of the defaults, stable across reads so its ETag holds.
            return AccountSettings(account_id, dict(DEFAULT_SETTINGS), 1, 0, [])
        return _settings(row)

    def update_account_settings(
        self, account_id: str, *, if_match: str, changes: dict[str, Any], by: str
    ) -> AccountSettings:
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM account_settings WHERE account_id = ?", (account_id,)
            ).fetchone()
            current = (
                _settings(row)
                if row is not None
                else AccountSettings(account_id, dict(DEFAULT_SETTINGS), 1, 0, [])
            )
            if if_match != "*" and if_match != current.entity_tag:
                raise StaleVersion("The account settings were changed since they were read")
            values = {**current.values, **changes}
            t = formats.now()
            entry = {
                "timestamp": formats.ibm_time(t),
                "iam_id": by,
                "iam_id_account": account_id,
                "action": "update",
                "params": sorted(changes),
                "message": "Account settings updated: " + ", ".join(sorted(changes)),
            }
            history = [*current.history, entry][-HISTORY_LIMIT:]
            db.execute(
                "INSERT OR REPLACE INTO account_settings VALUES (?, ?, ?, ?, ?)",
                (account_id, json.dumps(values), current.version + 1, t, json.dumps(history)),
            )
        return self.account_settings(account_id)

    # -- preferences -------------------------------------------------------------------------

    def set_preference(self, pref: Preference) -> Preference:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO identity_preferences VALUES (?, ?, ?, ?, ?, ?)",
                (
                    pref.account_id,
                    pref.iam_id,
                    pref.service,
                    pref.preference_id,
                    pref.value_string,
                    None
                    if pref.value_list_of_strings is None
                    else json.dumps(pref.value_list_of_strings),
                ),
            )
        return pref

    def preference(
        self, account_id: str, iam_id: str, service: str, preference_id: str
    ) -> Preference | None:
        row = self._one(
            "SELECT * FROM identity_preferences WHERE account_id = ? AND iam_id = ? AND"
            " service = ? AND preference_id = ?",
            (account_id, iam_id, service, preference_id),
        )
        return None if row is None else _preference(row)

    def preferences(self, account_id: str, iam_id: str) -> list[Preference]:
        rows = self._all(
            "SELECT * FROM identity_preferences WHERE account_id = ? AND iam_id = ?"
            " ORDER BY service, preference_id",
            (account_id, iam_id),
        )
        return [_preference(r) for r in rows]

    def delete_preference(
        self, account_id: str, iam_id: str, service: str, preference_id: str
    ) -> None:
        with self._tx() as db:
            gone = db.execute(
                "DELETE FROM identity_preferences WHERE account_id = ? AND iam_id = ? AND"
                " service = ? AND preference_id = ?",
                (account_id, iam_id, service, preference_id),
            ).rowcount
        if not gone:
            raise NotFound(f"Preference {service[:50]}/{preference_id[:50]} not found")


def _settings(row: sqlite3.Row) -> AccountSettings:
    return AccountSettings(
        account_id=row["account_id"],
        values={**DEFAULT_SETTINGS, **json.loads(row["body"])},
        version=row["version"],
        modified_at=row["modified_at"],
        history=json.loads(row["history"]),
    )


def _preference(row: sqlite3.Row) -> Preference:
    return Preference(
        account_id=row["account_id"],
        iam_id=row["iam_id"],
        service=row["service"],
        preference_id=row["preference_id"],
        value_string=row["value_string"],
        value_list_of_strings=None if row["value_list"] is None else json.loads(row["value_list"]),
    )
