"""The claim-rule operators and link matching that decide whether a compute resource is trusted."""

from __future__ import annotations

import pytest

from iamcli.emulator.profile_match import ComputeResource, condition_holds, link_trusts, rule_trusts
from iamcli.emulator.store.profiles import ClaimRule, Condition, ProfileLink

CLAIMS = {
    "namespace": "default",
    "groups": ["dev", "ops"],
    "region": "us-south",
    "replicas": 3,
    "public": False,
}


@pytest.mark.parametrize(
    ("claim", "operator", "value", "holds"),
    [
        ("namespace", "EQUALS", '"default"', True),
        ("namespace", "EQUALS", '"Default"', False),
        ("namespace", "EQUALS_IGNORE_CASE", '"DEFAULT"', True),
        ("namespace", "NOT_EQUALS", '"kube-system"', True),
        ("namespace", "NOT_EQUALS_IGNORE_CASE", '"DEFAULT"', False),
        ("replicas", "EQUALS", "3", True),
        ("replicas", "EQUALS", '"3"', True),  # compared as text, as IBM's docs say
        ("public", "EQUALS", "false", True),
        ("groups", "CONTAINS", '"ops"', True),
        ("groups", "CONTAINS", '"op"', False),  # membership, not a substring of a member
        ("region", "CONTAINS", '"south"', True),
        ("region", "IN", '["us-south", "eu-de"]', True),
        ("region", "IN", '["eu-de"]', False),
        ("region", "IN", '"us-south"', True),
        # A claim the resource lacks meets nothing, not even NOT_EQUALS.
        ("zone", "NOT_EQUALS", '"x"', False),
        ("namespace", "EQUALS", "not json", False),
    ],
)
def test_operators(claim: str, operator: str, value: str, holds: bool) -> None:
    assert condition_holds(Condition(claim, operator, value), CLAIMS) is holds


def _rule(cr_type: str, *conditions: Condition) -> ClaimRule:
    return ClaimRule("r", "p", None, "Profile-CR", None, cr_type, 0, conditions, 1, 0, 0)


CRN = "crn:v1:bluemix:public:containers-kubernetes:us-south:a/acct:c1::"
SA = ComputeResource("IKS_SA", CRN, {"namespace": "default", "name": "deployer"}, "deployer")


def test_a_rule_needs_its_type_and_every_condition() -> None:
    ns = Condition("namespace", "EQUALS", '"default"')
    sa = Condition("name", "EQUALS", '"deployer"')
    assert rule_trusts(_rule("IKS_SA", ns, sa), SA)
    assert not rule_trusts(_rule("ROKS_SA", ns, sa), SA)
    assert not rule_trusts(_rule("IKS_SA", ns, Condition("name", "EQUALS", '"other"')), SA)
    assert not rule_trusts(_rule("IKS_SA"), SA)  # no conditions trusts nobody
    saml = ClaimRule("r", "p", None, "Profile-SAML", "idp", None, 0, (ns,), 1, 0, 0)
    assert not rule_trusts(saml, SA)


def _link(cr_type: str, crn: str, namespace: str | None, name: str | None) -> ProfileLink:
    return ProfileLink("l", "p", None, cr_type, False, crn, namespace, name, None, None, 1, 0, 0)


def test_a_link_names_the_resource_and_its_service_account() -> None:
    assert link_trusts(_link("IKS_SA", CRN, "default", "deployer"), SA)
    assert not link_trusts(_link("IKS_SA", CRN, "default", "builder"), SA)
    assert not link_trusts(_link("IKS_SA", CRN.replace("c1", "c2"), "default", "deployer"), SA)
    vsi = ComputeResource("VSI", "crn:v1:x:a/acct::instance:i1", {}, "i1")
    assert link_trusts(_link("VSI", vsi.crn, None, None), vsi)
    assert not link_trusts(_link("BMS", vsi.crn, None, None), vsi)
