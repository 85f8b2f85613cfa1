"""Identity limits and entity consumption (`/v1/accounts/{id}/limits/identity`), their
enforcement on create, and service ID group membership, with IBM's `IamIdentityV1` over HTTP as
the client wherever it has the call."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_platform_services import IamIdentityV1
from ibm_platform_services.iam_identity_v1 import IdentityLimitsUsageResponse
from servers import ADMIN_KEY, Running, grant, running

from iamcli.emulator.app import Settings
from iamcli.emulator.store import DEFAULT_LIMITS

MEMBER_KEY = "limits-member-key-" + "m" * 30
ACCOUNT_WIDE = (
    "serviceid_groups",
    "profiles",
    "profile_templates",
    "account_settings_templates",
    "idps",
    "cr_links",
    "cr_rules",
)


@dataclass
class World:
    server: Running
    iam: IamIdentityV1
    account: str
    member_iam_id: str

    def sdk_owner(self) -> str:
        """The administrator's IAM ID."""
        details = self.iam.get_api_keys_details(iam_api_key=ADMIN_KEY).get_result()
        return str(details["iam_id"])

    def sdk(self, apikey: str) -> IamIdentityV1:
        service = IamIdentityV1(authenticator=IAMAuthenticator(apikey, url=self.server.url))
        service.set_service_url(self.server.url)
        return service


@pytest.fixture
def world() -> Iterator[World]:
    """A server of its own, so that counts are exact and limits may be lowered."""
    with running(Settings(access_log=False)) as server:
        member, _, _ = server.store.add_member(server.account_id, "member", key=MEMBER_KEY)
        service = IamIdentityV1(authenticator=IAMAuthenticator(ADMIN_KEY, url=server.url))
        service.set_service_url(server.url)
        yield World(server, service, server.account_id, member.iam_id)


def refusal(info: pytest.ExceptionInfo[ApiException]) -> tuple[int, str, str]:
    body = info.value.http_response.json()
    assert body["status_code"] == str(info.value.status_code)
    error = body["errors"][0]
    return info.value.status_code, error["code"], error["message"]


def new_group(w: World, name: str | None = None) -> str:
    result = w.iam.create_service_id_group(
        account_id=w.account, name=name or f"g-{uuid.uuid4().hex[:8]}"
    ).get_result()
    return str(result["id"])


def new_service_id(w: World, group_id: str | None = None) -> dict[str, str]:
    result = w.iam.create_service_id(
        account_id=w.account,
        name=f"s-{uuid.uuid4().hex[:8]}",
        group_id=group_id,
        show_group_id="true",
    ).get_result()
    assert isinstance(result, dict)
    return result


# -- reading the limits ------------------------------------------------------------------


def test_limits_without_choices_are_every_maximum_and_no_count(world: World) -> None:
    response = world.iam.get_account_limits(account_id=world.account)
    assert response.get_status_code() == 200
    body = response.get_result()
    # IBM's model reads it whole, and every entry has IBM's default maximum.
    assert IdentityLimitsUsageResponse.from_dict(body).to_dict() == body
    for name in ACCOUNT_WIDE:
        assert body[name] == {"limit": DEFAULT_LIMITS[name]}
    assert body["apikeys_per_identity"] == {"limit": 20}
    assert body["claim_rules_per_profile"] == {"limit": 20}
    assert body["serviceids_per_group"] == {"limit": DEFAULT_LIMITS["serviceids_per_group"]}


