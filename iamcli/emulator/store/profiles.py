"""Trusted profiles: the profile, its claim rules, its links to compute resources, and the
identities that may assume it (reference/profiles-policies-authz.md §1).

Rules, links and identities live in tables of their own and go with their profile
(ON DELETE CASCADE). The identities list has a version of its own, because IBM's
`PUT .../identities` takes an If-Match of its own.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

from .. import formats
from .base import StoreBase
from .limits import check_limit
from .records import (
    Conflict,
    Invalid,
    NotFound,
    Page,
    Profile,
    StaleVersion,
    check_text,
    entity_tag,
    profile_from_row,
)

PROFILE_SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    id TEXT PRIMARY KEY, iam_id TEXT NOT NULL UNIQUE, account_id TEXT NOT NULL,
    name TEXT NOT NULL, description TEXT, email TEXT, version INTEGER NOT NULL,
    created_at INTEGER NOT NULL, modified_at INTEGER NOT NULL, created_by TEXT NOT NULL,
    identities_version INTEGER NOT NULL DEFAULT 1);
CREATE UNIQUE INDEX IF NOT EXISTS profiles_account_name ON profiles(account_id, name);
CREATE TABLE IF NOT EXISTS profile_rules (
    id TEXT PRIMARY KEY, profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    name TEXT, type TEXT NOT NULL, realm_name TEXT, cr_type TEXT, expiration INTEGER NOT NULL,
    conditions TEXT NOT NULL, version INTEGER NOT NULL, created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS profile_rules_profile ON profile_rules(profile_id);
CREATE TABLE IF NOT EXISTS profile_links (
    id TEXT PRIMARY KEY, profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    name TEXT, cr_type TEXT NOT NULL, is_cross_account INTEGER NOT NULL, crn TEXT NOT NULL,
    namespace TEXT, link_name TEXT, component_type TEXT, component_name TEXT,
    version INTEGER NOT NULL, created_at INTEGER NOT NULL, modified_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS profile_links_profile ON profile_links(profile_id);
CREATE INDEX IF NOT EXISTS profile_links_crn ON profile_links(crn);
CREATE TABLE IF NOT EXISTS profile_identities (
    profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    type TEXT NOT NULL, identifier TEXT NOT NULL, iam_id TEXT NOT NULL,
    accounts TEXT, description TEXT, position INTEGER NOT NULL,
    PRIMARY KEY (profile_id, type, identifier));
CREATE INDEX IF NOT EXISTS profile_identities_iam_id ON profile_identities(iam_id);
"""

PROFILE_SORTS = {"name", "description", "created_at", "modified_at"}
# A profile's claim rules and links are bounded by the account's identity limits (limits.py).
MAX_IDENTITIES = 100


@dataclass(frozen=True)
class Condition:
    claim: str
    operator: str
    value: str  # a stringified JSON value, as IBM stores it


@dataclass(frozen=True)
class ClaimRule:
    id: str
    profile_id: str
    name: str | None
    type: str
    realm_name: str | None
    cr_type: str | None
    expiration: int
    conditions: tuple[Condition, ...]
    version: int
    created_at: int
    modified_at: int

    @property
    def entity_tag(self) -> str:
        return entity_tag(self.id, self.version, self.modified_at)


@dataclass(frozen=True)
class ProfileLink:
    id: str
    profile_id: str
    name: str | None
    cr_type: str
    is_cross_account: bool
    crn: str
    namespace: str | None
    link_name: str | None
    component_type: str | None
    component_name: str | None
    version: int
    created_at: int
    modified_at: int

    @property
    def entity_tag(self) -> str:
        return entity_tag(self.id, self.version, self.modified_at)


@dataclass(frozen=True)
class ProfileIdentity:
    type: str  # "user", "serviceid" or "crn"
    identifier: str
    iam_id: str
    accounts: tuple[str, ...] | None
    description: str | None


@dataclass(frozen=True)
class RuleFields:
    """What a create or a PUT of a claim rule carries (the routes have checked the shape)."""

    type: str
    conditions: tuple[Condition, ...]
    name: str | None = None
    realm_name: str | None = None
    cr_type: str | None = None
    expiration: int | None = None


@dataclass(frozen=True)
class LinkFields:
    cr_type: str
    crn: str
    name: str | None = None
    is_cross_account: bool = False
    namespace: str | None = None
    link_name: str | None = None
    component_type: str | None = None
    component_name: str | None = None


