"""Service IDs."""

from __future__ import annotations

import json
import sqlite3

from .. import formats
from .base import StoreBase, filter_sql
from .limits import check_limit
from .records import (
    SERVICE_ID_SORTS,
    Invalid,
    Locked,
    NotFound,
    Page,
    ServiceId,
    StaleVersion,
    check_text,
    service_id_from_row,
)
from .serviceid_groups import in_group_sql, join_group


class ServiceIdStore(StoreBase):
    def create_service_id(
        self,
        *,
        account_id: str,
        name: str,
        description: str | None,
        namespace: str = "default",
        locked: bool = False,
        unique_instance_crns: list[str] | None = None,
        created_by: str,
        entity_id: str | None = None,
        group_id: str | None = None,
    ) -> ServiceId:
        """A new service ID, in GROUP_ID or else the default group; `entity_id` is for
        seeding a database with known IDs."""
        check_text(name, description)
        if not name.strip():
            raise Invalid("name must not be empty")
        sid = entity_id or formats.new_service_id()
        t = formats.now()
        with self._tx() as db:
            check_limit(db, account_id, "serviceids")
            db.execute(
                "INSERT INTO service_ids VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                (
                    sid,
                    "iam-" + sid,
                    account_id,
                    name,
                    description,
                    namespace,
                    int(locked),
                    t,
                    t,
                    created_by,
                    json.dumps(unique_instance_crns or []),
                ),
            )
            if group_id is not None:
                join_group(db, account_id, sid, group_id)
        return self.service_id(sid)  # type: ignore[return-value]

    def service_id(self, sid: str) -> ServiceId | None:
        row = self._one("SELECT * FROM service_ids WHERE id = ?", (sid,))
        return None if row is None else service_id_from_row(row)

    def service_ids_of(self, account_id: str) -> list[ServiceId]:
        rows = self._all("SELECT * FROM service_ids WHERE account_id = ?", (account_id,))
        return [service_id_from_row(r) for r in rows]

    def list_service_ids(
        self,
        account_id: str,
        *,
        name: str | None = None,
        namespace: str | None = None,
        ids: list[str] | None = None,
        group_id: str | None = None,
        filter_expr: str | None = None,
        sort: str | None = None,
        descending: bool = False,
        offset: int = 0,
        limit: int = 20,
    ) -> Page:
        where, params = ["account_id = ?"], [account_id]
        if name is not None:
            where.append("name = ?")
            params.append(name)
        if namespace is not None:
            where.append("namespace = ?")
            params.append(namespace)
        if ids is not None:
            # Only these (the ones an access check let through); none matches nothing.
            where.append(f"id IN ({','.join('?' * len(ids)) or 'NULL'})")
            params.extend(ids)
        if group_id is not None:
            # DEFAULT_GROUP ("") names IBM's default group: the service IDs in no other.
            clause, extra = in_group_sql(group_id or None)
            where.append(clause)
            params.extend(extra)
        if filter_expr:
            clause, extra = filter_sql(filter_expr)
            where.append(clause)
            params.extend(extra)
        rows = self._page(
            "service_ids", where, params, sort, SERVICE_ID_SORTS, descending, offset, limit
        )
        return Page([service_id_from_row(r) for r in rows[:limit]], offset, len(rows) > limit)

    def update_service_id(
        self,
        sid: str,
        *,
        if_match: str | None,
        name: str | None = None,
        description: str | None = None,
        unique_instance_crns: list[str] | None = None,
    ) -> ServiceId:
        check_text(name, description)
        if name is not None and not name.strip():
            raise Invalid("name must not be empty")
        with self._tx() as db:
            current = self._current_service_id(db, sid, if_match)
            crns = (
                current.unique_instance_crns
                if unique_instance_crns is None
                else (unique_instance_crns)
            )
            db.execute(
                "UPDATE service_ids SET name = ?, description = ?, unique_instance_crns = ?, "
                "version = version + 1, modified_at = ? WHERE id = ?",
                (
                    current.name if name is None else name,
                    current.description if description is None else description,
                    json.dumps(list(crns)),
                    formats.now(),
                    sid,
                ),
            )
        return self.service_id(sid)  # type: ignore[return-value]

    def delete_service_id(self, sid: str) -> None:
        with self._tx() as db:
            current = self._current_service_id(db, sid, None)
            # Its keys go first, as IBM deletes them first; then every grant it holds.
            db.execute("DELETE FROM api_keys WHERE iam_id = ?", (current.iam_id,))
            db.execute("DELETE FROM refresh_tokens WHERE iam_id = ?", (current.iam_id,))
            db.execute("DELETE FROM access_tokens WHERE iam_id = ?", (current.iam_id,))
            # No profile trusts a service ID that is gone (a new one never has its IAM ID).
            db.execute(
                "UPDATE profiles SET identities_version = identities_version + 1 WHERE id IN "
                "(SELECT profile_id FROM profile_identities WHERE iam_id = ?)",
                (current.iam_id,),
            )
            db.execute("DELETE FROM profile_identities WHERE iam_id = ?", (current.iam_id,))
            db.execute("DELETE FROM service_ids WHERE id = ?", (sid,))
            self._identity_deleted(db, current.account_id, current.iam_id)

    def set_service_id_locked(self, sid: str, locked: bool) -> ServiceId:
        with self._tx() as db:
            if db.execute("SELECT 1 FROM service_ids WHERE id = ?", (sid,)).fetchone() is None:
                raise NotFound(f"Service ID {sid} not found")
            db.execute(
                "UPDATE service_ids SET locked = ?, version = version + 1, modified_at = ? "
                "WHERE id = ?",
                (int(locked), formats.now(), sid),
            )
        return self.service_id(sid)  # type: ignore[return-value]

    def _current_service_id(
        self, db: sqlite3.Connection, sid: str, if_match: str | None
    ) -> ServiceId:
        row = db.execute("SELECT * FROM service_ids WHERE id = ?", (sid,)).fetchone()
        if row is None:
            raise NotFound(f"Service ID {sid} not found")
        current = service_id_from_row(row)
        if current.locked:
            raise Locked(f"Service ID {sid} is locked")
        if if_match not in (None, "*") and if_match != current.entity_tag:
            raise StaleVersion(
                f"Service ID {sid} was changed by someone else (version {current.entity_tag})"
            )
        return current