def test_counts_follow_real_creates_and_deletes(world: World) -> None:
    gid = new_group(world)
    first = new_service_id(world, gid)
    second = new_service_id(world, gid)
    new_service_id(world)  # the default group
    for n in range(3):
        world.iam.create_api_key(name=f"k{n}", iam_id=first["iam_id"])
    world.iam.create_profile(name="p1", account_id=world.account)

    def consumption() -> dict[str, object]:
        result = world.iam.bulk_list_account_entity_consumption(
            account_id=world.account,
            serviceid_groups=True,
            serviceids_per_group=[gid, "ServiceIdGroup-12345678-1234-1234-1234-123456789abc"],
            profiles=True,
            apikeys_per_identity=[first["iam_id"], second["iam_id"]],
            idps=True,
            claim_rules_per_group=["AccessGroupId-12345678-1234-1234-1234-123456789abc"],
        ).get_result()
        assert isinstance(result, dict)
        return result

    body = consumption()
    assert body["serviceid_groups"] == {"limit": 100, "count": 1}
    assert body["profiles"] == {"limit": 2000, "count": 1}
    assert body["serviceids_per_group"] == {
        "limit": DEFAULT_LIMITS["serviceids_per_group"],
        "serviceid_groups": [
            {"group_id": gid, "count": 2},
            {"group_id": "ServiceIdGroup-12345678-1234-1234-1234-123456789abc", "count": 0},
        ],
    }
    assert body["apikeys_per_identity"] == {
        "limit": 20,
        "identities": [
            {"iam_id": first["iam_id"], "count": 3},
            {"iam_id": second["iam_id"], "count": 0},
        ],
    }
    # No identity providers or access groups on this server: always none used.
    assert body["idps"] == {"limit": DEFAULT_LIMITS["idps"], "count": 0}
    assert body["claim_rules_per_group"]["access_groups"] == [  # type: ignore[index]
        {"group_id": "AccessGroupId-12345678-1234-1234-1234-123456789abc", "count": 0}
    ]
    # A count not asked for is not given.
    assert body["cr_links"] == {"limit": DEFAULT_LIMITS["cr_links"]}

    world.iam.delete_service_id(id=first["id"])  # and its three keys with it
    body = consumption()
    assert body["serviceids_per_group"]["serviceid_groups"][0] == {  # type: ignore[index]
        "group_id": gid,
        "count": 1,
    }
    assert body["apikeys_per_identity"]["identities"][0]["count"] == 0  # type: ignore[index]

    # GET answers the same, its lists comma-separated.
    got = world.iam.get_account_limits(
        account_id=world.account,
        serviceid_groups=True,
        serviceids_per_group=f"{gid}, {gid},",
        apikeys_per_identity=second["iam_id"],
    ).get_result()
    assert got["serviceid_groups"] == {"limit": 100, "count": 1}
    assert got["serviceids_per_group"]["serviceid_groups"] == [{"group_id": gid, "count": 1}]
    assert got["apikeys_per_identity"]["identities"] == [{"iam_id": second["iam_id"], "count": 0}]


def test_profile_and_template_counts(world: World) -> None:
    profile = world.iam.create_profile(name="counted", account_id=world.account).get_result()
    pid = profile["id"]
    world.iam.create_claim_rule(
        profile_id=pid,
        type="Profile-CR",
        conditions=[{"claim": "name", "operator": "EQUALS", "value": '"vm"'}],
        cr_type="VSI",
    )
    world.iam.create_claim_rule(
        profile_id=pid,
        type="Profile-SAML",
        realm_name="https://idp.example/saml",
        conditions=[{"claim": "groups", "operator": "EQUALS", "value": '"ops"'}],
    )
    crn = f"crn:v1:bluemix:public:is:us-south:a/{world.account}::instance:0717_x"
    world.iam.create_link(profile_id=pid, cr_type="VSI", link={"crn": crn})
    template = world.iam.create_account_settings_template(
        account_id=world.account, name="t", account_settings={"mfa": "TOTP"}
    ).get_result()

    body = world.iam.bulk_list_account_entity_consumption(
        account_id=world.account,
        templates=True,
        template_versions_per_template=[template["id"]],
        claim_rules_per_profile=[pid],
        cr_rules=True,
        cr_rules_per_profile=[pid],
        cr_links=True,
        cr_links_per_profile=[pid],
    ).get_result()
    assert body["account_settings_templates"]["count"] == 1
    assert body["profile_templates"]["count"] == 0
    assert body["template_versions_per_template"]["templates"] == [
        {"template_id": template["id"], "count": 1}
    ]
    assert body["claim_rules_per_profile"]["profiles"] == [{"profile_id": pid, "count": 2}]
    assert body["cr_rules_per_profile"]["profiles"] == [{"profile_id": pid, "count": 1}]
    assert body["cr_rules"]["count"] == 1
    assert body["cr_links"]["count"] == 1
    assert body["cr_links_per_profile"]["profiles"] == [{"profile_id": pid, "count": 1}]


