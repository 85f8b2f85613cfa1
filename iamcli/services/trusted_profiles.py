"""Trusted profiles: finding a profile and its parts by name or ID, and turning the command
line's bare rule conditions into what IBM's API stores."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from ..errors import NotFoundError, UsageError
from ..trusted_profile_models import (
    ClaimRule,
    Condition,
    ProfileLink,
    ProfileRef,
    RuleSpec,
    TrustedProfile,
)
from .identities import SERVICE_ID_RE, checked_update, create_once, not_found, one_match

if TYPE_CHECKING:
    from ..flavors.cloud_profiles import TrustedProfileApi

PROFILE_ID_RE = re.compile(r"^Profile-[0-9a-fA-F-]{36}$")
_PROFILE_IN_CRN = re.compile(r"^crn:v1:[^\s]*:profile:(Profile-[0-9a-fA-F-]{36})$")

RULE_TYPES = ("Profile-SAML", "Profile-CR")
# The compute-resource types of IBM's API (ibm-platform-services' ProfileClaimRule enums).
CR_TYPES = ("VSI", "PVS", "BMS", "IKS_SA", "ROKS_SA", "CE")
OPERATORS = (
    "EQUALS",
    "NOT_EQUALS",
    "EQUALS_IGNORE_CASE",
    "NOT_EQUALS_IGNORE_CASE",
    "CONTAINS",
    "IN",
)
IDENTITY_TYPES = ("user", "serviceid", "crn")
_CONDITION_KEYS = ("claim", "operator", "value")


def profile_ref(value: str, *, account: str | None = None) -> ProfileRef:
    """How `value` names a profile: `Profile-<uuid>`, a CRN, or else a name (in `account`)."""
    value = value.strip()
    if not value:
        raise UsageError("a trusted profile name, ID or CRN is required")
    if PROFILE_ID_RE.match(value):
        return ProfileRef("id", value)
    if value.startswith("crn:"):
        return ProfileRef("crn", value)
    return ProfileRef("name", value, account)


def resolve_profile(api: TrustedProfileApi, ref: str) -> TrustedProfile:
    """The profile a user named by ID, CRN or (unique) name, in the current account."""
    named = profile_ref(ref)
    pid = named.value if named.kind == "id" else None
    if named.kind == "crn":
        m = _PROFILE_IN_CRN.match(named.value)
        if m is None:
            raise UsageError(f"{named.value!r} is not the CRN of a trusted profile")
        pid = m[1]
    if pid is not None:
        try:
            return api.profile(pid)
        except NotFoundError:
            raise not_found("trusted profile", named.value) from None
    return one_match(
        list(api.profiles(name=named.value)),
        "trusted profile",
        named.value,
        lambda p: p.name == named.value,
    )


def create_profile(
    api: TrustedProfileApi,
    name: str,
    description: str | None,
    email: str | None,
    *,
    note: Callable[[str], None] | None = None,
) -> TrustedProfile:
    return create_once(
        lambda: api.create_profile(name, description, email),
        lambda: api.profiles(name=name),
        kind="trusted profile",
        name=name,
        note=note,
    )


def update_profile(
    api: TrustedProfileApi,
    current: TrustedProfile,
    *,
    name: str | None,
    description: str | None,
    email: str | None,
) -> TrustedProfile:
    def same_email(now: TrustedProfile) -> TrustedProfile:
        # checked_update compares name and description; a lost answer must match the email too.
        if email is not None and (now.email or "") != email:
            return current
        return now

    return checked_update(
        lambda: api.update_profile(current, name=name, description=description, email=email),
        lambda: same_email(api.profile(current.id)),
        name,
        description,
    )


def text_filter(
    profiles: Iterable[TrustedProfile], name: str | None, description: str | None
) -> Iterator[TrustedProfile]:
    """ibmcloud's `-n` and `-d`: case-sensitive substrings of the name and description."""
    return (
        p
        for p in profiles
        if (name is None or name in p.name)
        and (description is None or description in (p.description or ""))
    )


def find_rule(api: TrustedProfileApi, profile: TrustedProfile, ref: str) -> ClaimRule:
    """A rule by ID, or by (unique) name. Rules are few (IBM allows 20): one list finds it."""
    rules = api.rules(profile.id)
    by_id = [r for r in rules if r.id == ref]
    if by_id:
        return api.rule(profile.id, by_id[0].id)  # with the version to update against
    return one_match(rules, "claim rule", ref, lambda r: r.name == ref)


def find_link(api: TrustedProfileApi, profile: TrustedProfile, ref: str) -> ProfileLink:
    links = api.links(profile.id)
    by_id = [link for link in links if link.id == ref]
    return by_id[0] if by_id else one_match(links, "link", ref, lambda link: link.name == ref)


# -- rule conditions ---------------------------------------------------------------------------


