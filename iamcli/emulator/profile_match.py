"""Whether a compute resource is trusted by a profile: a link to it, or a `Profile-CR` rule
whose conditions its claims meet (reference/profiles-policies-authz.md §1.4-§1.5, §2.2).

A rule's condition value is a stringified JSON value (`"\\"default\\""`), compared as IBM's
docs describe (ACCT iam-condition-properties): the equals operators compare text (numbers and
booleans as JSON writes them), CONTAINS is membership for a list claim and a substring test for
a text claim, IN asks whether the claim is one of a list. Every condition of a rule must hold; a
claim the resource does not have meets no condition (also not a NOT_EQUALS one), so a rule can
never trust a resource for what it lacks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .store.profiles import ClaimRule, Condition, ProfileLink, account_of_crn

KUBERNETES = {"IKS_SA", "ROKS_SA"}


@dataclass(frozen=True)
class ComputeResource:
    """An authenticated compute resource: its type, its CRN, and the claims rules may test."""

    cr_type: str
    crn: str
    claims: Mapping[str, Any]
    name: str

    @property
    def account_id(self) -> str | None:
        return account_of_crn(self.crn)

    @property
    def iam_id(self) -> str:
        # The form IBM's tokens give a compute resource's IAM ID (§2.6 `authn.iam_id`).
        return "crn-" + self.crn


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def condition_holds(condition: Condition, claims: Mapping[str, Any]) -> bool:
    if condition.claim not in claims or claims[condition.claim] is None:
        return False
    actual = claims[condition.claim]
    try:
        wanted = json.loads(condition.value)
    except ValueError:  # stored before values were checked; such a rule trusts nothing
        return False
    op = condition.operator
    if op in ("EQUALS", "NOT_EQUALS"):
        return (_text(actual) == _text(wanted)) == (op == "EQUALS")
    if op in ("EQUALS_IGNORE_CASE", "NOT_EQUALS_IGNORE_CASE"):
        same = _text(actual).casefold() == _text(wanted).casefold()
        return same == (op == "EQUALS_IGNORE_CASE")
    if op == "CONTAINS":
        if isinstance(actual, list):
            return _text(wanted) in {_text(a) for a in actual}
        return _text(wanted) in _text(actual)
    if op == "IN":
        options = wanted if isinstance(wanted, list) else [wanted]
        return _text(actual) in {_text(o) for o in options}
    return False


def rule_trusts(rule: ClaimRule, resource: ComputeResource) -> bool:
    return (
        rule.type == "Profile-CR"
        and rule.cr_type == resource.cr_type
        and bool(rule.conditions)
        and all(condition_holds(c, resource.claims) for c in rule.conditions)
    )


def link_trusts(link: ProfileLink, resource: ComputeResource) -> bool:
    if link.cr_type != resource.cr_type or link.crn != resource.crn:
        return False
    claims = resource.claims
    if link.cr_type in KUBERNETES:
        return link.namespace == claims.get("namespace") and link.link_name == claims.get("name")
    if link.cr_type == "CE":
        return link.component_type == claims.get("component_type") and (
            link.component_name == claims.get("component_name")
        )
    return True
