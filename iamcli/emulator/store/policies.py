"""Access policies and custom roles, and the per-account generation the decision engine reads.

A policy is kept as the body its API version was given (v1 `subjects/roles/resources`, v2
`control/subject/resource/pattern/rule`), so that each API answers with what it was sent; the
engine's view of it (authz.policies.grant_of) is derived on read. Timestamps are milliseconds:
the Policy API writes them with milliseconds, unlike the Identity API.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ..authz import AccountFacts
from ..authz.policies import grant_of
from .base import StoreBase
from .records import Conflict, NotFound, StaleVersion, entity_tag


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class PolicyRow:
    id: str
    account_id: str
    api: str  # "v1" or "v2": the API that last wrote it
    type: str
    body: dict[str, Any]
    state: str
    version: int
    created_at: int  # ms
    created_by: str
    modified_at: int  # ms
    modified_by: str

    @property
    def entity_tag(self) -> str:
        return entity_tag(self.id, self.version, self.modified_at)


@dataclass(frozen=True)
class CustomRoleRow:
    id: str
    account_id: str
    name: str
    display_name: str
    description: str | None
    service_name: str
    actions: tuple[str, ...]
    crn: str
    version: int
    created_at: int
    created_by: str
    modified_at: int
    modified_by: str

    @property
    def entity_tag(self) -> str:
        return entity_tag(self.id, self.version, self.modified_at)


def _policy(row: sqlite3.Row) -> PolicyRow:
    return PolicyRow(
        row["id"],
        row["account_id"],
        row["api"],
        row["type"],
        json.loads(row["body"]),
        row["state"],
        row["version"],
        row["created_at"],
        row["created_by"],
        row["modified_at"],
        row["modified_by"],
    )


def _role(row: sqlite3.Row) -> CustomRoleRow:
    return CustomRoleRow(
        row["id"],
        row["account_id"],
        row["name"],
        row["display_name"],
        row["description"],
        row["service_name"],
        tuple(json.loads(row["actions"])),
        row["crn"],
        row["version"],
        row["created_at"],
        row["created_by"],
        row["modified_at"],
        row["modified_by"],
    )


def _bump(db: sqlite3.Connection, account_id: str) -> None:
    db.execute(
        "INSERT INTO authz_generations VALUES (?, 1) "
        "ON CONFLICT(account_id) DO UPDATE SET generation = generation + 1",
        (account_id,),
    )


def _subject_iam_id(body: dict[str, Any]) -> str | None:
    if "subjects" in body:
        attrs = (body.get("subjects") or [{}])[0].get("attributes") or []
        return next((a.get("value") for a in attrs if a.get("name") == "iam_id"), None)
    attrs = (body.get("subject") or {}).get("attributes") or []
    return next((a.get("value") for a in attrs if a.get("key") == "iam_id"), None)


class PolicyStore(StoreBase):
    TABLES = """