# UNCONFIRMED: IBM's default session length of a rule without `expiration` (it is required
# for Profile-SAML rules and meaningless for Profile-CR ones); 12 hours, the value IBM's own
# examples use, so that the field IBM's SDK requires is always present.
DEFAULT_RULE_EXPIRATION = 43200


def account_of_crn(crn: str) -> str | None:
    """The account of a CRN's scope segment (`a/<account>`), if it has one."""
    parts = crn.split(":")
    if len(parts) < 7 or parts[0] != "crn":
        return None
    scope = parts[6]
    return scope[2:] if scope.startswith("a/") and len(scope) > 2 else None


class ProfileStore(StoreBase):
    TABLES = PROFILE_SCHEMA

    # -- profiles --------------------------------------------------------------------------

    def create_profile(
        self,
        *,
        account_id: str,
        name: str,
        description: str | None,
        email: str | None,
        created_by: str,
    ) -> Profile:
        check_text(name, description)
        _check_email(email)
        if not name.strip():
            raise Invalid("name must not be empty")
        with self._tx() as db:
            check_limit(db, account_id, "profiles")
            pid = insert_profile(db, account_id, name, description, email, created_by)
        return self.profile(pid)  # type: ignore[return-value]

    def profile(self, pid: str) -> Profile | None:
        row = self._one("SELECT * FROM profiles WHERE id = ?", (pid,))
        return None if row is None else profile_from_row(row)

    def profile_by_iam_id(self, iam_id: str) -> Profile | None:
        row = self._one("SELECT * FROM profiles WHERE iam_id = ?", (iam_id,))
        return None if row is None else profile_from_row(row)

    def profile_by_name(self, account_id: str, name: str) -> Profile | None:
        row = self._one(
            "SELECT * FROM profiles WHERE account_id = ? AND name = ?", (account_id, name)
        )
        return None if row is None else profile_from_row(row)

    def list_profiles(
        self,
        account_id: str,
        *,
        name: str | None = None,
        filter_expr: str | None = None,
        sort: str | None = None,
        descending: bool = False,
        offset: int = 0,
        limit: int = 20,
    ) -> Page:
        equal = {"account_id": account_id, "name": name}
        rows, more = self._listing(
            "profiles", equal, filter_expr, sort, PROFILE_SORTS, descending, offset, limit
        )
        return Page([profile_from_row(r) for r in rows], offset, more)

    def update_profile(
        self,
        pid: str,
        *,
        if_match: str | None,
        name: str | None = None,
        description: str | None = None,
        email: str | None = None,
    ) -> Profile:
        """IBM's rules (PSPYG): a name, if sent, must not be empty; an empty description or
        email clears it."""
        check_text(name, description)
        _check_email(email or None)
        if name is not None and not name.strip():
            raise Invalid("name must not be empty")
        with self._tx() as db:
            current = _current(db, pid, if_match)
            if name is not None and name != current.name:
                check_unique_name(db, current.account_id, name, pid)
            db.execute(
                "UPDATE profiles SET name = ?, description = ?, email = ?, "
                "version = version + 1, modified_at = ? WHERE id = ?",
                (
                    current.name if name is None else name,
                    current.description if description is None else (description or None),
                    current.email if email is None else (email or None),
                    formats.now(),
                    pid,
                ),
            )
        return self.profile(pid)  # type: ignore[return-value]

    def delete_profile(self, pid: str) -> None:
        with self._tx() as db:
            current = _current(db, pid, None)
            db.execute("DELETE FROM refresh_tokens WHERE iam_id = ?", (current.iam_id,))
            db.execute("DELETE FROM profiles WHERE id = ?", (pid,))

    # -- claim rules -----------------------------------------------------------------------

    def create_rule(self, pid: str, fields: RuleFields) -> ClaimRule:
        with self._tx() as db:
            _current(db, pid, None)
            rid = insert_rule(db, pid, fields)
        return self.rule(pid, rid)  # type: ignore[return-value]

    def rule(self, pid: str, rid: str) -> ClaimRule | None:
        row = self._one("SELECT * FROM profile_rules WHERE id = ? AND profile_id = ?", (rid, pid))
        return None if row is None else _rule(row)

    def rules(self, pid: str) -> list[ClaimRule]:
        rows = self._all(
            "SELECT * FROM profile_rules WHERE profile_id = ? ORDER BY created_at, rowid", (pid,)
        )
        return [_rule(r) for r in rows]

    def update_rule(self, pid: str, rid: str, fields: RuleFields, *, if_match: str) -> ClaimRule:
        with self._tx() as db:
            _current(db, pid, None)
            row = db.execute(
                "SELECT * FROM profile_rules WHERE id = ? AND profile_id = ?", (rid, pid)
            ).fetchone()
            if row is None:
                raise NotFound(f"Claim rule {rid[:100]} not found")
            current = _rule(row)
            if if_match != "*" and if_match != current.entity_tag:
                raise StaleVersion(
                    f"Claim rule {rid} was changed by someone else (version {current.entity_tag})"
                )
            db.execute(
                "UPDATE profile_rules SET name = ?, type = ?, realm_name = ?, cr_type = ?, "
                "expiration = ?, conditions = ?, version = version + 1, modified_at = ? "
                "WHERE id = ?",
                (*_rule_columns(fields), formats.now(), rid),
            )
        return self.rule(pid, rid)  # type: ignore[return-value]

    def delete_rule(self, pid: str, rid: str) -> None:
        with self._tx() as db:
            _current(db, pid, None)
            gone = db.execute(
                "DELETE FROM profile_rules WHERE id = ? AND profile_id = ?", (rid, pid)
            ).rowcount
            if not gone:
                raise NotFound(f"Claim rule {rid[:100]} not found")

    # -- links -----------------------------------------------------------------------------

    def create_link(self, pid: str, fields: LinkFields) -> ProfileLink:
        lid = f"ProfileLink-{uuid.uuid4()}"
        t = formats.now()
        with self._tx() as db:
            profile = _current(db, pid, None)
            if not fields.is_cross_account and account_of_crn(fields.crn) != profile.account_id:
                raise Invalid(
                    "The link's CRN is not in the trusted profile's account "
                    "(set is_cross_account to link a resource of another account)"
                )
            check_limit(db, profile.account_id, "cr_links_per_profile", pid)
            check_limit(db, profile.account_id, "cr_links")
            db.execute(
                "INSERT INTO profile_links VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                (
                    lid,
                    pid,
                    fields.name,
                    fields.cr_type,
                    int(fields.is_cross_account),
                    fields.crn,
                    fields.namespace,
                    fields.link_name,
                    fields.component_type,
                    fields.component_name,
                    t,
                    t,
                ),
            )
        return self.link(pid, lid)  # type: ignore[return-value]

    def link(self, pid: str, lid: str) -> ProfileLink | None:
        row = self._one("SELECT * FROM profile_links WHERE id = ? AND profile_id = ?", (lid, pid))
        return None if row is None else _link(row)

    def links(self, pid: str) -> list[ProfileLink]:
        rows = self._all(
            "SELECT * FROM profile_links WHERE profile_id = ? ORDER BY created_at, rowid", (pid,)
        )
        return [_link(r) for r in rows]

    def links_to(self, crn: str) -> list[ProfileLink]:
        """Every link to one compute resource, oldest first."""
        rows = self._all(
            "SELECT * FROM profile_links WHERE crn = ? ORDER BY created_at, rowid", (crn,)
        )
        return [_link(r) for r in rows]

    def delete_link(self, pid: str, lid: str) -> None:
        with self._tx() as db:
            _current(db, pid, None)
            gone = db.execute(
                "DELETE FROM profile_links WHERE id = ? AND profile_id = ?", (lid, pid)
            ).rowcount
            if not gone:
                raise NotFound(f"Link {lid[:100]} not found")

    def delete_links_matching(self, pid: str, cr_type: str, match: dict[str, str]) -> int:
        """Delete the links of one type whose fields equal every given one; NotFound if none.
        Keys of MATCH: crn, namespace, link_name, component_type, component_name."""
        where, params = ["profile_id = ?", "cr_type = ?"], [pid, cr_type]
        for column in ("crn", "namespace", "link_name", "component_type", "component_name"):
            if column in match:
                where.append(f"{column} = ?")
                params.append(match[column])
        with self._tx() as db:
            _current(db, pid, None)
            gone = db.execute(
                f"DELETE FROM profile_links WHERE {' AND '.join(where)}", params
            ).rowcount
            if not gone:
                raise NotFound("No link of the trusted profile matches")
        return int(gone)

    # -- identities ------------------------------------------------------------------------

    def identities(self, pid: str) -> list[ProfileIdentity]:
        rows = self._all(
            "SELECT * FROM profile_identities WHERE profile_id = ? ORDER BY position", (pid,)
        )
        return [_identity(r) for r in rows]

    def profile_identity(self, pid: str, kind: str, identifier: str) -> ProfileIdentity | None:
        row = self._one(
            "SELECT * FROM profile_identities WHERE profile_id = ? AND type = ? AND identifier = ?",
            (pid, kind, identifier),
        )
        return None if row is None else _identity(row)

    def trusts(self, pid: str, iam_id: str) -> list[ProfileIdentity]:
        """The identities of the profile with this IAM ID (the assume grant's check)."""
        rows = self._all(
            "SELECT * FROM profile_identities WHERE profile_id = ? AND iam_id = ?", (pid, iam_id)
        )
        return [_identity(r) for r in rows]

    def profiles_trusting(self, iam_id: str) -> list[tuple[Profile, ProfileIdentity]]:
        """Every profile with an identity of this IAM ID, in any account, oldest first."""
        rows = self._all(
            "SELECT p.*, i.type AS i_type, i.identifier AS i_identifier, i.iam_id AS i_iam_id, "
            "i.accounts AS i_accounts, i.description AS i_description "
            "FROM profile_identities i JOIN profiles p ON p.id = i.profile_id "
            "WHERE i.iam_id = ? ORDER BY p.created_at, p.rowid LIMIT 1000",
            (iam_id,),
        )
        return [
            (
                profile_from_row(r),
                ProfileIdentity(
                    r["i_type"],
                    r["i_identifier"],
                    r["i_iam_id"],
                    None if r["i_accounts"] is None else tuple(json.loads(r["i_accounts"])),
                    r["i_description"],
                ),
            )
            for r in rows
        ]

    def set_identities(
        self, pid: str, identities: list[ProfileIdentity], *, if_match: str
    ) -> Profile:
        if len(identities) > MAX_IDENTITIES:
            raise Invalid(f"A trusted profile can trust at most {MAX_IDENTITIES} identities")
        keys = {(i.type, i.identifier) for i in identities}
        if len(keys) != len(identities):
            raise Invalid("An identity is listed twice")
        with self._tx() as db:
            current = _current(db, pid, None)
            if if_match != "*" and if_match != current.identities_tag:
                raise StaleVersion(
                    f"The identities of trusted profile {pid} were changed by someone else "
                    f"(version {current.identities_tag})"
                )
            db.execute("DELETE FROM profile_identities WHERE profile_id = ?", (pid,))
            for n, identity in enumerate(identities):
                _insert_identity(db, pid, identity, n)
            _bump_identities(db, pid)
        return self.profile(pid)  # type: ignore[return-value]

    def add_identity(self, pid: str, identity: ProfileIdentity) -> ProfileIdentity:
        with self._tx() as db:
            _current(db, pid, None)
            exists = db.execute(
                "SELECT 1 FROM profile_identities WHERE profile_id = ? AND type = ? "
                "AND identifier = ?",
                (pid, identity.type, identity.identifier),
            ).fetchone()
            if exists is not None:
                raise Conflict("The trusted profile already trusts this identity")
            insert_identity(db, pid, identity)
        return identity

    def remove_identity(self, pid: str, kind: str, identifier: str) -> None:
        with self._tx() as db:
            _current(db, pid, None)
            gone = db.execute(
                "DELETE FROM profile_identities WHERE profile_id = ? AND type = ? "
                "AND identifier = ?",
                (pid, kind, identifier),
            ).rowcount
            if not gone:
                raise NotFound(f"The trusted profile does not trust {identifier[:100]}")
            _bump_identities(db, pid)


