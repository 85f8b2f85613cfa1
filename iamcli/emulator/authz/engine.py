"""The decision: the Identity API's own rules, then the account owner, then access policies.

Policies are read from a PolicySource (the store) once per account and kept, indexed by subject,
until the account's generation changes: every policy or custom-role change bumps it in the same
transaction, so a decision costs one indexed read of that number (which also tells a worker that
another worker changed a policy) plus a dictionary lookup.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from . import catalog
from .conditions import rule_holds, string_matches

if TYPE_CHECKING:
    from . import Resource, Subject

# Account-management services (reference §3.1): `serviceType=platform_service` covers these and
# `serviceType=service` ("all IAM-enabled services") does not.
ACCOUNT_MANAGEMENT = frozenset(
    {
        "iam-identity",
        "iam-groups",
        "iam-access-management",
        "user-management",
        "billing",
        "enterprise",
        "globalcatalog",
        "globalcatalog-collection",
        "support",
        "cloudshell",
        "context-based-restrictions",
        "project",
        "security-compliance",
        "entitlement",
    }
)
IAM_SERVICES = frozenset({"iam-identity", "iam-groups", "iam-access-management", "user-management"})

APIKEY = "iam-identity.apikey."
# What an identity owns outright: its API keys and its identity preferences.
OWN = (APIKEY, "iam-identity.preference.")
CREATE_APIKEY = "iam-identity.apikey.create"
MANAGE_APIKEY = "iam-identity.apikey.manage"
CREATE_SERVICE_ID = "iam-identity.serviceid.create"
CREATE_USER_APIKEY = "iam-identity.user-apikey.create"
# Resource attributes the Identity routes set from the account's settings.
RESTRICT_SERVICE_IDS = "restrict_create_service_id"
RESTRICT_USER_KEYS = "restrict_create_platform_apikey"
ON = "RESTRICTED"
GET_SERVICE_ID = "iam-identity.serviceid.get"
# Set by the profile routes on a change to what an enterprise template owns (a profile an
# assignment made, its template-defined rules and identities; store/profile_templates.py).
TEMPLATE_MANAGED = "templateManaged"


@dataclass(frozen=True)
class Grant:
    """One active access policy, reduced to what a decision reads."""

    policy_id: str
    subject_iam_id: str
    # (key, operator, value); a v1 attribute without an operator is stringEquals.
    resource: tuple[tuple[str, str, Any], ...]
    roles: tuple[str, ...]
    rule: dict[str, Any] | None = None
    # Subject attributes besides iam_id (v2 policies may carry more); each must match.
    subject: tuple[tuple[str, str, Any], ...] = ()
    has_tags: bool = False


@dataclass(frozen=True)
class AccountFacts:
    owner_iam_id: str | None
    grants: tuple[Grant, ...]
    custom_roles: dict[str, frozenset[str]] = field(default_factory=dict)


class PolicySource(Protocol):
    def authz_generation(self, account_id: str) -> int: ...

    def authz_facts(self, account_id: str) -> AccountFacts: ...


@dataclass
class _Index:
    owner: str | None
    by_subject: dict[str, list[Grant]]
    custom_roles: dict[str, frozenset[str]]

    def role_allows(self, roles: Iterable[str], action: str) -> bool:
        for crn in roles:
            if catalog.builtin_allows(crn, action):
                return True
            custom = self.custom_roles.get(crn)
            if custom is not None and action in custom:
                return True
        return False


def is_user(iam_id: str) -> bool:
    # Service IDs are iam-ServiceId-…, trusted profiles iam-Profile-…; users are IBMid-… and the
    # like (private-family users included).
    return not iam_id.startswith("iam-")


def resource_attributes(resource: Resource) -> dict[str, str]:
    attrs = resource.as_attributes()
    service = attrs.get("serviceName")
    if service is not None:
        attrs.setdefault(
            "serviceType", "platform_service" if service in ACCOUNT_MANAGEMENT else "service"
        )
        if service in IAM_SERVICES:
            attrs.setdefault("service_group_id", "IAM")
    return attrs


def grant_matches(grant: Grant, attrs: dict[str, str], subject_attrs: dict[str, str]) -> bool:
    if grant.has_tags:
        return False  # no resource of this server carries tags
    for key, operator, value in grant.resource:
        if not string_matches(operator, value, attrs.get(key)):
            return False
    return all(
        string_matches(op, value, subject_attrs.get(key)) for key, op, value in grant.subject
    )


@dataclass(frozen=True)
class Outcome:
    permitted: bool
    reason: str
    policy_id: str | None = None


class Engine:
    def __init__(self, source: PolicySource, clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[int, _Index]] = {}
        # Owners never change (the owner cannot be removed), so they are known without the
        # generation read: the owner's requests, the most common, skip the store entirely.
        self._owners: dict[str, str] = {}

    def _index(self, account_id: str) -> _Index:
        generation = self.source.authz_generation(account_id)
        cached = self._cache.get(account_id)
        if cached is not None and cached[0] == generation:
            return cached[1]
        # Read after the generation: a change in between leaves a newer index under an older
        # number, which the next decision replaces; never an older index under a newer one.
        facts = self.source.authz_facts(account_id)
        by_subject: dict[str, list[Grant]] = {}
        for g in facts.grants:
            by_subject.setdefault(g.subject_iam_id, []).append(g)
        index = _Index(facts.owner_iam_id, by_subject, dict(facts.custom_roles))
        with self._lock:
            self._cache[account_id] = (generation, index)
            if facts.owner_iam_id is not None:
                self._owners[account_id] = facts.owner_iam_id
        return index

    def invalidate(self, account_id: str | None = None) -> None:
        with self._lock:
            if account_id is None:
                self._cache.clear()
            else:
                self._cache.pop(account_id, None)

    def owner_of(self, account_id: str) -> str | None:
        return self._index(account_id).owner

    def decide(self, subject: Subject, action: str, resource: Resource) -> Outcome:
        if subject.account_id != resource.account_id:
            return Outcome(False, "not a member of the resource's account")
        key_owner = resource.owner_iam_id
        # What an enterprise template made in a child account is changed through the template
        # alone: not even the child account's owner changes it here.
        if resource.attributes.get(TEMPLATE_MANAGED) == "true":
            return Outcome(False, "it is managed by an enterprise template")
        # Rule 5: account settings that restrict creation bind even the owner, who then needs
        # Service ID creator / User API key creator like anyone else.
        if action == CREATE_SERVICE_ID and resource.attributes.get(RESTRICT_SERVICE_IDS) == ON:
            return self._by_policy(subject, CREATE_SERVICE_ID, resource)
        if (
            action == CREATE_APIKEY
            and key_owner == subject.iam_id
            and is_user(key_owner)
            and resource.attributes.get(RESTRICT_USER_KEYS) == ON
        ):
            return self._by_policy(subject, CREATE_USER_APIKEY, resource)
        # Reference §4.2 rule 4: a user's API keys are created by that user alone, not by the
        # account owner and not by an Administrator.
        if action == CREATE_APIKEY and key_owner is not None and is_user(key_owner):
            if key_owner == subject.iam_id:
                return Outcome(True, "a user creates their own API keys")
            return Outcome(False, "only the user themself may create a user's API keys")
        if key_owner == subject.iam_id and action.startswith(OWN):
            return Outcome(True, "an identity manages its own API keys and preferences")
        # Rule 1: any member may create service IDs (unless restricted, above).
        if action == CREATE_SERVICE_ID:
            return Outcome(True, "any member may create service IDs")
        if (
            action == GET_SERVICE_ID
            and resource.resource_type == "serviceid"
            and resource.resource is not None
            and subject.iam_id == "iam-" + resource.resource
        ):
            return Outcome(True, "a service ID reads itself")
        if self._owners.get(resource.account_id) == subject.iam_id:
            return Outcome(True, "the account owner")
        index = self._index(resource.account_id)
        if index.owner is not None and subject.iam_id == index.owner:
            return Outcome(True, "the account owner")
        if key_owner is not None and is_user(key_owner) and action.startswith(APIKEY):
            # Rule 4: other users' keys are viewed, edited and deleted with Administrator only
            # (Editor's apikey.get/update are about service IDs' keys).
            action = MANAGE_APIKEY
        return self._by_policy(subject, action, resource, index)

    def _by_policy(
        self, subject: Subject, action: str, resource: Resource, index: _Index | None = None
    ) -> Outcome:
        index = index or self._index(resource.account_id)
        grants = index.by_subject.get(subject.iam_id)
        if not grants:
            return Outcome(False, "no access policy grants it")
        attrs = resource_attributes(resource)
        subject_attrs = {"iam_id": subject.iam_id, "accountId": subject.account_id}
        now = self.clock()
        for grant in grants:
            if (
                grant_matches(grant, attrs, subject_attrs)
                and index.role_allows(grant.roles, action)
                and rule_holds(grant.rule, now=now, resource=attrs, subject=subject_attrs)
            ):
                return Outcome(True, "granted by an access policy", grant.policy_id)
        return Outcome(False, "no access policy grants it")
