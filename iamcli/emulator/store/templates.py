"""Enterprise templates and their assignments (IBM's `/v1/account_settings_templates`,
`/v1/account_settings_assignments`, and the same machinery for trusted-profile templates).

A template lives in an enterprise account, in numbered versions; a version is edited until it
is committed, and only a committed version can be assigned to a child account. An assignment
is asynchronous at IBM (202, then `accepted` → `in_progress` → `succeeded`/`failed`). Here the
work is done by the first read after the request (see `settle`), so that every worker of a
multi-process server sees the same outcome and nothing runs in the background.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from .. import formats
from .base import StoreBase
from .limits import check_limit
from .records import Conflict, Invalid, NotFound, StaleVersion, entity_tag


@dataclass(frozen=True)
class Template:
    kind: str
    id: str
    version: int
    account_id: str
    name: str
    description: str | None
    committed: bool
    body: dict[str, Any]
    rev: int
    created_at: int
    created_by: str
    modified_at: int
    modified_by: str
    history: list[dict[str, Any]]

    @property
    def entity_tag(self) -> str:
        return entity_tag(f"{self.id}/{self.version}", self.rev, self.modified_at)


@dataclass(frozen=True)
class Assignment:
    kind: str
    id: str
    account_id: str
    template_id: str
    template_version: int
    target_type: str
    target: str
    # accepted | in_progress | succeeded | failed; `pending` names the work the next read does
    # ("apply", "remove" or ""), see settle().
    status: str
    pending: str
    resources: list[dict[str, Any]]
    rev: int
    created_at: int
    created_by: str
    modified_at: int
    modified_by: str
    history: list[dict[str, Any]]

    @property
    def entity_tag(self) -> str:
        return entity_tag(self.id, self.rev, self.modified_at)


def _history(action: str, by: str, account_id: str, message: str) -> dict[str, Any]:
    return {
        "timestamp": formats.ibm_time(formats.now()),
        "iam_id": by,
        "iam_id_account": account_id,
        "action": action,
        "params": [],
        "message": message,
    }


def _rename(
    db: sqlite3.Connection, kind: str, template_id: str, account_id: str, name: str
) -> None:
    """IBM: a name sent with a version is the name of every version of the template."""
    clash = db.execute(
        "SELECT 1 FROM templates WHERE kind = ? AND account_id = ? AND name = ? AND id != ?",
        (kind, account_id, name, template_id),
    ).fetchone()
    if clash is not None:
        raise Conflict(f"A template named {name[:100]!r} already exists")
    db.execute(
        "UPDATE templates SET name = ? WHERE id = ? AND name != ?", (name, template_id, name)
    )


def _template(row: sqlite3.Row) -> Template:
    return Template(
        kind=row["kind"],
        id=row["id"],
        version=row["version"],
        account_id=row["account_id"],
        name=row["name"],
        description=row["description"],
        committed=bool(row["committed"]),
        body=json.loads(row["body"]),
        rev=row["rev"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        modified_at=row["modified_at"],
        modified_by=row["modified_by"],
        history=json.loads(row["history"]),
    )


def _assignment(row: sqlite3.Row) -> Assignment:
    return Assignment(
        kind=row["kind"],
        id=row["id"],
        account_id=row["account_id"],
        template_id=row["template_id"],
        template_version=row["template_version"],
        target_type=row["target_type"],
        target=row["target"],
        status=row["status"],
        pending=row["pending"],
        resources=json.loads(row["resources"]),
        rev=row["rev"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        modified_at=row["modified_at"],
        modified_by=row["modified_by"],
        history=json.loads(row["history"]),
    )


def _settings_resources(template: Template, assignment: Assignment) -> list[dict[str, Any]]:
    target = assignment.target
    # An account settings template takes effect through the target's effective settings
    # (cloud/account_settings.py reads the settled assignments): nothing else is written.
    return [
        {
            "target": target,
            "account_settings": {
                "id": template.id,
                "version": str(template.version),
                "resource_created": {"id": target},
                "status": "succeeded",
            },
        }
    ]


# What an assignment does to its target, per template kind: given the store, the template
# version and the assignment, apply it (returning the resources it made) or remove it.
Applier = Callable[
    ["TemplateStore", sqlite3.Connection, Template, Assignment], list[dict[str, Any]]
]
Remover = Callable[["TemplateStore", sqlite3.Connection, Assignment], None]


class TemplateStore(StoreBase):
    TABLES = """
    CREATE TABLE IF NOT EXISTS enterprise_children (
        account_id TEXT PRIMARY KEY, enterprise_id TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS templates (
        kind TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
        account_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
        committed INTEGER NOT NULL, body TEXT NOT NULL, rev INTEGER NOT NULL,
        created_at INTEGER NOT NULL, created_by TEXT NOT NULL, modified_at INTEGER NOT NULL,
        modified_by TEXT NOT NULL, history TEXT NOT NULL, PRIMARY KEY (id, version));
    CREATE INDEX IF NOT EXISTS templates_account ON templates(kind, account_id);
    CREATE TABLE IF NOT EXISTS assignments (
        kind TEXT NOT NULL, id TEXT PRIMARY KEY, account_id TEXT NOT NULL,
        template_id TEXT NOT NULL, template_version INTEGER NOT NULL,
        target_type TEXT NOT NULL, target TEXT NOT NULL, status TEXT NOT NULL,
        pending TEXT NOT NULL, resources TEXT NOT NULL, rev INTEGER NOT NULL,
        created_at INTEGER NOT NULL, created_by TEXT NOT NULL, modified_at INTEGER NOT NULL,
        modified_by TEXT NOT NULL, history TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS assignments_template ON assignments(template_id);
    CREATE INDEX IF NOT EXISTS assignments_target ON assignments(target);
    """

    # Per kind, what settling an assignment does to its target.
    appliers: ClassVar[dict[str, tuple[Applier, Remover]]] = {
        "account_settings": (
            lambda store, db, template, assignment: _settings_resources(template, assignment),
            lambda store, db, assignment: None,
        ),
    }

    # -- the enterprise --------------------------------------------------------------------

    def add_child_account(self, enterprise_id: str, child_id: str) -> None:
        """Make CHILD_ID (created when missing) a child account of ENTERPRISE_ID."""
        if not formats.ACCOUNT_ID_RE.match(child_id):
            raise Invalid("account ID must be 1-64 characters of [A-Za-z0-9_-]")
        if child_id == enterprise_id:
            raise Invalid("an account cannot be its own child")
        with self._tx() as db:
            if (
                db.execute("SELECT 1 FROM accounts WHERE id = ?", (enterprise_id,)).fetchone()
                is None
            ):
                raise NotFound(f"Account {enterprise_id[:64]} not found")
            db.execute(
                "INSERT OR IGNORE INTO accounts VALUES (?, ?, ?)",
                (child_id, f"Account {child_id[:8]}", formats.now()),
            )
            row = db.execute(
                "SELECT enterprise_id FROM enterprise_children WHERE account_id = ?", (child_id,)
            ).fetchone()
            if row is not None and row["enterprise_id"] != enterprise_id:
                raise Conflict(f"Account {child_id} is a child of another enterprise")
            db.execute(
                "INSERT OR IGNORE INTO enterprise_children VALUES (?, ?)", (child_id, enterprise_id)
            )

    def enterprise_of(self, account_id: str) -> str | None:
        row = self._one(
            "SELECT enterprise_id FROM enterprise_children WHERE account_id = ?", (account_id,)
        )
        return None if row is None else str(row["enterprise_id"])

    # -- templates ---------------------------------------------------------------------------

    def create_template(
        self,
        kind: str,
        *,
        account_id: str,
        name: str,
        description: str | None,
        body: dict[str, Any],
        by: str,
        template_id: str | None = None,
    ) -> Template:
        """A new template (version 1), or with TEMPLATE_ID, its next version."""
        t = formats.now()
        with self._tx() as db:
            if template_id is None:
                clash = db.execute(
                    "SELECT 1 FROM templates WHERE kind = ? AND account_id = ? AND name = ?",
                    (kind, account_id, name),
                ).fetchone()
                if clash is not None:
                    raise Conflict(f"A template named {name[:100]!r} already exists")
                limit = "account_settings_templates"
                if kind != "account_settings":
                    limit = "profile_templates"
                check_limit(db, account_id, limit, kind=kind)
                prefix = (
                    "AccountSettingsTemplate" if kind == "account_settings" else "ProfileTemplate"
                )
                template_id, version = f"{prefix}-{uuid.uuid4()}", 1
            else:
                row = db.execute(
                    "SELECT MAX(version) AS v, COUNT(*) AS n, MIN(account_id) AS a FROM templates"
                    " WHERE kind = ? AND id = ?",
                    (kind, template_id),
                ).fetchone()
                if row is None or row["v"] is None:
                    raise NotFound(f"Template {template_id[:100]} not found")
                if row["a"] != account_id:
                    raise Invalid("A new version must stay in the template's account")
                check_limit(db, account_id, "template_versions_per_template", template_id)
                version = int(row["v"]) + 1
                _rename(db, kind, template_id, account_id, name)
            history = [_history("create", by, account_id, f"Version {version} created")]
            db.execute(
                "INSERT INTO templates VALUES (?, ?, ?, ?, ?, ?, 0, ?, 1, ?, ?, ?, ?, ?)",
                (
                    kind,
                    template_id,
                    version,
                    account_id,
                    name,
                    description,
                    json.dumps(body),
                    t,
                    by,
                    t,
                    by,
                    json.dumps(history),
                ),
            )
        return self.template(kind, template_id, version)  # type: ignore[return-value]

    def template(self, kind: str, template_id: str, version: int | None = None) -> Template | None:
        if version is None:
            row = self._one(
                "SELECT * FROM templates WHERE kind = ? AND id = ? ORDER BY version DESC LIMIT 1",
                (kind, template_id),
            )
        else:
            row = self._one(
                "SELECT * FROM templates WHERE kind = ? AND id = ? AND version = ?",
                (kind, template_id, version),
            )
        return None if row is None else _template(row)

    def list_templates(
        self, kind: str, account_id: str, *, template_id: str | None = None
    ) -> list[Template]:
        """The latest version of each template of the account, or every version of one."""
        if template_id is not None:
            rows = self._all(
                "SELECT * FROM templates WHERE kind = ? AND account_id = ? AND id = ?"
                " ORDER BY version",
                (kind, account_id, template_id),
            )
        else:
            rows = self._all(
                "SELECT * FROM templates t WHERE kind = ? AND account_id = ? AND version ="
                " (SELECT MAX(version) FROM templates u WHERE u.id = t.id) ORDER BY created_at",
                (kind, account_id),
            )
        return [_template(r) for r in rows]

    def update_template(
        self,
        kind: str,
        template_id: str,
        version: int,
        *,
        if_match: str,
        name: str | None,
        description: str | None,
        body: dict[str, Any] | None,
        by: str,
    ) -> Template:
        with self._tx() as db:
            current = self._template_in(db, kind, template_id, version)
            if if_match != "*" and if_match != current.entity_tag:
                raise StaleVersion("The template was changed since it was read")
            if current.committed:
                raise Conflict("A committed template version cannot be changed; create a version")
            if name is not None:
                _rename(db, kind, template_id, current.account_id, name)
            history = [*current.history, _history("update", by, current.account_id, "Updated")]
            db.execute(
                "UPDATE templates SET name = ?, description = ?, body = ?, rev = rev + 1,"
                " modified_at = ?, modified_by = ?, history = ? WHERE id = ? AND version = ?",
                (
                    name if name is not None else current.name,
                    description if description is not None else current.description,
                    json.dumps(body if body is not None else current.body),
                    formats.now(),
                    by,
                    json.dumps(history[-100:]),
                    template_id,
                    version,
                ),
            )
        return self.template(kind, template_id, version)  # type: ignore[return-value]

    def commit_template(self, kind: str, template_id: str, version: int, *, by: str) -> None:
        with self._tx() as db:
            current = self._template_in(db, kind, template_id, version)
            if current.committed:
                return  # committing twice changes nothing, as IBM's 204 suggests
            history = [*current.history, _history("commit", by, current.account_id, "Committed")]
            db.execute(
                "UPDATE templates SET committed = 1, rev = rev + 1, modified_at = ?,"
                " modified_by = ?, history = ? WHERE id = ? AND version = ?",
                (formats.now(), by, json.dumps(history[-100:]), template_id, version),
            )

    def delete_template(self, kind: str, template_id: str, version: int | None = None) -> None:
        """Delete one version, or every version; refused while an assignment uses it."""
        with self._tx() as db:
            self._template_in(db, kind, template_id, version)
            used = db.execute(
                "SELECT template_version FROM assignments WHERE template_id = ?", (template_id,)
            ).fetchall()
            if any(version is None or r["template_version"] == version for r in used):
                raise Conflict("The template is assigned; delete its assignments first")
            if version is None:
                db.execute("DELETE FROM templates WHERE id = ?", (template_id,))
            else:
                db.execute(
                    "DELETE FROM templates WHERE id = ? AND version = ?", (template_id, version)
                )

    def _template_in(
        self, db: sqlite3.Connection, kind: str, template_id: str, version: int | None
    ) -> Template:
        if version is None:
            row = db.execute(
                "SELECT * FROM templates WHERE kind = ? AND id = ? ORDER BY version DESC LIMIT 1",
                (kind, template_id),
            ).fetchone()
        else:
            row = db.execute(
                "SELECT * FROM templates WHERE kind = ? AND id = ? AND version = ?",
                (kind, template_id, version),
            ).fetchone()
        if row is None:
            raise NotFound(f"Template {template_id[:100]} version {version or ''} not found")
        return _template(row)

    # -- assignments -------------------------------------------------------------------------

    def create_assignment(
        self,
        kind: str,
        *,
        template_id: str,
        template_version: int,
        target_type: str,
        target: str,
        by: str,
    ) -> Assignment:
        t = formats.now()
        with self._tx() as db:
            template = self._template_in(db, kind, template_id, template_version)
            if not template.committed:
                raise Invalid("Only a committed template version can be assigned")
            self._check_target(db, template.account_id, target_type, target)
            clash = db.execute(
                "SELECT 1 FROM assignments WHERE template_id = ? AND target = ?",
                (template_id, target),
            ).fetchone()
            if clash is not None:
                raise Conflict("The template is already assigned to that target; update it")
            aid = f"TemplateAssignment-{uuid.uuid4()}"
            history = [_history("create", by, template.account_id, "Assignment created")]
            db.execute(
                "INSERT INTO assignments VALUES"
                " (?, ?, ?, ?, ?, ?, ?, 'accepted', 'apply', '[]', 1, ?, ?, ?, ?, ?)",
                (
                    kind,
                    aid,
                    template.account_id,
                    template_id,
                    template_version,
                    target_type,
                    target,
                    t,
                    by,
                    t,
                    by,
                    json.dumps(history),
                ),
            )
        return self._assignment_row(aid)  # type: ignore[return-value]

    def _check_target(
        self, db: sqlite3.Connection, enterprise_id: str, target_type: str, target: str
    ) -> None:
        if target_type != "Account":
            # IBM also assigns to account groups; this server has none.
            raise Invalid("Validation of property 'target_type' failed: only Account is supported")
        row = db.execute(
            "SELECT enterprise_id FROM enterprise_children WHERE account_id = ?", (target,)
        ).fetchone()
        if row is None or row["enterprise_id"] != enterprise_id:
            raise Invalid(f"Account {target[:64]} is not a child account of this enterprise")

    def _assignment_row(self, aid: str) -> Assignment | None:
        row = self._one("SELECT * FROM assignments WHERE id = ?", (aid,))
        return None if row is None else _assignment(row)

    def assignment(self, kind: str, aid: str) -> Assignment | None:
        """The assignment, after the work its last request asked for (None once deleted)."""
        self.settle(aid)
        found = self._assignment_row(aid)
        return found if found is not None and found.kind == kind else None

    def list_assignments(
        self,
        kind: str,
        account_id: str,
        *,
        template_id: str | None = None,
        template_version: int | None = None,
        target: str | None = None,
    ) -> list[Assignment]:
        where, params = ["kind = ?", "account_id = ?"], [kind, account_id]
        for column, value in (
            ("template_id", template_id),
            ("template_version", template_version),
            ("target", target),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)  # type: ignore[arg-type]
        ids = [
            r["id"]
            for r in self._all(
                f"SELECT id FROM assignments WHERE {' AND '.join(where)} ORDER BY created_at",
                params,
            )
        ]
        found = [self.assignment(kind, aid) for aid in ids]
        return [a for a in found if a is not None]

    def update_assignment(
        self, kind: str, aid: str, *, if_match: str, template_version: int, by: str
    ) -> Assignment:
        self.settle(aid)
        with self._tx() as db:
            row = db.execute("SELECT * FROM assignments WHERE id = ?", (aid,)).fetchone()
            if row is None or row["kind"] != kind:
                raise NotFound(f"Assignment {aid[:100]} not found")
            current = _assignment(row)
            if if_match != "*" and if_match != current.entity_tag:
                raise StaleVersion("The assignment was changed since it was read")
            template = self._template_in(db, kind, current.template_id, template_version)
            if not template.committed:
                raise Invalid("Only a committed template version can be assigned")
            # Checked again: what was a child when assigned must still be one to be written to.
            self._check_target(db, current.account_id, current.target_type, current.target)
            history = [
                *current.history,
                _history("update", by, current.account_id, f"Version {template_version}"),
            ]
            db.execute(
                "UPDATE assignments SET template_version = ?, status = 'accepted',"
                " pending = 'apply', rev = rev + 1, modified_at = ?, modified_by = ?,"
                " history = ? WHERE id = ?",
                (template_version, formats.now(), by, json.dumps(history[-100:]), aid),
            )
        return self._assignment_row(aid)  # type: ignore[return-value]

    def delete_assignment(self, kind: str, aid: str, *, by: str) -> Assignment:
        self.settle(aid)
        with self._tx() as db:
            row = db.execute("SELECT * FROM assignments WHERE id = ?", (aid,)).fetchone()
            if row is None or row["kind"] != kind:
                raise NotFound(f"Assignment {aid[:100]} not found")
            current = _assignment(row)
            history = [*current.history, _history("delete", by, current.account_id, "Removing")]
            db.execute(
                "UPDATE assignments SET status = 'in_progress', pending = 'remove',"
                " rev = rev + 1, modified_at = ?, modified_by = ?, history = ? WHERE id = ?",
                (formats.now(), by, json.dumps(history[-100:]), aid),
            )
        return self._assignment_row(aid)  # type: ignore[return-value]

    def settle(self, aid: str) -> None:
        """Do the work an assignment's last request asked for, once, in one transaction."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM assignments WHERE id = ?", (aid,)).fetchone()
            if row is None or not row["pending"]:
                return
            current = _assignment(row)
            apply, remove = self.appliers[current.kind]
            if current.pending == "remove":
                remove(self, db, current)
                db.execute("DELETE FROM assignments WHERE id = ?", (aid,))
                return
            template = self._template_in(
                db, current.kind, current.template_id, current.template_version
            )
            # What a failed apply wrote is undone; the failure itself is the outcome.
            db.execute("SAVEPOINT apply")
            try:
                made = apply(self, db, template, current)
                db.execute("RELEASE apply")
                status, resources = "succeeded", made
            except (Invalid, Conflict, NotFound) as exc:
                db.execute("ROLLBACK TO apply")
                db.execute("RELEASE apply")
                status = "failed"
                # IBM's TemplateAssignmentResponseResource: the detail is named by the kind
                # (`account_settings`, `profile`); its error's keys are camelCase.
                resources = [
                    {
                        "target": current.target,
                        current.kind: {
                            "status": "failed",
                            "error_message": {
                                "name": type(exc).__name__,
                                "errorCode": "assignment_failed",
                                "message": str(exc)[:500],
                                "statusCode": "400",
                            },
                        },
                    }
                ]
            db.execute(
                "UPDATE assignments SET status = ?, pending = '', resources = ?, rev = rev + 1,"
                " modified_at = ? WHERE id = ?",
                (status, json.dumps(resources), formats.now(), aid),
            )

    def assigned_templates(self, kind: str, target: str) -> list[tuple[Assignment, Template]]:
        """The settled assignments of KIND on account TARGET, with their template versions."""
        rows = self._all(
            "SELECT id FROM assignments WHERE kind = ? AND target = ? ORDER BY created_at",
            (kind, target),
        )
        out = []
        for r in rows:
            a = self.assignment(kind, r["id"])
            if a is None or a.status != "succeeded":
                continue
            t = self.template(kind, a.template_id, a.template_version)
            if t is not None:
                out.append((a, t))
        return out
