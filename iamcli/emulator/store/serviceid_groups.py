"""Service ID groups (IBM's `/v1/serviceid_groups`): named sets of service IDs in one account.

A service ID joins a group when it is created (IBM's create takes `group_id`, its update does
not) and leaves it only by being deleted; one without a group is in IBM's default group. The
membership is a table of its own rather than a column of `service_ids`, so that databases made
before it need no migration. A group with members cannot be deleted (409): IBM's reference
is silent, and deleting it would leave its service IDs in no group at all.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass

from .. import formats
from .base import StoreBase
from .limits import check_limit
from .records import Conflict, Invalid, NotFound, StaleVersion, check_text, entity_tag

# Names IBM's default group in a service-ID listing (the members of no other group).
DEFAULT_GROUP = ""


@dataclass(frozen=True)
class ServiceIdGroup:
    id: str
    account_id: str
    name: str
    description: str | None
    version: int
    created_at: int
    modified_at: int
    created_by: str

    @property
    def entity_tag(self) -> str:
        return entity_tag(self.id, self.version, self.modified_at)


def _group(row: sqlite3.Row) -> ServiceIdGroup:
    return ServiceIdGroup(
        id=row["id"],
        account_id=row["account_id"],
        name=row["name"],
        description=row["description"],
        version=row["version"],
        created_at=row["created_at"],
        modified_at=row["modified_at"],
        created_by=row["created_by"],
    )


class ServiceIdGroupStore(StoreBase):
    TABLES = """
    CREATE TABLE IF NOT EXISTS serviceid_groups (
        id TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
        version INTEGER NOT NULL, created_at INTEGER NOT NULL, modified_at INTEGER NOT NULL,
        created_by TEXT NOT NULL, UNIQUE (account_id, name));
    CREATE TABLE IF NOT EXISTS serviceid_group_members (
        service_id TEXT PRIMARY KEY REFERENCES service_ids(id) ON DELETE CASCADE,
        group_id TEXT NOT NULL REFERENCES serviceid_groups(id), account_id TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS serviceid_group_members_group
        ON serviceid_group_members(group_id);
    """

    def create_serviceid_group(
        self, *, account_id: str, name: str, description: str | None, created_by: str
    ) -> ServiceIdGroup:
        check_text(name, description)
        if not name.strip():
            raise Invalid("name must not be empty")
        gid = f"ServiceIdGroup-{uuid.uuid4()}"
        t = formats.now()
        try:
            with self._tx() as db:
                check_limit(db, account_id, "serviceid_groups")
                db.execute(
                    "INSERT INTO serviceid_groups VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
                    (gid, account_id, name, description, t, t, created_by),
                )
        except sqlite3.IntegrityError:
            # IBM: "Name of the service ID group. Unique in the account."
            raise Conflict(f"A service ID group named {name[:100]!r} already exists") from None
        return self.serviceid_group(gid)  # type: ignore[return-value]

    def serviceid_group(self, gid: str) -> ServiceIdGroup | None:
        row = self._one("SELECT * FROM serviceid_groups WHERE id = ?", (gid,))
        return None if row is None else _group(row)

    def list_serviceid_groups(self, account_id: str) -> list[ServiceIdGroup]:
        rows = self._all(
            "SELECT * FROM serviceid_groups WHERE account_id = ? ORDER BY created_at, rowid",
            (account_id,),
        )
        return [_group(r) for r in rows]

    def count_serviceid_groups(self, account_id: str) -> int:
        row = self._one(
            "SELECT COUNT(*) AS n FROM serviceid_groups WHERE account_id = ?", (account_id,)
        )
        return 0 if row is None else int(row["n"])

    def update_serviceid_group(
        self, gid: str, *, if_match: str, name: str, description: str | None
    ) -> ServiceIdGroup:
        check_text(name, description)
        if not name.strip():
            raise Invalid("name must not be empty")
        try:
            with self._tx() as db:
                row = db.execute("SELECT * FROM serviceid_groups WHERE id = ?", (gid,)).fetchone()
                if row is None:
                    raise NotFound(f"Service ID group {gid[:100]} not found")
                current = _group(row)
                if if_match != "*" and if_match != current.entity_tag:
                    raise StaleVersion("The service ID group was changed since it was read")
                db.execute(
                    "UPDATE serviceid_groups SET name = ?, description = ?, version = version + 1,"
                    " modified_at = ? WHERE id = ?",
                    (name, description, formats.now(), gid),
                )
        except sqlite3.IntegrityError:
            raise Conflict(f"A service ID group named {name[:100]!r} already exists") from None
        return self.serviceid_group(gid)  # type: ignore[return-value]

    def delete_serviceid_group(self, gid: str) -> None:
        with self._tx() as db:
            members = db.execute(
                "SELECT COUNT(*) FROM serviceid_group_members WHERE group_id = ?", (gid,)
            ).fetchone()[0]
            if members:
                raise Conflict(
                    f"The service ID group {gid[:100]} still has {members} service IDs; "
                    "delete them first"
                )
            if db.execute("DELETE FROM serviceid_groups WHERE id = ?", (gid,)).rowcount == 0:
                raise NotFound(f"Service ID group {gid[:100]} not found")

    def serviceid_group_ids(self, sids: list[str]) -> dict[str, str]:
        """The group of each of SIDS that is not in the default group."""
        if not sids:
            return {}
        rows = self._all(
            "SELECT service_id, group_id FROM serviceid_group_members "
            f"WHERE service_id IN ({','.join('?' * len(sids))})",
            sids,
        )
        return {str(r["service_id"]): str(r["group_id"]) for r in rows}


def join_group(db: sqlite3.Connection, account_id: str, sid: str, gid: str) -> None:
    """Inside the transaction that creates service ID SID: make it a member of group GID,
    which must be in the same account (any other is answered as not found)."""
    row = db.execute("SELECT account_id FROM serviceid_groups WHERE id = ?", (gid,)).fetchone()
    if row is None or row["account_id"] != account_id:
        raise NotFound(f"Service ID group {gid[:100]} not found")
    check_limit(db, account_id, "serviceids_per_group", gid)
    db.execute("INSERT INTO serviceid_group_members VALUES (?, ?, ?)", (sid, gid, account_id))


def in_group_sql(gid: str | None) -> tuple[str, list[str]]:
    """A WHERE clause on service_ids for the members of GID; None: of the default group."""
    if gid is None:
        # Correlated on the member table's key: one lookup per row, never a walk of it.
        return (
            "NOT EXISTS (SELECT 1 FROM serviceid_group_members m "
            "WHERE m.service_id = service_ids.id)",
            [],
        )
    return "id IN (SELECT service_id FROM serviceid_group_members WHERE group_id = ?)", [gid]


def keys_in_group_sql(gid: str | None) -> str:
    """A WHERE clause on api_keys for the keys of service IDs in GID (one `?`); None: of the
    service IDs in the default group (no parameter). A service ID's IAM ID is "iam-" + its ID."""
    if gid is None:
        return (
            "NOT EXISTS (SELECT 1 FROM serviceid_group_members m "
            "WHERE m.service_id = substr(api_keys.iam_id, 5))"
        )
    return (
        "substr(iam_id, 5) IN (SELECT service_id FROM serviceid_group_members WHERE group_id = ?)"
    )