CREATE TABLE IF NOT EXISTS policies (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, api TEXT NOT NULL, type TEXT NOT NULL,
    body TEXT NOT NULL, subject_iam_id TEXT, state TEXT NOT NULL, version INTEGER NOT NULL,
    created_at INTEGER NOT NULL, created_by TEXT NOT NULL, modified_at INTEGER NOT NULL,
    modified_by TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS policies_account ON policies(account_id, state);
CREATE TABLE IF NOT EXISTS custom_roles (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL,
    display_name TEXT NOT NULL, description TEXT, service_name TEXT NOT NULL,
    actions TEXT NOT NULL, crn TEXT NOT NULL UNIQUE, version INTEGER NOT NULL,
    created_at INTEGER NOT NULL, created_by TEXT NOT NULL, modified_at INTEGER NOT NULL,
    modified_by TEXT NOT NULL, UNIQUE (account_id, service_name, name));
CREATE TABLE IF NOT EXISTS authz_generations (
    account_id TEXT PRIMARY KEY, generation INTEGER NOT NULL);
"""

    # -- what the decision engine reads -----------------------------------------------------

    def authz_generation(self, account_id: str) -> int:
        row = self._one(
            "SELECT generation FROM authz_generations WHERE account_id = ?", (account_id,)
        )
        return 0 if row is None else int(row["generation"])

    def account_owner(self, account_id: str) -> str | None:
        # The owner is the administrator the account was created with: its first user.
        row = self._one(
            "SELECT iam_id FROM users WHERE account_id = ? ORDER BY created_at, rowid LIMIT 1",
            (account_id,),
        )
        return None if row is None else str(row["iam_id"])

    def authz_facts(self, account_id: str) -> AccountFacts:
        with self._lock:
            owner = self.account_owner(account_id)
            rows = self._all(
                "SELECT id, body FROM policies WHERE account_id = ? AND state = 'active' "
                "AND type = 'access'",
                (account_id,),
            )
            roles = self._all(
                "SELECT crn, actions FROM custom_roles WHERE account_id = ?", (account_id,)
            )
        grants = tuple(
            g for g in (grant_of(r["id"], json.loads(r["body"])) for r in rows) if g is not None
        )
        custom = {r["crn"]: frozenset(json.loads(r["actions"])) for r in roles}
        return AccountFacts(owner, grants, custom)

    def _identity_deleted(self, db: sqlite3.Connection, account_id: str, iam_id: str) -> None:
        # IBM removes a deleted identity's access policies with it; here they are soft-deleted
        # (state=deleted lists them) and grant nothing.
        changed = db.execute(
            "UPDATE policies SET state = 'deleted', version = version + 1, modified_at = ? "
            "WHERE account_id = ? AND subject_iam_id = ? AND state = 'active'",
            (now_ms(), account_id, iam_id),
        ).rowcount
        if changed:
            _bump(db, account_id)
        super()._identity_deleted(db, account_id, iam_id)

    # -- policies ---------------------------------------------------------------------------

    def create_policy(
        self, *, account_id: str, api: str, body: dict[str, Any], created_by: str
    ) -> PolicyRow:
        pid = str(uuid.uuid4())
        t = now_ms()
        with self._tx() as db:
            db.execute(
                "INSERT INTO policies VALUES (?, ?, ?, ?, ?, ?, 'active', 1, ?, ?, ?, ?)",
                (
                    pid,
                    account_id,
                    api,
                    body["type"],
                    json.dumps(body),
                    _subject_iam_id(body),
                    t,
                    created_by,
                    t,
                    created_by,
                ),
            )
            _bump(db, account_id)
        return self.policy(pid)  # type: ignore[return-value]

    def policy(self, pid: str) -> PolicyRow | None:
        row = self._one("SELECT * FROM policies WHERE id = ?", (pid,))
        return None if row is None else _policy(row)

    def list_policies(self, account_id: str, *, state: str = "active") -> list[PolicyRow]:
        return [
            _policy(r)
            for r in self._all(
                "SELECT * FROM policies WHERE account_id = ? AND state = ? ORDER BY created_at, "
                "rowid",
                (account_id, state),
            )
        ]

    def _current_policy(self, db: sqlite3.Connection, pid: str, if_match: str | None) -> PolicyRow:
        row = db.execute("SELECT * FROM policies WHERE id = ?", (pid,)).fetchone()
        if row is None:
            raise NotFound(f"Policy {pid[:100]} not found")
        current = _policy(row)
        if if_match is not None and if_match not in ("*", current.entity_tag):
            raise StaleVersion("The If-Match value is not the policy's current ETag")
        return current

    def replace_policy(
        self, pid: str, *, if_match: str, api: str, body: dict[str, Any], modified_by: str
    ) -> PolicyRow:
        with self._tx() as db:
            current = self._current_policy(db, pid, if_match)
            if current.state != "active":
                raise NotFound(f"Policy {pid[:100]} is deleted; restore it before replacing it")
            if body["type"] != current.type:
                raise Conflict("A policy's type cannot be changed")
            db.execute(
                "UPDATE policies SET api = ?, body = ?, subject_iam_id = ?, version = version + 1, "
                "modified_at = ?, modified_by = ? WHERE id = ?",
                (api, json.dumps(body), _subject_iam_id(body), now_ms(), modified_by, pid),
            )
            _bump(db, current.account_id)
        return self.policy(pid)  # type: ignore[return-value]

    def set_policy_state(
        self, pid: str, state: str, *, if_match: str | None, modified_by: str
    ) -> PolicyRow:
        with self._tx() as db:
            current = self._current_policy(db, pid, if_match)
            if current.state == state and state == "deleted":
                raise NotFound(f"Policy {pid[:100]} not found")
            db.execute(
                "UPDATE policies SET state = ?, version = version + 1, modified_at = ?, "
                "modified_by = ? WHERE id = ?",
                (state, now_ms(), modified_by, pid),
            )
            _bump(db, current.account_id)
        return self.policy(pid)  # type: ignore[return-value]

    # -- custom roles -----------------------------------------------------------------------

    def create_custom_role(
        self,
        *,
        account_id: str,
        name: str,
        display_name: str,
        description: str | None,
        service_name: str,
        actions: list[str],
        created_by: str,
    ) -> CustomRoleRow:
        rid = uuid.uuid4().hex
        crn = f"crn:v1:bluemix:public:iam-access-management::a/{account_id}::customRole:{name}"
        t = now_ms()
        with self._tx() as db:
            clash = db.execute(
                "SELECT 1 FROM custom_roles WHERE account_id = ? AND (name = ? OR "
                "(service_name = ? AND display_name = ?))",
                (account_id, name, service_name, display_name),
            ).fetchone()
            if clash is not None:
                raise Conflict("A custom role with this name or display name already exists")
            db.execute(
                "INSERT INTO custom_roles VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                (
                    rid,
                    account_id,
                    name,
                    display_name,
                    description,
                    service_name,
                    json.dumps(actions),
                    crn,
                    t,
                    created_by,
                    t,
                    created_by,
                ),
            )
            _bump(db, account_id)
        return self.custom_role(rid)  # type: ignore[return-value]

    def custom_role(self, rid: str) -> CustomRoleRow | None:
        row = self._one("SELECT * FROM custom_roles WHERE id = ?", (rid,))
        return None if row is None else _role(row)

    def custom_role_by_crn(self, crn: str) -> CustomRoleRow | None:
        row = self._one("SELECT * FROM custom_roles WHERE crn = ?", (crn,))
        return None if row is None else _role(row)

    def list_custom_roles(
        self, account_id: str, *, service_name: str | None = None
    ) -> list[CustomRoleRow]:
        sql, params = "SELECT * FROM custom_roles WHERE account_id = ?", [account_id]
        if service_name is not None:
            sql += " AND service_name = ?"
            params.append(service_name)
        return [_role(r) for r in self._all(sql + " ORDER BY created_at, rowid", params)]

    def replace_custom_role(
        self,
        rid: str,
        *,
        if_match: str,
        display_name: str,
        description: str | None,
        actions: list[str],
        modified_by: str,
    ) -> CustomRoleRow:
        with self._tx() as db:
            row = db.execute("SELECT * FROM custom_roles WHERE id = ?", (rid,)).fetchone()
            if row is None:
                raise NotFound(f"Role {rid[:100]} not found")
            current = _role(row)
            if if_match not in ("*", current.entity_tag):
                raise StaleVersion("The If-Match value is not the role's current ETag")
            db.execute(
                "UPDATE custom_roles SET display_name = ?, description = ?, actions = ?, "
                "version = version + 1, modified_at = ?, modified_by = ? WHERE id = ?",
                (display_name, description, json.dumps(actions), now_ms(), modified_by, rid),
            )
            _bump(db, current.account_id)
        return self.custom_role(rid)  # type: ignore[return-value]

    def delete_custom_role(self, rid: str) -> None:
        with self._tx() as db:
            row = db.execute("SELECT account_id FROM custom_roles WHERE id = ?", (rid,)).fetchone()
            if row is None:
                raise NotFound(f"Role {rid[:100]} not found")
            db.execute("DELETE FROM custom_roles WHERE id = ?", (rid,))
            _bump(db, row["account_id"])