# -- writes that other parts of the store make inside their own transactions ----------------


def insert_profile(
    db: sqlite3.Connection,
    account_id: str,
    name: str,
    description: str | None,
    email: str | None,
    created_by: str,
) -> str:
    """A new profile's row; its ID."""
    check_unique_name(db, account_id, name, None)
    pid = f"Profile-{uuid.uuid4()}"
    t = formats.now()
    db.execute(
        "INSERT INTO profiles VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, 1)",
        (pid, "iam-" + pid, account_id, name, description, email, t, t, created_by),
    )
    return pid


def check_unique_name(db: sqlite3.Connection, account_id: str, name: str, pid: str | None) -> None:
    row = db.execute(
        "SELECT id FROM profiles WHERE account_id = ? AND name = ?", (account_id, name)
    ).fetchone()
    if row is not None and row["id"] != pid:
        raise Conflict(f"A trusted profile named {name[:100]!r} already exists in the account")


def insert_rule(db: sqlite3.Connection, pid: str, fields: RuleFields) -> str:
    """A new claim rule of profile PID, within IBM's limit; its ID."""
    # The account's identity limits (store/limits.py), whoever makes the rule: a command or a
    # template's assignment.
    (account_id,) = db.execute("SELECT account_id FROM profiles WHERE id = ?", (pid,)).fetchone()
    check_limit(db, account_id, "claim_rules_per_profile", pid)
    if fields.type == "Profile-CR":
        check_limit(db, account_id, "cr_rules_per_profile", pid)
        check_limit(db, account_id, "cr_rules")
    rid = f"ClaimRule-{uuid.uuid4()}"
    t = formats.now()
    db.execute(
        "INSERT INTO profile_rules VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
        (rid, pid, *_rule_columns(fields), t, t),
    )
    return rid


