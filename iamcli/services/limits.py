"""An account's identity limits and usage: what each `*-usage` command asks IBM's API for.

ibmcloud's usage commands each name one kind of entity; IBM's consumption request has a flag
per account-wide count and a list of IDs per per-item count. With `--ids`, a command asks for
the per-item counts of those IDs; without, for the account-wide count. (`trusted-profiles-usage
--ids` asks for each profile's claim rules, compute-resource links and rules: IBM's three
per-profile counts; ibmcloud's docs say only "the usage per specified profile".)
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError

MAX_IDS = 100


@dataclass(frozen=True)
class UsageKind:
    account_flag: str | None  # the request's flag for the account-wide count
    per_item: tuple[str, ...]  # the request's lists for per-item counts
    entries: tuple[str, ...]  # the answer's entries this kind shows


USAGE_KINDS = {
    "service-id-groups": UsageKind(
        "serviceid_groups", ("serviceids_per_group",), ("serviceid_groups",)
    ),
    "trusted-profiles": UsageKind(
        "profiles",
        ("claim_rules_per_profile", "cr_links_per_profile", "cr_rules_per_profile"),
        ("profiles",),
    ),
    "templates": UsageKind(
        "templates",
        ("template_versions_per_template",),
        ("profile_templates", "account_settings_templates"),
    ),
    "api-keys": UsageKind(None, ("apikeys_per_identity",), ()),
    "access-groups": UsageKind(None, ("claim_rules_per_group",), ()),
    "cr-links": UsageKind("cr_links", (), ("cr_links",)),
    "cr-rules": UsageKind("cr_rules", (), ("cr_rules",)),
    "identity-providers": UsageKind("idps", (), ("idps",)),
}


def id_list(text: str) -> list[str]:
    """`--ids A,B,C` as IDs: no blanks, no repeats, at most MAX_IDS (IBM's bound)."""
    ids = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not ids:
        raise UsageError("--ids needs at least one ID (comma-separated)")
    if len(ids) > MAX_IDS:
        raise UsageError(f"--ids takes at most {MAX_IDS} IDs, not {len(ids)}")
    return ids


def usage_request(kind: UsageKind, ids: str | None) -> tuple[dict[str, object], tuple[str, ...]]:
    """The consumption request, and the answer's entries to show."""
    if ids is not None and kind.per_item:
        listed = id_list(ids)
        return {name: listed for name in kind.per_item}, kind.per_item
    if kind.account_flag is None:
        raise UsageError("--ids is required: the IDs to count for")
    return {kind.account_flag: True}, kind.entries