def test_ibm_integration_test_calls_pass(world: World) -> None:
    """IBM's own IT asks about IDs of its own account: they count 0 here, and answer 200."""
    assert world.iam.get_account_limits(account_id=world.account).get_status_code() == 200
    response = world.iam.bulk_list_account_entity_consumption(
        account_id=world.account,
        serviceid_groups=True,
        serviceids_per_group=["ServiceIdGroup-12345678-1234-1234-1234-123456789abc"],
        profiles=True,
        apikeys_per_identity=["iam-ServiceId-12345678-1234-1234-1234-123456789def"],
        templates=True,
        template_versions_per_template=[
            "AccountSettingsTemplate-12345678-1234-1234-1234-123456789abc"
        ],
        idps=True,
        claim_rules_per_group=["AccessGroupId-12345678-1234-1234-1234-123456789abc"],
    )
    assert response.get_status_code() == 200
    body = response.get_result()
    assert body["template_versions_per_template"]["templates"][0]["count"] == 0


# -- who may read them -------------------------------------------------------------------


def test_limits_of_another_account_are_refused(world: World) -> None:
    with pytest.raises(ApiException) as info:
        world.iam.get_account_limits(account_id="another-account")
    assert refusal(info)[:2] == (403, "forbidden")
    with pytest.raises(ApiException) as info:
        world.iam.bulk_list_account_entity_consumption(account_id="another-account")
    assert refusal(info)[0] == 403


def test_a_member_reads_limits_with_viewer_on_iam_identity(world: World) -> None:
    member = world.sdk(MEMBER_KEY)
    with pytest.raises(ApiException) as info:
        member.get_account_limits(account_id=world.account)
    assert refusal(info)[0] == 403
    with world.server.client(headers={"Authorization": f"Bearer {world.server.token()}"}) as c:
        grant(c, world.account, world.member_iam_id, "Viewer", serviceName="iam-identity")
    assert member.get_account_limits(account_id=world.account).get_status_code() == 200


def test_bad_choices_are_400(world: World) -> None:
    url = f"{world.server.url}/v1/accounts/{world.account}/limits/identity"
    auth = {"Authorization": f"Bearer {world.server.token()}"}
    with httpx.Client(timeout=10, headers=auth) as c:
        r = c.get(url, params={"profiles": "perhaps"})
        assert r.status_code == 400 and r.json()["errors"][0]["code"] == "bad_request"
        r = c.get(url, params={"apikeys_per_identity": ",".join(f"i{n}" for n in range(101))})
        assert r.status_code == 400
        r = c.post(url, json={"serviceids_per_group": "not-a-list"})
        assert r.status_code == 400
        r = c.post(url, json={"apikeys_per_identity": [f"i{n}" for n in range(101)]})
        assert r.status_code == 400
        r = c.post(url, content=b"{", headers={"Content-Type": "application/json"})
        assert r.status_code == 400
        r = httpx.get(url, timeout=10)
        assert r.status_code == 401


# -- enforcement -------------------------------------------------------------------------


def test_service_ids_past_the_limit_are_refused(world: World) -> None:
    world.server.store.set_identity_limit(world.account, "serviceids", 2)
    made = new_service_id(world)
    new_service_id(world)
    with pytest.raises(ApiException) as info:
        new_service_id(world)
    status, code, message = refusal(info)
    assert (status, code) == (400, "limit_exceeded")
    assert message == (
        "You have reached 100% of the maximum number of allowed Service IDs in account "
        f"{world.account}. Your current count is 2, and the limit is 2."
    )
    # A delete makes room again.
    world.iam.delete_service_id(id=made["id"])
    new_service_id(world)
    listed = world.iam.list_service_ids(account_id=world.account).get_result()
    assert len(listed["serviceids"]) == 2