def insert_identity(db: sqlite3.Connection, pid: str, identity: ProfileIdentity) -> None:
    """One more identity that may assume profile PID, at the end of its list."""
    count, last = db.execute(
        "SELECT COUNT(*), COALESCE(MAX(position), -1) FROM profile_identities WHERE profile_id = ?",
        (pid,),
    ).fetchone()
    if count >= MAX_IDENTITIES:
        raise Invalid(f"A trusted profile can trust at most {MAX_IDENTITIES} identities")
    _insert_identity(db, pid, identity, last + 1)
    _bump_identities(db, pid)


def _check_email(email: str | None) -> None:
    if email is not None and len(email) > 320:
        raise Invalid("email must be at most 320 characters")


def _current(db: sqlite3.Connection, pid: str, if_match: str | None) -> Profile:
    row = db.execute("SELECT * FROM profiles WHERE id = ?", (pid,)).fetchone()
    if row is None:
        raise NotFound(f"Trusted profile {pid[:100]} not found")
    current = profile_from_row(row)
    if if_match not in (None, "*") and if_match != current.entity_tag:
        raise StaleVersion(
            f"Trusted profile {pid} was changed by someone else (version {current.entity_tag})"
        )
    return current


def _bump_identities(db: sqlite3.Connection, pid: str) -> None:
    db.execute(
        "UPDATE profiles SET identities_version = identities_version + 1 WHERE id = ?", (pid,)
    )


