"""What an account's identity settings, an enterprise template and a template assignment are to
the commands: the fields they read, and the server's own JSON for `--output json`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AccountSettings:
    account_id: str
    entity_tag: str | None
    # Setting name -> value, as the API carries them (strings: "86400", "NOT_SET").
    values: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return self.raw


@dataclass(frozen=True)
class Template:
    id: str
    version: int
    name: str
    description: str | None
    committed: bool
    account_id: str | None
    entity_tag: str | None
    modified_at: str | None
    raw: dict[str, Any] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return self.raw


@dataclass(frozen=True)
class Assignment:
    id: str
    template_id: str
    template_version: int
    target_type: str
    target: str
    status: str
    entity_tag: str | None
    raw: dict[str, Any] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return self.raw


@dataclass(frozen=True)
class LimitUsage:
    """One line of an account's identity limits: an entity (`profiles`), or one item of a
    per-item limit (`apikeys_per_identity` of one IAM ID), with its count where asked."""

    entity: str
    item: str | None
    used: int | None
    limit: int | None


@dataclass(frozen=True)
class IdentityLimits:
    lines: tuple[LimitUsage, ...]
    raw: dict[str, Any] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return self.raw
