"""The policy flags of `service-policy-create`, turned into resource attributes and roles."""

from __future__ import annotations

import pytest

from iamcli.errors import UsageError
from iamcli.flavors.policy_api import RoleScope
from iamcli.models import Role
from iamcli.services.policies import (
    PolicyFlags,
    resolve_roles,
    resource_attributes,
    role_names,
    role_scope,
)


class Roles:
    """A policy API that only lists roles (the one call role resolution makes)."""

    def __init__(self, *names: str) -> None:
        self.asked: list[RoleScope] = []
        self.available = [Role(f"crn:v1:bluemix:public:iam::::role:{n}", n) for n in names]

    def roles(self, scope: RoleScope) -> list[Role]:
        self.asked.append(scope)
        return self.available


def test_flags_become_attributes_in_ibmclouds_order() -> None:
    flags = PolicyFlags(
        roles="Viewer",
        resource="ServiceId-1",
        resource_type="serviceid",
        service_name="iam-identity",
        attributes="a=1, b = 2",
    )
    assert resource_attributes(flags) == (
        ("serviceName", "iam-identity"),
        ("resourceType", "serviceid"),
        ("resource", "ServiceId-1"),
        ("a", "1"),
        ("b", "2"),
    )
    assert resource_attributes(PolicyFlags(roles="Viewer")) is None
    assert resource_attributes(PolicyFlags(account_management=True)) == (
        ("serviceType", "platform_service"),
    )


@pytest.mark.parametrize(
    "flags",
    [
        PolicyFlags(attributes="novalue"),
        PolicyFlags(attributes="=x"),
        PolicyFlags(attributes="a=1,a=2"),
        PolicyFlags(service_name=" "),
        PolicyFlags(service_name="x", attributes="serviceName=y"),
        PolicyFlags(service_name="x", account_management=True),
    ],
)
def test_bad_flags_are_usage_errors(flags: PolicyFlags) -> None:
    with pytest.raises(UsageError):
        resource_attributes(flags)


def test_role_scope_follows_the_resource() -> None:
    assert role_scope((("serviceName", "kms"), ("region", "eu"))) == RoleScope(service="kms")
    assert role_scope((("serviceType", "platform_service"),)) == RoleScope(account_management=True)
    assert role_scope((("resourceGroupId", "rg"),)) == RoleScope(service="resource-controller")
    assert role_scope((("serviceType", "service"),)) == RoleScope(all_services=True)


def test_roles_by_display_name_or_crn_exactly() -> None:
    api = Roles("Viewer", "Operator", "Service ID creator")
    chosen = resolve_roles(
        api,  # type: ignore[arg-type]
        ["Service ID creator", "crn:v1:bluemix:public:iam::::role:Viewer", "Viewer"],
        RoleScope(service="iam-identity"),
    )
    assert [r.display_name for r in chosen] == ["Service ID creator", "Viewer"]
    assert api.asked == [RoleScope(service="iam-identity")]
    with pytest.raises(UsageError) as refused:
        resolve_roles(api, ["viewer"], RoleScope())  # type: ignore[arg-type]
    assert str(refused.value) == (
        "RoleDoesnotExist: viewer was not found. "
        "Valid roles are Viewer, Operator, Service ID creator"
    )
    assert role_names(" Viewer ,, Operator") == ["Viewer", "Operator"]