def _insert_identity(
    db: sqlite3.Connection, pid: str, identity: ProfileIdentity, position: int
) -> None:
    db.execute(
        "INSERT INTO profile_identities VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            pid,
            identity.type,
            identity.identifier,
            identity.iam_id,
            None if identity.accounts is None else json.dumps(list(identity.accounts)),
            identity.description,
            position,
        ),
    )


def _rule_columns(fields: RuleFields) -> tuple[Any, ...]:
    conditions = [
        {"claim": c.claim, "operator": c.operator, "value": c.value} for c in fields.conditions
    ]
    return (
        fields.name,
        fields.type,
        fields.realm_name,
        fields.cr_type,
        DEFAULT_RULE_EXPIRATION if fields.expiration is None else fields.expiration,
        json.dumps(conditions),
    )


def _rule(row: sqlite3.Row) -> ClaimRule:
    return ClaimRule(
        row["id"],
        row["profile_id"],
        row["name"],
        row["type"],
        row["realm_name"],
        row["cr_type"],
        row["expiration"],
        tuple(
            Condition(c["claim"], c["operator"], c["value"]) for c in json.loads(row["conditions"])
        ),
        row["version"],
        row["created_at"],
        row["modified_at"],
    )


def _link(row: sqlite3.Row) -> ProfileLink:
    return ProfileLink(
        row["id"],
        row["profile_id"],
        row["name"],
        row["cr_type"],
        bool(row["is_cross_account"]),
        row["crn"],
        row["namespace"],
        row["link_name"],
        row["component_type"],
        row["component_name"],
        row["version"],
        row["created_at"],
        row["modified_at"],
    )


def _identity(row: sqlite3.Row) -> ProfileIdentity:
    accounts = row["accounts"]
    return ProfileIdentity(
        row["type"],
        row["identifier"],
        row["iam_id"],
        None if accounts is None else tuple(json.loads(accounts)),
        row["description"],
    )
