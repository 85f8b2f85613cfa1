"""Trusted profiles and their parts (claim rules, links, identities): plain dataclasses.

Only the public cloud has them, and its API already uses IBM's model names, so `to_json()`
gives the API's own object (`wire`) unchanged; the typed fields are what the commands read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TrustedProfile:
    id: str
    name: str
    description: str | None = None
    email: str | None = None
    iam_id: str | None = None
    crn: str | None = None
    account_id: str | None = None
    created_at: str | None = None
    modified_at: str | None = None
    entity_tag: str | None = None
    wire: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return dict(self.wire)


@dataclass(frozen=True)
class Condition:
    claim: str
    operator: str
    value: str  # as the API stores it: a JSON value in a string ("\"default\"")


@dataclass(frozen=True)
class ClaimRule:
    id: str
    type: str
    conditions: tuple[Condition, ...]
    name: str | None = None
    realm_name: str | None = None
    cr_type: str | None = None
    expiration: int | None = None
    entity_tag: str | None = None
    created_at: str | None = None
    modified_at: str | None = None
    wire: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return dict(self.wire)


@dataclass(frozen=True)
class RuleSpec:
    """What a rule create or update sends (the whole rule: IBM's PUT replaces it)."""

    type: str
    conditions: tuple[Condition, ...]
    name: str | None = None
    realm_name: str | None = None
    cr_type: str | None = None
    expiration: int | None = None


@dataclass(frozen=True)
class LinkTarget:
    """The compute resource a link trusts."""

    crn: str
    namespace: str | None = None
    name: str | None = None
    component_type: str | None = None
    component_name: str | None = None


@dataclass(frozen=True)
class ProfileLink:
    id: str
    cr_type: str
    target: LinkTarget
    name: str | None = None
    created_at: str | None = None
    wire: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return dict(self.wire)


@dataclass(frozen=True)
class ProfileIdentity:
    identifier: str
    type: str  # user, serviceid or crn (the API's lower-case values)
    iam_id: str | None = None
    accounts: tuple[str, ...] = ()
    description: str | None = None
    wire: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return dict(self.wire)


@dataclass(frozen=True)
class ProfileRef:
    """How a command named a trusted profile: by its ID, its CRN, or its name (in `account`)."""

    kind: str  # "id", "crn" or "name"
    value: str
    account: str | None = None
