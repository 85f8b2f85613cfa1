"""What a trusted-profile template's assignment makes in a child account, and what the rest of
the server asks about it.

The assignment creates one trusted profile in the target account with the template version's
claim rules and identities, and remembers which of the profile's rules and identities are the
template's: those the child account cannot change (IBM: the child's administrators "can add trust
relationships and policies to the enterprise-managed trusted profile ... but can't modify the
ones that you define in the template"), and the template's `action_controls` say whether they
may add rules, identities and access policies of their own (cloud/profiles.py,
cloud/profile_trust.py and cloud/policies.py ask; the engine refuses). UNCONFIRMED what IBM's
`remove` controls govern; here they let the child remove the template's own rules and identities
(default: no). Moving the assignment to another version replaces the template's rules and
identities and keeps the child's own; deleting the assignment deletes the profile.

Policy template references: this server has no Policy API policy templates, so a reference is
recorded in the template and listed in the assignment's resources (status `succeeded`, nothing
in `resource_created`); no access policy is made from it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, ClassVar

from .. import formats
from .profiles import (
    Condition,
    ProfileIdentity,
    RuleFields,
    check_unique_name,
    insert_identity,
    insert_profile,
    insert_rule,
)
from .records import Invalid
from .templates import Applier, Assignment, Remover, Template, TemplateStore

KIND = "profile"

MANAGED_SCHEMA = """
CREATE TABLE IF NOT EXISTS template_profiles (
    assignment_id TEXT PRIMARY KEY,
    profile_id TEXT NOT NULL UNIQUE REFERENCES profiles(id) ON DELETE CASCADE,
    template_id TEXT NOT NULL, action_controls TEXT NOT NULL, rules TEXT NOT NULL,
    identities TEXT NOT NULL);