def test_api_keys_per_identity_are_enforced(world: World) -> None:
    world.server.store.set_identity_limit(world.account, "apikeys_per_identity", 2)
    sid = new_service_id(world)
    world.iam.create_api_key(name="a", iam_id=sid["iam_id"])
    world.iam.create_api_key(name="b", iam_id=sid["iam_id"])
    with pytest.raises(ApiException) as info:
        world.iam.create_api_key(name="c", iam_id=sid["iam_id"])
    assert refusal(info)[:2] == (400, "limit_exceeded")
    # Another identity has keys of its own to count; the refused one made no key.
    other = new_service_id(world)
    world.iam.create_api_key(name="a", iam_id=other["iam_id"])
    keys = world.iam.list_api_keys(account_id=world.account, iam_id=sid["iam_id"]).get_result()
    assert len(keys["apikeys"]) == 2


def test_groups_profiles_and_rules_are_enforced(world: World) -> None:
    store = world.server.store
    store.set_identity_limit(world.account, "serviceid_groups", 1)
    store.set_identity_limit(world.account, "serviceids_per_group", 1)
    store.set_identity_limit(world.account, "profiles", 1)
    store.set_identity_limit(world.account, "claim_rules_per_profile", 1)
    gid = new_group(world)
    with pytest.raises(ApiException) as info:
        new_group(world)
    assert refusal(info)[:2] == (400, "limit_exceeded")

    new_service_id(world, gid)
    with pytest.raises(ApiException) as info:
        new_service_id(world, gid)
    assert refusal(info)[:2] == (400, "limit_exceeded")
    new_service_id(world)  # the default group is not that group

    pid = world.iam.create_profile(name="one", account_id=world.account).get_result()["id"]
    with pytest.raises(ApiException) as info:
        world.iam.create_profile(name="two", account_id=world.account)
    assert refusal(info)[:2] == (400, "limit_exceeded")
    rule = {"claim": "name", "operator": "EQUALS", "value": '"vm"'}
    world.iam.create_claim_rule(profile_id=pid, type="Profile-CR", conditions=[rule], cr_type="VSI")
    with pytest.raises(ApiException) as info:
        world.iam.create_claim_rule(
            profile_id=pid, type="Profile-CR", conditions=[rule], cr_type="VSI"
        )
    assert refusal(info)[:2] == (400, "limit_exceeded")

    body = world.iam.get_account_limits(
        account_id=world.account, serviceid_groups=True, profiles="true"
    ).get_result()
    assert body["serviceid_groups"] == {"limit": 1, "count": 1}
    assert body["profiles"] == {"limit": 1, "count": 1}


def test_an_account_settings_template_past_the_limit_is_refused(world: World) -> None:
    world.server.store.set_identity_limit(world.account, "account_settings_templates", 1)
    world.server.store.set_identity_limit(world.account, "template_versions_per_template", 1)
    first = world.iam.create_account_settings_template(
        account_id=world.account, name="t1", account_settings={"mfa": "TOTP"}
    ).get_result()
    with pytest.raises(ApiException) as info:
        world.iam.create_account_settings_template(
            account_id=world.account, name="t2", account_settings={"mfa": "TOTP"}
        )
    assert refusal(info)[:2] == (400, "limit_exceeded")
    with pytest.raises(ApiException) as info:
        world.iam.create_account_settings_template_version(
            template_id=first["id"], account_id=world.account, name="t1"
        )
    assert refusal(info)[:2] == (400, "limit_exceeded")


def test_limits_are_per_account(world: World) -> None:
    store = world.server.store
    store.set_identity_limit("another-account", "serviceids", 0)
    new_service_id(world)
    assert store.identity_limits("another-account")["serviceids"] == 0
    assert store.identity_limits(world.account)["serviceids"] == DEFAULT_LIMITS["serviceids"]


# -- service ID group membership ---------------------------------------------------------


