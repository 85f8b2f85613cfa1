"""An account's identity limits (IBM's `/v1/accounts/{id}/limits/identity`): the maximum of each
entity, how many the account has, and the check every create makes before it inserts.

IBM sets default maxima per account and raises them on request (its "Increasing account
limits" page); here an account's maxima are the defaults below unless the store holds another
value for it (`set_identity_limit`, which `iamcli serve --identity-limit` calls). Of the
defaults, 20 API keys per identity and 20 claim rules per trusted profile are IBM's documented
values; the others are our choice, of IBM's order of magnitude.

A create past a maximum is refused as IBM words its warning event ("You have reached 100% of
the maximum number of allowed Service IDs in account …") with status 400 and code
`limit_exceeded`: IBM documents that an exception is raised, not its status or code.

Usage is counted from the server's own records. The server has no identity providers and no
access groups, so `idps` and `claim_rules_per_group` always count 0.
"""

from __future__ import annotations

import sqlite3

from .base import StoreBase
from .records import Invalid

DEFAULT_LIMITS: dict[str, int] = {
    "serviceids": 2000,
    "serviceid_groups": 100,
    "serviceids_per_group": 2000,
    "profiles": 2000,
    "apikeys_per_identity": 20,
    "profile_templates": 100,
    "account_settings_templates": 100,
    "template_versions_per_template": 100,
    "idps": 5,
    "claim_rules_per_group": 5,
    "claim_rules_per_profile": 20,
    "cr_links": 2000,
    "cr_links_per_profile": 100,
    "cr_rules": 2000,
    "cr_rules_per_profile": 20,
}

# What each limit counts, as the refusal names it.
NOUNS: dict[str, str] = {
    "serviceids": "Service IDs",
    "serviceid_groups": "service ID groups",
    "serviceids_per_group": "service IDs in the service ID group",
    "profiles": "trusted profiles",
    "apikeys_per_identity": "API keys of the identity",
    "profile_templates": "trusted profile templates",
    "account_settings_templates": "account settings templates",
    "template_versions_per_template": "versions of the template",
    "idps": "identity providers",
    "claim_rules_per_group": "claim rules of the access group",
    "claim_rules_per_profile": "claim rules of the trusted profile",
    "cr_links": "compute resource links",
    "cr_links_per_profile": "compute resource links of the trusted profile",
    "cr_rules": "compute resource rules",
    "cr_rules_per_profile": "compute resource rules of the trusted profile",
}

MAX_LIMIT = 1_000_000


class LimitExceeded(Invalid):
    """A create that would pass one of the account's identity limits."""


# The account-wide counts: (account_id) → SQL with one parameter.
_ACCOUNT_COUNTS: dict[str, str] = {
    "serviceids": "SELECT COUNT(*) FROM service_ids WHERE account_id = ?",
    "serviceid_groups": "SELECT COUNT(*) FROM serviceid_groups WHERE account_id = ?",
    "profiles": "SELECT COUNT(*) FROM profiles WHERE account_id = ?",
    "cr_links": (
        "SELECT COUNT(*) FROM profile_links l JOIN profiles p ON l.profile_id = p.id "
        "WHERE p.account_id = ?"
    ),
    "cr_rules": (
        "SELECT COUNT(*) FROM profile_rules r JOIN profiles p ON r.profile_id = p.id "
        "WHERE p.account_id = ? AND r.type = 'Profile-CR'"
    ),
}

# The templates of a kind (store/templates.py) in an account: (kind, account_id).
_TEMPLATE_COUNT = "SELECT COUNT(DISTINCT id) FROM templates WHERE kind = ? AND account_id = ?"
# The template kind each template limit counts. The trusted-profile kind's name is the one
# cloud/templates.py gives it; creation passes its real kind, so enforcement never depends on it.
TEMPLATE_KINDS = {"account_settings_templates": "account_settings", "profile_templates": "profile"}

