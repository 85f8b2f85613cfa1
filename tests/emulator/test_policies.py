"""IBM's IamPolicyManagementV1 and UserManagementV1, unchanged, against `iamcli serve`: the
policy and role life cycle (v1, v2, custom roles) and the Policy API's refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_platform_services import IamPolicyManagementV1, UserManagementV1
from ibm_platform_services.iam_policy_management_v1 import (
    Control,
    CustomRole,
    Grant,
    Policy,
    PolicyCollection,
    PolicyResource,
    PolicyRole,
    PolicySubject,
    ResourceAttribute,
    ResourceTag,
    RoleCollection,
    RuleAttribute,
    SubjectAttribute,
    V2Policy,
    V2PolicyCollection,
    V2PolicyResource,
    V2PolicyResourceAttribute,
    V2PolicyResourceTag,
    V2PolicyRuleRuleWithNestedConditions,
    V2PolicySubject,
    V2PolicySubjectAttribute,
)
from ibm_platform_services.user_management_v1 import InviteUser
from servers import ADMIN_KEY, Running, running

from iamcli.emulator.app import Settings

VIEWER = "crn:v1:bluemix:public:iam::::role:Viewer"
EDITOR = "crn:v1:bluemix:public:iam::::role:Editor"
SERVICE_ID_CREATOR = "crn:v1:bluemix:public:iam-identity::::serviceRole:ServiceIdCreator"
USER = "IBMid-Py12345"


@pytest.fixture(scope="module")
def server() -> Iterator[Running]:
    with running(Settings(access_log=False)) as server:
        yield server


def policies(server: Running, apikey: str = ADMIN_KEY) -> IamPolicyManagementV1:
    service = IamPolicyManagementV1(authenticator=IAMAuthenticator(apikey, url=server.url))
    service.set_service_url(server.url)
    return service


def v1_resource(account: str) -> PolicyResource:
    return PolicyResource(
        attributes=[
            ResourceAttribute(name="accountId", value=account, operator="stringEquals"),
            ResourceAttribute(name="serviceType", value="service", operator="stringEquals"),
        ],
        tags=[ResourceTag(name="project", value="prototype", operator="stringEquals")],
    )


def test_v1_policy_life_cycle(server: Running) -> None:
    iam = policies(server)
    account = server.account_id
    subject = PolicySubject(attributes=[SubjectAttribute(name="iam_id", value=USER)])
    resource = v1_resource(account)

    created = iam.create_policy(
        type="access", subjects=[subject], roles=[PolicyRole(role_id=VIEWER)], resources=[resource]
    )
    assert created.get_status_code() == 201
    policy = Policy.from_dict(created.get_result())
    assert policy.subjects[0] == subject and policy.resources[0] == resource
    assert policy.roles[0].role_id == VIEWER and policy.roles[0].display_name == "Viewer"
    assert policy.href.endswith(f"/v1/policies/{policy.id}")

    got = iam.get_policy(policy_id=policy.id)
    assert got.get_status_code() == 200 and got.get_result()["state"] == "active"
    etag = got.get_headers()["ETag"]

    replaced = iam.replace_policy(
        policy_id=policy.id,
        if_match=etag,
        type="access",
        subjects=[subject],
        roles=[PolicyRole(role_id=EDITOR)],
        resources=[resource],
    )
    assert replaced.get_status_code() == 200
    assert Policy.from_dict(replaced.get_result()).roles[0].role_id == EDITOR
    with pytest.raises(ApiException) as stale:
        iam.replace_policy(
            policy_id=policy.id,
            if_match=etag,
            type="access",
            subjects=[subject],
            roles=[PolicyRole(role_id=VIEWER)],
            resources=[resource],
        )
    assert stale.value.status_code == 412

    listed = PolicyCollection.from_dict(
        iam.list_policies(account_id=account, iam_id=USER).get_result()
    )
    assert [p.id for p in listed.policies] == [policy.id]

    assert iam.delete_policy(policy_id=policy.id).get_status_code() == 204
    active = iam.list_policies(account_id=account, iam_id=USER).get_result()["policies"]
    assert active == []
    deleted = iam.list_policies(account_id=account, iam_id=USER, state="deleted").get_result()
    assert [p["id"] for p in deleted["policies"]] == [policy.id]
    # A deleted policy still answers, with its state, so that it can be restored.
    gone = iam.get_policy(policy_id=policy.id)
    assert gone.get_result()["state"] == "deleted"
    with pytest.raises(ApiException) as twice:
        iam.delete_policy(policy_id=policy.id)
    assert twice.value.status_code == 404
    restored = iam.update_policy_state(
        policy_id=policy.id, if_match=gone.get_headers()["ETag"], state="active"
    )
    assert restored.get_status_code() == 200 and restored.get_result()["state"] == "active"
    iam.delete_policy(policy_id=policy.id)


def test_v2_policy_life_cycle_and_the_v1_list(server: Running) -> None:
    iam = policies(server)
    account = server.account_id
    subject = V2PolicySubject(
        attributes=[
            V2PolicySubjectAttribute(key="iam_id", value=USER + "2", operator="stringEquals")
        ]
    )
    resource = V2PolicyResource(
        attributes=[
            V2PolicyResourceAttribute(key="accountId", value=account, operator="stringEquals"),
            V2PolicyResourceAttribute(key="serviceType", value="service", operator="stringEquals"),
        ],
        tags=[V2PolicyResourceTag(key="project", value="prototype", operator="stringEquals")],
    )
    rule = V2PolicyRuleRuleWithNestedConditions(
        operator="and",
        conditions=[
            RuleAttribute(
                key="{{environment.attributes.day_of_week}}",
                operator="dayOfWeekAnyOf",
                value=["1+00:00", "2+00:00", "3+00:00", "4+00:00", "5+00:00"],
            ),
            RuleAttribute(
                key="{{environment.attributes.current_time}}",
                operator="timeGreaterThanOrEquals",
                value="09:00:00+00:00",
            ),
        ],
    )
    control = Control(grant=Grant(roles=[PolicyRole(role_id=VIEWER)]))
    created = iam.create_v2_policy(
        type="access",
        subject=subject,
        control=control,
        resource=resource,
        pattern="time-based-conditions:weekly:custom-hours",
        rule=rule,
    )
    assert created.get_status_code() == 201
    policy = V2Policy.from_dict(created.get_result())
    assert policy.subject == subject and policy.resource == resource
    assert Control.from_dict(policy.control).grant.roles[0].role_id == VIEWER
    assert created.get_result()["rule"] == rule.to_dict()

    got = iam.get_v2_policy(id=policy.id)
    replaced = iam.replace_v2_policy(
        id=policy.id,
        if_match=got.get_headers()["ETag"],
        type="access",
        subject=subject,
        control=Control(grant=Grant(roles=[PolicyRole(role_id=EDITOR)])),
        resource=resource,
    )
    assert Control.from_dict(replaced.get_result()["control"]).grant.roles[0].role_id == EDITOR
    listed = V2PolicyCollection.from_dict(
        iam.list_v2_policies(account_id=account, iam_id=USER + "2").get_result()
    )
    assert [p.id for p in listed.policies] == [policy.id]
    # The v1 list shows it as IBM's placeholder, told apart by its href.
    v1 = PolicyCollection.from_dict(iam.list_policies(account_id=account).get_result())
    [placeholder] = [p for p in v1.policies if p.id == policy.id]
    assert "v2/policies" in placeholder.href
    assert placeholder.roles[0].role_id == "crn:v1:bluemix:public:iam::::role:UnsupportedVersion"
    assert iam.delete_v2_policy(id=policy.id).get_status_code() == 204


def test_custom_role_life_cycle_and_role_lists(server: Running) -> None:
    iam = policies(server)
    account = server.account_id
    created = iam.create_role(
        name="TestPythonRole",
        account_id=account,
        service_name="iam-groups",
        display_name="SDK Test role",
        description="SDK Test role description",
        actions=["iam-groups.groups.read"],
    )
    assert created.get_status_code() == 201
    role = CustomRole.from_dict(created.get_result())
    assert role.crn.endswith("::customRole:TestPythonRole")
    got = iam.get_role(role_id=role.id)
    replaced = iam.replace_role(
        role_id=role.id,
        if_match=got.get_headers()["ETag"],
        display_name="Updated SDK Test role",
        description="Updated",
        actions=["iam-groups.groups.read", "iam-groups.groups.list"],
    )
    assert replaced.get_result()["display_name"] == "Updated SDK Test role"
    with pytest.raises(ApiException) as conflict:
        iam.create_role(
            name="TestPythonRole",
            account_id=account,
            service_name="iam-groups",
            display_name="again",
            actions=["iam-groups.groups.read"],
        )
    assert conflict.value.status_code == 409

    listed = RoleCollection.from_dict(
        iam.list_roles(account_id=account, service_name="iam-groups").get_result()
    )
    assert [r.id for r in listed.custom_roles] == [role.id]
    iam_roles = RoleCollection.from_dict(
        iam.list_roles(account_id=account, service_group_id="IAM").get_result()
    )
    assert VIEWER in [r.crn for r in iam_roles.system_roles]
    assert SERVICE_ID_CREATOR in [r.crn for r in iam_roles.service_roles]
    identity = iam.list_roles(service_name="iam-identity").get_result()
    names = {r["display_name"] for r in identity["service_roles"]}
    assert {"Service ID creator", "User API key creator", "API key reviewer"} <= names
    [operator] = [r for r in identity["system_roles"] if r["display_name"] == "Operator"]
    assert "iam-identity.apikey.create" in operator["actions"]
    assert iam.delete_role(role_id=role.id).get_status_code() == 204
    with pytest.raises(ApiException) as gone:
        iam.get_role(role_id=role.id)
    assert gone.value.status_code == 404


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "nonsense"}, "type"),
        ({"roles": [{"role_id": "crn:v1:bluemix:public:iam::::role:NoSuchRole"}]}, "role"),
        ({"resources": [{"attributes": [{"name": "serviceName", "value": "x"}]}]}, "accountId"),
        ({"subjects": []}, "subjects"),
    ],
)
def test_invalid_policies_are_400_in_the_policy_apis_shape(
    server: Running, change: dict[str, object], message: str
) -> None:
    body = {
        "type": "access",
        "subjects": [{"attributes": [{"name": "iam_id", "value": USER}]}],
        "roles": [{"role_id": VIEWER}],
        "resources": [
            {
                "attributes": [
                    {"name": "accountId", "value": server.account_id},
                    {"name": "serviceName", "value": "iam-groups"},
                ]
            }
        ],
        **change,
    }
    with server.client(headers={"Authorization": f"Bearer {server.token()}"}) as c:
        r = c.post("/v1/policies", json=body)
    assert r.status_code == 400
    answer = r.json()
    assert answer["status_code"] == 400 and answer["trace"]
    assert answer["errors"][0]["code"] == "invalid_body"
    assert message in answer["errors"][0]["message"]


def test_policies_need_the_account_id_and_survive_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "policies.db")
    with running(Settings(db=db, access_log=False)) as first:
        iam = policies(first)
        with first.client(headers={"Authorization": f"Bearer {first.token()}"}) as c:
            missing = c.get("/v1/policies")
        assert missing.status_code == 400
        assert missing.json()["errors"][0]["code"] == "missing_required_query_parameter"
        created = iam.create_policy(
            type="access",
            subjects=[PolicySubject(attributes=[SubjectAttribute(name="iam_id", value=USER)])],
            roles=[PolicyRole(role_id=VIEWER)],
            resources=[v1_resource(first.account_id)],
        ).get_result()
        first.store.close()
    with running(Settings(db=db, access_log=False)) as second:
        again = policies(second).get_policy(policy_id=created["id"]).get_result()
        assert again["roles"][0]["role_id"] == VIEWER


def test_user_management_invites_a_member(server: Running) -> None:
    users = UserManagementV1(authenticator=IAMAuthenticator(ADMIN_KEY, url=server.url))
    users.set_service_url(server.url)
    invited = users.invite_users(
        account_id=server.account_id,
        users=[InviteUser(email="bob@example.com", account_role="Member")],
        iam_policy=[
            {
                "type": "access",
                "roles": [{"role_id": VIEWER}],
                "resources": [
                    {
                        "attributes": [
                            {"name": "accountId", "value": server.account_id},
                            {"name": "serviceName", "value": "iam-identity"},
                        ]
                    }
                ],
            }
        ],
    )
    assert invited.get_status_code() == 202
    [bob] = invited.get_result()["resources"]
    assert bob["email"] == "bob@example.com" and bob["id"].startswith("IBMid-")
    listed = users.list_users(account_id=server.account_id).get_result()
    assert "bob@example.com" in [u["email"] for u in listed["resources"]]
    profile = users.get_user_profile(account_id=server.account_id, iam_id=bob["id"]).get_result()
    assert profile["iam_id"] == bob["id"] and profile["state"] == "ACTIVE"
    # The invitation's policy is the new member's.
    mine = policies(server).list_policies(account_id=server.account_id, iam_id=bob["id"])
    assert mine.get_result()["policies"][0]["roles"][0]["role_id"] == VIEWER


def test_a_subject_is_named_exactly_and_iam_actions_are_no_custom_roles(server: Running) -> None:
    with server.client(headers={"Authorization": f"Bearer {server.token()}"}) as c:
        wildcard = c.post(
            "/v2/policies",
            json={
                "type": "access",
                "control": {"grant": {"roles": [{"role_id": VIEWER}]}},
                "subject": {
                    "attributes": [{"key": "iam_id", "operator": "stringMatch", "value": "*"}]
                },
                "resource": {
                    "attributes": [
                        {
                            "key": "accountId",
                            "operator": "stringEquals",
                            "value": server.account_id,
                        },
                        {"key": "serviceName", "operator": "stringEquals", "value": "iam-identity"},
                    ]
                },
            },
        )
        assert wildcard.status_code == 400
        assert wildcard.json()["errors"][0]["code"] == "invalid_body"
        role = c.post(
            "/v2/roles",
            json={
                "name": "Granter",
                "display_name": "Granter",
                "account_id": server.account_id,
                "service_name": "iam",
                "actions": ["iam.policy.create"],
            },
        )
        assert role.status_code == 400
        foreign = c.post(
            "/v2/roles",
            json={
                "name": "Elsewhere",
                "display_name": "Elsewhere",
                "account_id": "another-account",
                "service_name": "library",
                "actions": ["library.books.read"],
            },
        )
        assert foreign.status_code == 403
