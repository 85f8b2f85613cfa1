"""How trusted profiles and their rules, links and identities look in the human layout.

ibmcloud documents no text layout for these (only `--output JSON`): they follow the service ID
layout, key/value blocks for one entity and tables for lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..trusted_profile_models import (
        ClaimRule,
        ProfileIdentity,
        ProfileLink,
        TrustedProfile,
    )

PROFILE_COLUMNS = ["ID", "Name", "Created At", "Last Updated", "Description"]
RULE_COLUMNS = ["ID", "Name", "Type", "CR Type / Realm", "Conditions"]
LINK_COLUMNS = ["ID", "Name", "CR Type", "CRN", "Namespace", "Service Account / Component"]
IDENTITY_COLUMNS = ["Type", "Identifier", "IAM ID", "Accounts", "Description"]


def _text(value: str | None) -> str:
    return value if value else "-"


def profile_record(p: TrustedProfile) -> list[tuple[str, str]]:
    return [
        ("ID", p.id),
        ("Name", p.name),
        ("Description", p.description or ""),
        ("Email", p.email or ""),
        ("CRN", _text(p.crn)),
        ("IAM ID", _text(p.iam_id)),
        ("Version", _text(p.entity_tag)),
    ]


def profile_row(p: TrustedProfile) -> list[str]:
    return [p.id, p.name, _text(p.created_at), _text(p.modified_at), p.description or ""]


def conditions_text(rule: ClaimRule) -> str:
    from ..services.trusted_profiles import display_value

    return "; ".join(f"{c.claim} {c.operator} {display_value(c.value)}" for c in rule.conditions)


def rule_record(r: ClaimRule) -> list[tuple[str, str]]:
    pairs = [("ID", r.id), ("Name", r.name or ""), ("Type", r.type)]
    if r.cr_type:
        pairs.append(("CR Type", r.cr_type))
    if r.realm_name:
        pairs.append(("Realm Name", r.realm_name))
    if r.expiration is not None:
        pairs.append(("Expiration", f"{r.expiration} s"))
    pairs += [("Conditions", conditions_text(r)), ("Version", _text(r.entity_tag))]
    return pairs


def rule_row(r: ClaimRule) -> list[str]:
    return [r.id, r.name or "", r.type, _text(r.cr_type or r.realm_name), conditions_text(r)]


def link_record(link: ProfileLink) -> list[tuple[str, str]]:
    t = link.target
    pairs = [("ID", link.id), ("Name", link.name or ""), ("CR Type", link.cr_type), ("CRN", t.crn)]
    for label, value in (
        ("Namespace", t.namespace),
        ("Service Account", t.name),
        ("Component Type", t.component_type),
        ("Component Name", t.component_name),
    ):
        if value:
            pairs.append((label, value))
    return pairs


def link_row(link: ProfileLink) -> list[str]:
    t = link.target
    who = t.name or (f"{t.component_type}/{t.component_name}" if t.component_name else None)
    return [link.id, link.name or "", link.cr_type, t.crn, _text(t.namespace), _text(who)]


def identity_record(i: ProfileIdentity) -> list[tuple[str, str]]:
    return [
        ("Type", i.type.upper()),
        ("Identifier", i.identifier),
        ("IAM ID", _text(i.iam_id)),
        ("Accounts", ",".join(i.accounts) or "-"),
        ("Description", i.description or ""),
    ]


def identity_row(i: ProfileIdentity) -> list[str]:
    return [value for _, value in identity_record(i)]