def parse_condition(text: str) -> Condition:
    """`claim:NAME,operator:OP,value:VALUE` (ibmcloud's `--conditions`), in any order.

    The value runs to the next `,claim:` or `,operator:` or to the end, so it may hold commas
    (an IN list: `value:a,b`).
    """
    found = list(re.finditer(r"(?:^|,)\s*(claim|operator|value):", text))
    parts: dict[str, str] = {}
    for m, following in zip(found, [*found[1:], None][: len(found)], strict=True):
        if m[1] in parts:
            raise UsageError(f"--conditions {text!r}: '{m[1]}' is given twice")
        parts[m[1]] = text[m.end() : following.start() if following else len(text)].strip()
    missing = [k for k in _CONDITION_KEYS if not parts.get(k)]
    if missing or not found or found[0].start() != 0:
        raise UsageError(
            f"--conditions {text!r} is not claim:CLAIM,operator:OPERATOR,value:VALUE"
            + (f" (no {', '.join(missing)})" if missing else "")
        )
    operator = parts["operator"].upper()
    if operator not in OPERATORS:
        raise UsageError(
            f"--conditions: operator {parts['operator']!r} is not one of {', '.join(OPERATORS)}"
        )
    return Condition(parts["claim"], operator, encode_value(parts["value"], operator))


def encode_value(bare: str, operator: str) -> str:
    """A bare command-line value as IBM's API stores it: a JSON value in a string.

    `default` becomes `"default"`; with IN, `a,b` becomes `["a","b"]`. A value that is already
    JSON text of a string or a list (`"a b"`, `["a","b"]`) is sent as given, so that any value
    can be written. (Whether ibmcloud itself adds the quotes is not documented; the API's own
    examples store `"\\"cloud-docs-dev\\""`, which is what this sends.)
    """
    if bare[:1] in ('"', "["):
        try:
            decoded = json.loads(bare)
        except ValueError:
            decoded = None
        if isinstance(decoded, str | list):
            return json.dumps(decoded, separators=(",", ":"))
    if operator == "IN":
        return json.dumps([v.strip() for v in bare.split(",")], separators=(",", ":"))
    return json.dumps(bare)


def display_value(stored: str) -> str:
    """A stored condition value as the command line writes it (the inverse of encode_value)."""
    try:
        decoded = json.loads(stored)
    except ValueError:
        return stored
    if isinstance(decoded, str):
        return decoded
    if isinstance(decoded, list) and all(isinstance(v, str) and "," not in v for v in decoded):
        return ",".join(decoded)
    return stored


def updated_rule_spec(
    current: ClaimRule,
    *,
    rule_type: str | None,
    conditions: list[str] | None,
    name: str | None,
    realm_name: str | None,
    cr_type: str | None,
    expiration: int | None,
) -> RuleSpec:
    """The whole rule an update sends (IBM's PUT replaces it): what is given, else what the
    rule has; a change of type keeps nothing that belongs to the other type."""
    same_type = rule_type is None or rule_type.strip().lower() == current.type.lower()

    def kept(given: str | int | None, now: str | int | None) -> str | int | None:
        return given if given is not None else (now if same_type else None)

    spec = rule_spec(
        rule_type=rule_type or current.type,
        conditions=conditions or [],
        name=name if name is not None else current.name,
        realm_name=kept(realm_name, current.realm_name),  # type: ignore[arg-type]
        cr_type=kept(cr_type, current.cr_type),  # type: ignore[arg-type]
        # IBM's answers carry an expiration on CR rules too; only SAML rules send one.
        expiration=kept(expiration, current.expiration if current.type == "Profile-SAML" else None),  # type: ignore[arg-type]
        keep=current.conditions,
    )
    return spec


def rule_spec(
    *,
    rule_type: str,
    conditions: list[str],
    name: str | None,
    realm_name: str | None,
    cr_type: str | None,
    expiration: int | None,
    keep: tuple[Condition, ...] = (),
) -> RuleSpec:
    """A whole rule from the command line, checked as ibmcloud checks it. With no
    `conditions`, those in `keep` (an update's current ones)."""
    canonical = {t.lower(): t for t in RULE_TYPES}.get(rule_type.strip().lower())
    if canonical is None:
        raise UsageError(f"--type must be {' or '.join(RULE_TYPES)}, not {rule_type!r}")
    if not conditions and not keep:
        raise UsageError("a rule needs at least one --conditions claim:C,operator:O,value:V")
    if canonical == "Profile-CR":
        if realm_name is not None or expiration is not None:
            raise UsageError("--realm-name and --expiration are for Profile-SAML rules only")
        if cr_type is None:
            raise UsageError(f"a Profile-CR rule needs --cr-type ({', '.join(CR_TYPES)})")
        cr_type = _cr_type(cr_type)
    else:
        if cr_type is not None:
            raise UsageError("--cr-type is for Profile-CR rules only")
        if not realm_name:
            raise UsageError("a Profile-SAML rule needs --realm-name (the IdP's entity ID)")
    if expiration is not None and expiration <= 0:
        raise UsageError("--expiration must be a number of seconds above 0")
    return RuleSpec(
        type=canonical,
        conditions=tuple(parse_condition(c) for c in conditions) if conditions else keep,
        name=name,
        realm_name=realm_name,
        cr_type=cr_type,
        expiration=expiration,
    )


def _cr_type(value: str) -> str:
    upper = value.strip().upper()
    if upper not in CR_TYPES:
        raise UsageError(f"--cr-type must be one of {', '.join(CR_TYPES)}, not {value!r}")
    return upper


def cr_type_arg(value: str) -> str:
    return _cr_type(value)


def identity_type(value: str) -> str:
    """ibmcloud's `--id-type USER|SERVICEID|CRN` as the API's lower-case type."""
    lowered = value.strip().lower()
    if lowered not in IDENTITY_TYPES:
        raise UsageError(f"--id-type must be USER, SERVICEID or CRN, not {value!r}")
    return lowered


def is_service_id(value: str) -> bool:
    return bool(SERVICE_ID_RE.match(value))
