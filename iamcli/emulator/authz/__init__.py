"""The one place that decides access on `iamcli serve` (DESIGN.md, "Growth").

A route never decides access itself: it names the action (IBM's action names, such as
`iam-identity.serviceid.update`, `iam-identity.profile.create`, `iam.policy.create`) and the
resource it acts on, and calls :func:`require`. The engine answers from the account's access
policies and roles (the policies issue fills it in); the PDP (`/v2/authz`) asks the same engine.

This first version keeps today's rule, so that routes can be written against the interface
before the engine exists: a subject may act on resources of its own account only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..problems import Problem


@dataclass(frozen=True)
class Subject:
    """Who asks: an authenticated identity of one account."""

    iam_id: str
    account_id: str
    # "user", "serviceid" or "profile": the kinds that can be subjects of IBM's policies.
    kind: str
    # The token's other claims (scope, sub_type, ...) for conditions that read them.
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resource:
    """What is acted on, as the attributes IBM's policies match (`accountId`, `serviceName`,
    `resourceType`, `resource`, `serviceInstance`, `region`, `resourceGroupId`, ...)."""

    account_id: str
    service_name: str = "iam-identity"
    resource_type: str | None = None
    resource: str | None = None
    # Facts the Identity API's own rules need (reference §4.2): who created the entity, and
    # whose credential an API key is.
    created_by: str | None = None
    owner_iam_id: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)

    def as_attributes(self) -> dict[str, str]:
        attrs = {"accountId": self.account_id, "serviceName": self.service_name}
        if self.resource_type is not None:
            attrs["resourceType"] = self.resource_type
        if self.resource is not None:
            attrs["resource"] = self.resource
        return {**attrs, **self.attributes}


@dataclass(frozen=True)
class Decision:
    permitted: bool
    # Why, in words fit for a 403 message; never a secret.
    reason: str = ""


def decide(subject: Subject, action: str, resource: Resource) -> Decision:
    if subject.account_id != resource.account_id:
        return Decision(False, "not a member of the resource's account")
    return Decision(True)


def require(subject: Subject, action: str, resource: Resource, *, message: str = "") -> None:
    """Raise the API's 403 unless SUBJECT may perform ACTION on RESOURCE."""
    decision = decide(subject, action, resource)
    if not decision.permitted:
        raise Problem(403, message or f"You are not authorized to perform {action[:100]}")