def test_a_service_id_joins_its_group_and_lists_filter_by_group(world: World) -> None:
    gid = new_group(world)
    member = new_service_id(world, gid)
    loner = new_service_id(world)
    assert member["group_id"] == gid
    assert "group_id" not in loner  # IBM's default group has no documented ID

    got = world.iam.get_service_id(id=member["id"], show_group_id="true").get_result()
    assert got["group_id"] == gid
    assert "group_id" not in world.iam.get_service_id(id=member["id"]).get_result()
    updated = world.iam.update_service_id(
        id=member["id"], if_match="*", description="still grouped", show_group_id="true"
    ).get_result()
    assert updated["group_id"] == gid

    def listed(**kwargs: str) -> list[str]:
        page = world.iam.list_service_ids(account_id=world.account, **kwargs).get_result()
        return [s["id"] for s in page["serviceids"]]

    # IBM: without group_id "the default group is applied".
    assert listed() == [loner["id"]]
    assert listed(group_id=gid) == [member["id"]]
    page = world.iam.list_service_ids(
        account_id=world.account, group_id=gid, show_group_id="true"
    ).get_result()
    assert page["serviceids"][0]["group_id"] == gid
    assert listed(group_id="ServiceIdGroup-none") == []


def test_a_group_must_exist_in_the_service_ids_account(world: World) -> None:
    with pytest.raises(ApiException) as info:
        new_service_id(world, "ServiceIdGroup-none")
    assert refusal(info)[:2] == (404, "not_found")
    # A group of another account is as good as none, and nothing was made.
    world.server.store.bootstrap(account_id="other-account", username="other")
    foreign = world.server.store.create_serviceid_group(
        account_id="other-account", name="theirs", description=None, created_by="x"
    )
    with pytest.raises(ApiException) as info:
        new_service_id(world, foreign.id)
    assert refusal(info)[:2] == (404, "not_found")
    page = world.iam.list_service_ids(account_id=world.account, group_id=foreign.id)
    assert page.get_result()["serviceids"] == []
    assert world.iam.list_service_ids(account_id=world.account).get_result()["serviceids"] == []


def test_a_group_with_members_cannot_be_deleted(world: World) -> None:
    gid = new_group(world)
    member = new_service_id(world, gid)
    with pytest.raises(ApiException) as info:
        world.iam.delete_service_id_group(id=gid)
    status, code, message = refusal(info)
    assert (status, code) == (409, "conflict")
    assert "still has 1 service IDs" in message
    world.iam.delete_service_id(id=member["id"])
    assert world.iam.delete_service_id_group(id=gid).get_status_code() == 204


def test_api_key_lists_filter_by_the_service_ids_group(world: World) -> None:
    gid = new_group(world)
    member = new_service_id(world, gid)
    loner = new_service_id(world)
    in_group = world.iam.create_api_key(name="in", iam_id=member["iam_id"]).get_result()
    outside = world.iam.create_api_key(name="out", iam_id=loner["iam_id"]).get_result()
    mine = world.iam.create_api_key(name="mine", iam_id=world.sdk_owner()).get_result()

    def listed(**kwargs: str) -> set[str]:
        page = world.iam.list_api_keys(
            account_id=world.account, scope="account", pagesize=100, **kwargs
        ).get_result()
        return {k["id"] for k in page["apikeys"]}

    # The default group without group_id; user keys are in it whatever the group asked for.
    assert {outside["id"], mine["id"]} <= listed()
    assert in_group["id"] not in listed()
    assert in_group["id"] in listed(group_id=gid) and outside["id"] not in listed(group_id=gid)
    assert mine["id"] in listed(group_id=gid)
    # The keys of one named identity are all listed, its group or not.
    keys = world.iam.list_api_keys(account_id=world.account, iam_id=member["iam_id"])
    assert [k["id"] for k in keys.get_result()["apikeys"]] == [in_group["id"]]


@pytest.mark.parametrize("locked", ["false", "true"])
def test_a_refused_inline_key_leaves_no_service_id(world: World, locked: str) -> None:
    world.server.store.set_identity_limit(world.account, "apikeys_per_identity", 0)
    with pytest.raises(ApiException) as info:
        world.iam.create_service_id(
            account_id=world.account, name="keyed", apikey={"name": "k"}, entity_lock=locked
        )
    assert refusal(info)[:2] == (400, "limit_exceeded")
    world.server.store.set_identity_limit(world.account, "apikeys_per_identity", 20)
    with pytest.raises(ApiException) as info:
        world.iam.create_service_id(
            account_id=world.account, name="keyed", apikey={"name": "k", "apikey": "short"}
        )
    assert refusal(info)[0] == 400
    assert world.iam.list_service_ids(account_id=world.account).get_result()["serviceids"] == []