"""


@dataclass(frozen=True)
class ManagedProfile:
    """A profile an enterprise template made: which of its parts the template owns."""

    profile_id: str
    template_id: str
    assignment_id: str
    action_controls: dict[str, Any]
    rules: frozenset[str]
    identities: frozenset[tuple[str, str]]  # (type, identifier)

    def may_add(self, part: str) -> bool:
        """Whether the child account may add its own rules or identities (IBM's default:
        yes, unless the template's action_controls say no)."""
        return bool(self.action_controls.get(part, {}).get("add", True))

    def may_remove(self, part: str) -> bool:
        """Whether the child account may remove the template's own rules or identities
        (UNCONFIRMED what IBM's `remove` governs; here: the template's parts, default no)."""
        return bool(self.action_controls.get(part, {}).get("remove", False))


def _name(pattern: str, template: Template, account_id: str, account_name: str) -> str:
    for variable, value in (
        ("${template_id}", template.id),
        ("${template_name}", template.name),
        ("${template_version}", str(template.version)),
        ("${account_id}", account_id),
        ("${account_name}", account_name),
    ):
        pattern = pattern.replace(variable, value)
    return pattern[:1024]


def _rule_fields(rule: dict[str, Any]) -> RuleFields:
    return RuleFields(
        type=rule["type"],
        conditions=tuple(
            Condition(c["claim"], c["operator"], c["value"]) for c in rule["conditions"]
        ),
        name=rule.get("name"),
        realm_name=rule.get("realm_name"),
        cr_type=rule.get("cr_type"),
        expiration=rule.get("expiration"),
    )


def _identity(entry: dict[str, Any]) -> ProfileIdentity:
    accounts = entry.get("accounts")
    return ProfileIdentity(
        entry["type"],
        entry["identifier"],
        entry["iam_id"],
        None if accounts is None else tuple(accounts),
        entry.get("description"),
    )


def apply_profile(
    store: TemplateStore, db: sqlite3.Connection, template: Template, assignment: Assignment
) -> list[dict[str, Any]]:
    component: dict[str, Any] = template.body.get("profile") or {}
    if not component.get("name"):
        raise Invalid("The template version has no profile to create")
    target = assignment.target
    account = db.execute("SELECT name FROM accounts WHERE id = ?", (target,)).fetchone()
    name = _name(component["name"], template, target, account["name"] if account else target)
    made = db.execute(
        "SELECT * FROM template_profiles WHERE assignment_id = ?", (assignment.id,)
    ).fetchone()
    if made is None:
        pid = insert_profile(
            db,
            target,
            name,
            component.get("description"),
            component.get("email"),
            assignment.modified_by,
        )
    else:
        # Another version: the template's parts are replaced, the child's own are kept.
        pid = made["profile_id"]
        check_unique_name(db, target, name, pid)
        db.execute(
            "UPDATE profiles SET name = ?, description = ?, email = ?, version = version + 1,"
            " modified_at = ? WHERE id = ?",
            (name, component.get("description"), component.get("email"), formats.now(), pid),
        )
        for rid in json.loads(made["rules"]):
            db.execute("DELETE FROM profile_rules WHERE id = ? AND profile_id = ?", (rid, pid))
        for kind, identifier in json.loads(made["identities"]):
            db.execute(
                "DELETE FROM profile_identities WHERE profile_id = ? AND type = ?"
                " AND identifier = ?",
                (pid, kind, identifier),
            )
    rules = [insert_rule(db, pid, _rule_fields(r)) for r in component.get("rules") or []]
    identities = []
    for entry in component.get("identities") or []:
        identity = _identity(entry)
        key = (identity.type, identity.identifier)
        # An identity the child had added itself becomes the template's.
        db.execute(
            "DELETE FROM profile_identities WHERE profile_id = ? AND type = ? AND identifier = ?",
            (pid, *key),
        )
        insert_identity(db, pid, identity)
        identities.append(key)
    db.execute(
        "INSERT OR REPLACE INTO template_profiles VALUES (?, ?, ?, ?, ?, ?)",
        (
            assignment.id,
            pid,
            template.id,
            json.dumps(template.body.get("action_controls") or {}),
            json.dumps(rules),
            json.dumps(identities),
        ),
    )
    resource: dict[str, Any] = {
        "target": target,
        "profile": {"resource_created": {"id": pid}, "status": "succeeded"},
    }
    references = template.body.get("policy_template_references")
    if references:
        resource["policy_template_references"] = [
            {"id": r["id"], "version": r["version"], "status": "succeeded"} for r in references
        ]
    return [resource]


def remove_profile(store: TemplateStore, db: sqlite3.Connection, assignment: Assignment) -> None:
    made = db.execute(
        "SELECT profile_id FROM template_profiles WHERE assignment_id = ?", (assignment.id,)
    ).fetchone()
    if made is None:
        return
    pid = made["profile_id"]
    db.execute(
        "DELETE FROM refresh_tokens WHERE iam_id = (SELECT iam_id FROM profiles WHERE id = ?)",
        (pid,),
    )
    db.execute("DELETE FROM profiles WHERE id = ?", (pid,))
    db.execute("DELETE FROM template_profiles WHERE assignment_id = ?", (assignment.id,))


class ProfileTemplateStore(TemplateStore):
    TABLES = MANAGED_SCHEMA

    appliers: ClassVar[dict[str, tuple[Applier, Remover]]] = {
        **TemplateStore.appliers,
        KIND: (apply_profile, remove_profile),
    }

    def managed_profile(self, profile_id: str) -> ManagedProfile | None:
        """What an enterprise template owns of the profile, if a template made it."""
        row = self._one("SELECT * FROM template_profiles WHERE profile_id = ?", (profile_id,))
        if row is None:
            return None
        return ManagedProfile(
            profile_id=row["profile_id"],
            template_id=row["template_id"],
            assignment_id=row["assignment_id"],
            action_controls=json.loads(row["action_controls"]),
            rules=frozenset(json.loads(row["rules"])),
            identities=frozenset((k, i) for k, i in json.loads(row["identities"])),
        )
