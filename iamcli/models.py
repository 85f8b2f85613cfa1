"""What the CLI works with, whichever API family it came from: plain dataclasses.

`to_json()` gives the object in the field names of IBM's Identity API models (`id`, `iam_id`,
`entity_tag`, `created_at`, ...), for both families, so a script's `jq` filter does not depend
on the flavor of the profile. Private-family objects add `bound_to`, the CRN ICP binds them to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TokenGrant:
    """A token endpoint's answer."""

    access_token: str
    token_type: str = "Bearer"
    refresh_token: str | None = None
    expires_in: int | None = None
    expiration: int | None = None


@dataclass(frozen=True)
class Whoami:
    """Who a token speaks for."""

    iam_id: str
    account_id: str | None
    name: str
    kind: str  # "user" or "serviceid"


@dataclass(frozen=True)
class Introspection:
    active: bool
    claims: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None  # why a token is not active, when it is not


@dataclass(frozen=True)
class ServiceId:
    id: str
    name: str
    description: str | None = None
    iam_id: str | None = None
    crn: str | None = None
    account_id: str | None = None
    locked: bool = False
    created_at: str | None = None
    modified_at: str | None = None
    entity_tag: str | None = None
    bound_to: str | None = None
    # The API's own object, when it already uses IBM's model names (the public cloud).
    wire: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        if self.wire is not None:
            return dict(self.wire)
        return _drop_none(
            {
                "id": self.id,
                "iam_id": self.iam_id,
                "entity_tag": self.entity_tag,
                "crn": self.crn,
                "locked": self.locked,
                "created_at": self.created_at,
                "modified_at": self.modified_at,
                "account_id": self.account_id,
                "name": self.name,
                "description": self.description,
                "bound_to": self.bound_to,
            }
        )


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    description: str | None = None
    iam_id: str | None = None
    crn: str | None = None
    account_id: str | None = None
    locked: bool = False
    disabled: bool = False
    created_at: str | None = None
    created_by: str | None = None
    modified_at: str | None = None
    entity_tag: str | None = None
    bound_to: str | None = None
    # IBM Cloud's own names: what happens when the key is found leaked (none, disable, delete)
    # and when it stops working (yyyy-MM-ddTHH:mm+0000); None where the family has neither.
    action_when_leaked: str | None = None
    expires_at: str | None = None
    apikey: str | None = field(default=None, repr=False)  # the value: only right after create
    wire: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        if self.wire is not None:
            body = dict(self.wire)
            if self.apikey is not None:
                body["apikey"] = self.apikey
            return body
        return _drop_none(
            {
                "id": self.id,
                "entity_tag": self.entity_tag,
                "crn": self.crn,
                "locked": self.locked,
                "disabled": self.disabled,
                "created_at": self.created_at,
                "created_by": self.created_by,
                "modified_at": self.modified_at,
                "name": self.name,
                "description": self.description,
                "iam_id": self.iam_id,
                "account_id": self.account_id,
                "bound_to": self.bound_to,
                "action_when_leaked": self.action_when_leaked,
                "expires_at": self.expires_at,
                "apikey": self.apikey,
            }
        )


@dataclass(frozen=True)
class Owner:
    """Whose API keys: a service ID, or the caller itself (`service_id` None)."""

    service_id: ServiceId | None = None

    @property
    def is_self(self) -> bool:
        return self.service_id is None


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}
