"""The one place that decides access on `iamcli serve` (DESIGN.md, "Growth").

A route never decides access itself: it names the action (IBM's action names, such as
`iam-identity.serviceid.update`, `iam-identity.profile.create`, `iam.policy.create`) and the
resource it acts on, and calls :func:`require`. The engine (engine.py) answers from the Identity
API's own rules (reference/profiles-policies-authz.md §4.2), the account owner's standing, and the
account's access policies and roles; the PDP (`/v2/authz`) asks the same engine.

A Subject carries the engine of the server that authenticated it (through the Caller), so that
`decide(subject, action, resource)` needs nothing else; a Subject made without one is judged by
the built-in rules alone, which permit nothing that needs a policy or the owner's standing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..problems import Problem
from .engine import AccountFacts, Engine, Grant, Outcome, PolicySource

if TYPE_CHECKING:
    from ..tokens import Caller

__all__ = [
    "AccountFacts",
    "Decision",
    "Engine",
    "Grant",
    "PolicySource",
    "Resource",
    "Subject",
    "decide",
    "require",
    "subject_of",
]


@dataclass(frozen=True)
class Subject:
    """Who asks: an authenticated identity of one account."""

    iam_id: str
    account_id: str
    # "user", "serviceid" or "profile": the kinds that can be subjects of IBM's policies.
    kind: str
    # The token's other claims (scope, sub_type, ...) for conditions that read them.
    claims: dict[str, Any] = field(default_factory=dict)
    engine: Engine | None = field(default=None, compare=False, repr=False)


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
        attrs = {"accountId": self.account_id}
        # An empty service name: a resource named by other attributes (serviceType=service).
        if self.service_name:
            attrs["serviceName"] = self.service_name
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
    # The access policy that granted it, when one did.
    policy_id: str | None = None


class _NoPolicies:
    def authz_generation(self, account_id: str) -> int:
        return 0

    def authz_facts(self, account_id: str) -> AccountFacts:
        return AccountFacts(None, ())


_BUILT_IN_ONLY = Engine(_NoPolicies())


def subject_of(caller: Caller) -> Subject:
    """The Subject a request's Caller speaks for; its kind is the identity's own."""
    identity = caller.identity
    return Subject(
        identity.iam_id, caller.account_id, identity.kind, dict(caller.claims), caller.engine
    )


def decide(subject: Subject, action: str, resource: Resource) -> Decision:
    outcome: Outcome = (subject.engine or _BUILT_IN_ONLY).decide(subject, action, resource)
    return Decision(outcome.permitted, outcome.reason, outcome.policy_id)


def require(subject: Subject, action: str, resource: Resource, *, message: str = "") -> None:
    """Raise the API's 403 unless SUBJECT may perform ACTION on RESOURCE."""
    decision = decide(subject, action, resource)
    if not decision.permitted:
        raise Problem(403, message or f"You are not authorized to perform {action[:100]}")