# The per-entity counts: (account_id, entity ID) → SQL with those two parameters. An ID of
# another account, or of nothing, counts 0: the answer tells nothing of other accounts.
_ENTITY_COUNTS: dict[str, str] = {
    "serviceids_per_group": (
        "SELECT COUNT(*) FROM serviceid_group_members WHERE account_id = ? AND group_id = ?"
    ),
    "apikeys_per_identity": "SELECT COUNT(*) FROM api_keys WHERE account_id = ? AND iam_id = ?",
    "template_versions_per_template": (
        "SELECT COUNT(*) FROM templates WHERE account_id = ? AND id = ?"
    ),
    "claim_rules_per_profile": (
        "SELECT COUNT(*) FROM profile_rules r JOIN profiles p ON r.profile_id = p.id "
        "WHERE p.account_id = ? AND p.id = ?"
    ),
    "cr_links_per_profile": (
        "SELECT COUNT(*) FROM profile_links l JOIN profiles p ON l.profile_id = p.id "
        "WHERE p.account_id = ? AND p.id = ?"
    ),
    "cr_rules_per_profile": (
        "SELECT COUNT(*) FROM profile_rules r JOIN profiles p ON r.profile_id = p.id "
        "WHERE p.account_id = ? AND p.id = ? AND r.type = 'Profile-CR'"
    ),
}


class IdentityLimitStore(StoreBase):
    TABLES = """
    CREATE TABLE IF NOT EXISTS identity_limits (
        account_id TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
        PRIMARY KEY (account_id, name));
    """

    def set_identity_limit(self, account_id: str, name: str, value: int) -> None:
        """Raise or lower one of an account's maxima (as IBM's support would raise it)."""
        if name not in DEFAULT_LIMITS:
            raise Invalid(f"unknown identity limit {name[:100]!r}")
        if not 0 <= value <= MAX_LIMIT:
            raise Invalid(f"an identity limit must be 0 to {MAX_LIMIT}")
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO identity_limits VALUES (?, ?, ?)",
                (account_id, name, value),
            )

    def identity_limits(self, account_id: str) -> dict[str, int]:
        """Every maximum of the account: its own where set, else the default."""
        rows = self._all(
            "SELECT name, value FROM identity_limits WHERE account_id = ?", (account_id,)
        )
        own = {str(r["name"]): int(r["value"]) for r in rows}
        return {name: own.get(name, default) for name, default in DEFAULT_LIMITS.items()}

    def account_usage(self, account_id: str, name: str) -> int:
        """How many of NAME's entities the account has (0 for those this server lacks)."""
        if name in TEMPLATE_KINDS:
            row = self._one(_TEMPLATE_COUNT, (TEMPLATE_KINDS[name], account_id))
            return 0 if row is None else int(row[0])
        sql = _ACCOUNT_COUNTS.get(name)
        if sql is None:
            return 0
        row = self._one(sql, (account_id,))
        return 0 if row is None else int(row[0])

    def entity_usage(self, account_id: str, name: str, entity_id: str) -> int:
        """How many of NAME's entities the account's ENTITY_ID has."""
        sql = _ENTITY_COUNTS.get(name)
        if sql is None:
            return 0
        row = self._one(sql, (account_id, entity_id))
        return 0 if row is None else int(row[0])


def check_limit(
    db: sqlite3.Connection,
    account_id: str,
    name: str,
    entity_id: str | None = None,
    *,
    kind: str | None = None,
) -> None:
    """Inside a create's transaction: refuse the create when NAME is already at its
    maximum. Counting and inserting in one write transaction keeps workers from racing
    past it."""
    row = db.execute(
        "SELECT value FROM identity_limits WHERE account_id = ? AND name = ?",
        (account_id, name),
    ).fetchone()
    limit = DEFAULT_LIMITS[name] if row is None else int(row[0])
    if kind is not None:  # a template limit, for a template of this kind
        params: tuple[str, ...] = (kind, account_id)
        sql = _TEMPLATE_COUNT
    elif entity_id is None:
        params = (account_id,)
        sql = _ACCOUNT_COUNTS[name]
    else:
        params = (account_id, entity_id)
        sql = _ENTITY_COUNTS[name]
    count = int(db.execute(sql, params).fetchone()[0])
    if count >= limit:
        raise LimitExceeded(
            f"You have reached 100% of the maximum number of allowed {NOUNS[name]} in "
            f"account {account_id}. Your current count is {count}, and the limit is {limit}."
        )
