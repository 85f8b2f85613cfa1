"""The store's records, its errors, and how rows become records."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any, ClassVar

SERVICE_ID_SORTS = {"name", "description", "created_at", "modified_at"}
API_KEY_SORTS = {"name", "description", "created_at", "created_by"}
ACTIONS_WHEN_LEAKED = {"none", "disable", "delete"}
MAX_NAME = 1024
MAX_DESCRIPTION = 4096


class StoreError(Exception):
    """Base of what the store refuses; the message is safe to show a caller."""


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    pass


class StaleVersion(Conflict):
    """An If-Match entity tag that is no longer current."""


class Locked(StoreError):
    pass


class Invalid(StoreError):
    pass


@dataclass(frozen=True)
class User:
    iam_id: str
    account_id: str
    username: str
    email: str
    given_name: str
    family_name: str
    created_at: int

    kind: ClassVar[str] = "user"

    @property
    def identifier(self) -> str:
        return self.iam_id.removeprefix("IBMid-")

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass(frozen=True)
class ServiceId:
    id: str
    iam_id: str
    account_id: str
    name: str
    description: str | None
    namespace: str
    locked: bool
    version: int
    created_at: int
    modified_at: int
    created_by: str
    unique_instance_crns: tuple[str, ...] = ()
    kind: ClassVar[str] = "serviceid"

    @property
    def entity_tag(self) -> str:
        return entity_tag(self.id, self.version, self.modified_at)


@dataclass(frozen=True)
class ApiKey:
    id: str
    account_id: str
    iam_id: str
    owner_kind: str  # "user" or "serviceid"
    name: str
    description: str | None
    locked: bool
    disabled: bool
    support_sessions: bool
    action_when_leaked: str
    expires_at: int | None
    version: int
    created_at: int
    modified_at: int
    created_by: str
    has_sealed_value: bool

    @property
    def entity_tag(self) -> str:
        return entity_tag(self.id, self.version, self.modified_at)

    def usable(self, at: int) -> bool:
        return not self.disabled and (self.expires_at is None or self.expires_at > at)


@dataclass(frozen=True)
class Profile:
    """A trusted profile (reference/profiles-policies-authz.md §1.2); its rules, links and
    identities are rows of their own (store/profiles.py)."""

    id: str
    iam_id: str
    account_id: str
    name: str
    description: str | None
    email: str | None
    version: int
    created_at: int
    modified_at: int
    created_by: str
    # The identities list is versioned on its own: PUT .../identities takes its own If-Match.
    identities_version: int

    kind: ClassVar[str] = "profile"

    @property
    def entity_tag(self) -> str:
        return entity_tag(self.id, self.version, self.modified_at)

    @property
    def identities_tag(self) -> str:
        return entity_tag(self.id + "/identities", self.identities_version, 0)


Identity = User | ServiceId | Profile


@dataclass(frozen=True)
class RefreshGrant:
    iam_id: str
    account_id: str
    api_key_id: str | None
    client_id: str
    grant_type: str
    expires_at: int


@dataclass(frozen=True)
class Bootstrap:
    account_id: str
    created_apikey: str | None  # the admin key, only when this start generated it
    created_password: str | None  # the admin password, only when this start generated it
    username: str


@dataclass(frozen=True)
class Page:
    items: list[Any]
    offset: int
    has_more: bool
    # Where the next page starts (store.base.page_key), when has_more.
    after: tuple[Any, int] | None = None


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def entity_tag(entity_id: str, version: int, modified_at: int) -> str:
    return f"{version}-{hashlib.md5(f'{entity_id}:{version}:{modified_at}'.encode()).hexdigest()}"


def check_text(name: str | None, description: str | None) -> None:
    if name is not None and len(name) > MAX_NAME:
        raise Invalid(f"name must be at most {MAX_NAME} characters")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise Invalid(f"description must be at most {MAX_DESCRIPTION} characters")


def user_from_row(row: sqlite3.Row) -> User:
    return User(
        row["iam_id"],
        row["account_id"],
        row["username"],
        row["email"],
        row["given_name"],
        row["family_name"],
        row["created_at"],
    )


def service_id_from_row(row: sqlite3.Row) -> ServiceId:
    return ServiceId(
        row["id"],
        row["iam_id"],
        row["account_id"],
        row["name"],
        row["description"],
        row["namespace"],
        bool(row["locked"]),
        row["version"],
        row["created_at"],
        row["modified_at"],
        row["created_by"],
        tuple(json.loads(row["unique_instance_crns"])),
    )


def api_key_from_row(row: sqlite3.Row) -> ApiKey:
    return ApiKey(
        row["id"],
        row["account_id"],
        row["iam_id"],
        row["owner_kind"],
        row["name"],
        row["description"],
        bool(row["locked"]),
        bool(row["disabled"]),
        bool(row["support_sessions"]),
        row["action_when_leaked"],
        row["expires_at"],
        row["version"],
        row["created_at"],
        row["modified_at"],
        row["created_by"],
        row["sealed_value"] is not None,
    )


def profile_from_row(row: sqlite3.Row) -> Profile:
    return Profile(
        row["id"],
        row["iam_id"],
        row["account_id"],
        row["name"],
        row["description"],
        row["email"],
        row["version"],
        row["created_at"],
        row["modified_at"],
        row["created_by"],
        row["identities_version"],
    )
