"""When identities and API keys last authenticated, and the reports built from it (IBM's
inactive-identity and MFA-enrollment reports).

A token grant records its identity and key here. So that a busy token endpoint does not write
on every grant, one process records an entity at most once a minute (IBM's activity data is
itself not real time); `authn_count` counts the recorded authentications, not every grant.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from .. import formats
from .base import StoreBase
from .records import (
    ApiKey,
    ServiceId,
    User,
    api_key_from_row,
    service_id_from_row,
    user_from_row,
)

RECORD_EVERY = 60  # seconds between two records of one entity by one process
REPORTS_KEPT = 20  # per account and kind; older ones are forgotten


@dataclass(frozen=True)
class Activity:
    last_authn: int
    authn_count: int


@dataclass(frozen=True)
class StoredReport:
    reference: str
    account_id: str
    kind: str
    ready: bool
    body: dict[str, Any]


class ActivityStore(StoreBase):
    TABLES = """
    CREATE TABLE IF NOT EXISTS activity (
        entity_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, last_authn INTEGER NOT NULL,
        authn_count INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS activity_account ON activity(account_id);
    CREATE TABLE IF NOT EXISTS reports (
        reference TEXT PRIMARY KEY, account_id TEXT NOT NULL, kind TEXT NOT NULL,
        ready INTEGER NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS reports_account ON reports(account_id, kind, created_at);
    """

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._recorded: dict[str, float] = {}
        self._recorded_lock = threading.Lock()

    def note_authentication(self, account_id: str, *entity_ids: str | None) -> None:
        """Record that ENTITY_IDS (an identity's IAM ID, an API key's ID) authenticated now."""
        now = time.monotonic()
        due = []
        with self._recorded_lock:
            for entity in entity_ids:
                if entity and now - self._recorded.get(entity, -RECORD_EVERY) >= RECORD_EVERY:
                    self._recorded[entity] = now
                    due.append(entity)
            if len(self._recorded) > 100_000:
                self._recorded.clear()
        if not due:
            return
        t = formats.now()
        with self._tx() as db:
            for entity in due:
                db.execute(
                    "INSERT INTO activity VALUES (?, ?, ?, 1) ON CONFLICT(entity_id) DO UPDATE"
                    " SET last_authn = excluded.last_authn, authn_count = authn_count + 1",
                    (entity, account_id, t),
                )

    def activity(self, entity_id: str) -> Activity | None:
        row = self._one("SELECT * FROM activity WHERE entity_id = ?", (entity_id,))
        return None if row is None else Activity(row["last_authn"], row["authn_count"])

    def account_activity(self, account_id: str) -> dict[str, int]:
        rows = self._all(
            "SELECT entity_id, last_authn FROM activity WHERE account_id = ?", (account_id,)
        )
        return {r["entity_id"]: r["last_authn"] for r in rows}

    # -- what a report lists -------------------------------------------------------------

    def account_users(self, account_id: str) -> list[User]:
        rows = self._all(
            "SELECT * FROM users WHERE account_id = ? ORDER BY created_at", (account_id,)
        )
        return [user_from_row(r) for r in rows]

    def account_service_ids(self, account_id: str) -> list[ServiceId]:
        rows = self._all(
            "SELECT * FROM service_ids WHERE account_id = ? ORDER BY created_at", (account_id,)
        )
        return [service_id_from_row(r) for r in rows]

    def account_api_keys(self, account_id: str) -> list[ApiKey]:
        rows = self._all(
            "SELECT * FROM api_keys WHERE account_id = ? ORDER BY created_at", (account_id,)
        )
        return [api_key_from_row(r) for r in rows]

    # -- reports ---------------------------------------------------------------------------

    def add_report(self, account_id: str, kind: str, body: dict[str, Any]) -> str:
        reference = secrets.token_hex(16)
        with self._tx() as db:
            db.execute(
                "INSERT INTO reports VALUES (?, ?, ?, 0, ?, ?)",
                (
                    reference,
                    account_id,
                    kind,
                    json.dumps({**body, "reference": reference}),
                    formats.now(),
                ),
            )
            db.execute(
                "DELETE FROM reports WHERE account_id = ? AND kind = ? AND reference NOT IN"
                " (SELECT reference FROM reports WHERE account_id = ? AND kind = ?"
                " ORDER BY created_at DESC, rowid DESC LIMIT ?)",
                (account_id, kind, account_id, kind, REPORTS_KEPT),
            )
        return reference

    def read_report(self, account_id: str, kind: str, reference: str) -> StoredReport | None:
        """The report; the first read of a new one finds it not ready (IBM answers 204 while a
        report is being made) and makes it ready for the next."""
        with self._tx() as db:
            if reference == "latest":
                # The newest finished report; while none is, the newest one being made (a 204),
                # as IBM's examples read `latest` right after asking for their first report.
                row = db.execute(
                    "SELECT * FROM reports WHERE account_id = ? AND kind = ?"
                    " ORDER BY ready DESC, created_at DESC, rowid DESC LIMIT 1",
                    (account_id, kind),
                ).fetchone()
            else:
                row = db.execute(
                    "SELECT * FROM reports WHERE reference = ? AND account_id = ? AND kind = ?",
                    (reference, account_id, kind),
                ).fetchone()
            if row is None:
                return None
            if not row["ready"]:
                db.execute("UPDATE reports SET ready = 1 WHERE reference = ?", (row["reference"],))
        return StoredReport(
            row["reference"],
            row["account_id"],
            row["kind"],
            bool(row["ready"]),
            json.loads(row["body"]),
        )
