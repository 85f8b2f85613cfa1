"""Trusted profiles, their claim rules, links and identities, driven by IBM's own SDK
(`IamIdentityV1`) over HTTP, plus the refusals IBM's SDK does not exercise."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_platform_services import IamIdentityV1
from ibm_platform_services.iam_identity_v1 import ProfileIdentityRequest

from support import Emulator


def identity_service(emulator: Emulator, apikey: str | None = None) -> IamIdentityV1:
    service = IamIdentityV1(
        authenticator=IAMAuthenticator(apikey or emulator.a.apikey, url=emulator.url)
    )
    service.set_service_url(emulator.url)
    return service


def status_of(call: object, *args: object, **kwargs: object) -> int:
    with pytest.raises(ApiException) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return int(info.value.status_code)


def fake_cr(account: str) -> str:
    return f"crn:v1:staging:public:iam-identity::a/{account}::computeresource:Fake-Compute-Resource"


@pytest.fixture
def iam(emulator: Emulator) -> IamIdentityV1:
    return identity_service(emulator)


@pytest.fixture
def profile(emulator: Emulator, iam: IamIdentityV1) -> Iterator[dict[str, str]]:
    created = iam.create_profile(
        name=f"fixture-{uuid.uuid4().hex[:8]}", account_id=emulator.a.account_id
    ).get_result()
    yield created
    with contextlib.suppress(ApiException):
        iam.delete_profile(profile_id=created["id"])


def admin_iam_id(emulator: Emulator) -> str:
    user = emulator.store.user_by_name(emulator.a.username)
    assert user is not None
    return user.iam_id


def test_profile_life_cycle_through_ibm_sdk(emulator: Emulator, iam: IamIdentityV1) -> None:
    account = emulator.a.account_id
    tag = uuid.uuid4().hex[:8]
    names = [f"SDK-Profile-{tag}-{n}" for n in range(3)]
    created = []
    for name in names:
        r = iam.create_profile(name=name, description=f"{name} desc", account_id=account)
        assert r.get_status_code() == 201
        created.append(r.get_result())
    first = created[0]
    assert first["id"].startswith("Profile-") and first["iam_id"] == "iam-" + first["id"]
    assert first["crn"] == (
        f"crn:v1:bluemix:public:iam-identity::a/{account}::profile:{first['id']}"
    )
    assert first["entity_tag"].startswith("1-")

    got = iam.get_profile(profile_id=first["id"], include_activity=True)
    assert got.get_status_code() == 200
    assert got.get_result()["name"] == names[0]
    etag = got.get_headers()["Etag"]
    assert etag == first["entity_tag"]

    # Paging: one per page, following `next` page tokens as IBM's integration test does.
    seen, token, pages = [], None, 0
    while pages < 50:
        body = iam.list_profiles(
            account_id=account, pagesize=1, pagetoken=token, filter=f'name co "{tag}"'
        ).get_result()
        seen += [p["name"] for p in body["profiles"]]
        pages += 1
        nxt = body.get("next")
        token = parse_qs(urlparse(nxt).query)["pagetoken"][0] if nxt else None
        if token is None:
            break
    assert sorted(seen) == sorted(names) and pages == 3
    by_name = iam.list_profiles(account_id=account, name=names[1]).get_result()["profiles"]
    assert [p["id"] for p in by_name] == [created[1]["id"]]
    desc = iam.list_profiles(
        account_id=account, filter=f'name co "{tag}"', sort="name", order="desc"
    ).get_result()["profiles"]
    assert [p["name"] for p in desc] == sorted(names, reverse=True)

    updated = iam.update_profile(
        profile_id=first["id"], if_match=etag, description="changed", email="p@example.com"
    )
    assert updated.get_status_code() == 200
    assert updated.get_result()["description"] == "changed"
    assert updated.get_result()["entity_tag"].startswith("2-")
    assert status_of(iam.update_profile, profile_id=first["id"], if_match=etag, name="x") == 412
    cleared = iam.update_profile(profile_id=first["id"], if_match="*", description="").get_result()
    assert "description" not in cleared and cleared["email"] == "p@example.com"
    assert status_of(iam.update_profile, profile_id=first["id"], if_match="*", name=names[1]) == 409
    assert status_of(iam.create_profile, name=names[1], account_id=account) == 409

    for p in created:
        assert iam.delete_profile(profile_id=p["id"]).get_status_code() == 204
    assert status_of(iam.get_profile, profile_id=first["id"]) == 404


def test_claim_rules_through_ibm_sdk(iam: IamIdentityV1, profile: dict[str, str]) -> None:
    pid = profile["id"]
    saml = iam.create_claim_rule(
        profile_id=pid,
        type="Profile-SAML",
        realm_name="https://sdk.test.realm/1234",
        expiration=43200,
        conditions=[{"claim": "blueGroups", "operator": "EQUALS", "value": '"cloud-docs-dev"'}],
    )
    assert saml.get_status_code() == 201
    rule = saml.get_result()
    assert rule["id"].startswith("ClaimRule-") and rule["realm_name"].endswith("/1234")
    cr = iam.create_claim_rule(
        profile_id=pid,
        type="Profile-CR",
        cr_type="IKS_SA",
        name="cr rule",
        conditions=[{"claim": "namespace", "operator": "EQUALS", "value": '"default"'}],
    ).get_result()
    assert cr["cr_type"] == "IKS_SA" and "realm_name" not in cr

    got = iam.get_claim_rule(profile_id=pid, rule_id=rule["id"])
    etag = got.get_headers()["Etag"]
    assert got.get_result()["conditions"][0]["value"] == '"cloud-docs-dev"'
    listed = iam.list_claim_rules(profile_id=pid).get_result()["rules"]
    assert [r["id"] for r in listed] == [rule["id"], cr["id"]]

    new = [{"claim": "blueGroups", "operator": "EQUALS", "value": '"Europe_Group"'}]
    changed = iam.update_claim_rule(
        profile_id=pid,
        rule_id=rule["id"],
        if_match=etag,
        type="Profile-SAML",
        realm_name="https://sdk.test.realm/1234",
        expiration=33200,
        conditions=new,
    ).get_result()
    assert changed["expiration"] == 33200 and changed["conditions"] == new
    stale = status_of(
        iam.update_claim_rule,
        profile_id=pid,
        rule_id=rule["id"],
        if_match=etag,
        type="Profile-SAML",
        realm_name="r",
        conditions=new,
    )
    assert stale == 412

    assert iam.delete_claim_rule(profile_id=pid, rule_id=rule["id"]).get_status_code() == 204
    assert status_of(iam.get_claim_rule, profile_id=pid, rule_id=rule["id"]) == 404
    assert [r["id"] for r in iam.list_claim_rules(profile_id=pid).get_result()["rules"]] == [
        cr["id"]
    ]


def test_claim_rule_bodies_are_checked(iam: IamIdentityV1, profile: dict[str, str]) -> None:
    pid = profile["id"]
    good = [{"claim": "namespace", "operator": "EQUALS", "value": '"default"'}]
    # Checked before the profile is looked up: 400 even on an unknown profile (PSGOIT).
    assert status_of(iam.create_claim_rule, profile_id="nope", type="", conditions=good) == 400
    assert (
        status_of(
            iam.create_claim_rule,
            profile_id="nope",
            type="Profile-CR",
            cr_type="VSI",
            conditions=good,
        )
        == 404
    )
    for bad in (
        {"type": "Profile-CR", "conditions": good},  # no cr_type
        {"type": "Profile-SAML", "conditions": good},  # no realm_name
        {"type": "Profile-CR", "cr_type": "VSI", "conditions": []},
        {
            "type": "Profile-CR",
            "cr_type": "VSI",
            "conditions": [{"claim": "zone", "operator": "EQUALS", "value": "bare"}],
        },
        {
            "type": "Profile-CR",
            "cr_type": "VSI",
            "conditions": [{"claim": "zone", "operator": "LIKE", "value": '"x"'}],
        },
    ):
        assert status_of(iam.create_claim_rule, profile_id=pid, **bad) == 400, bad
    for n in range(20):
        iam.create_claim_rule(
            profile_id=pid, type="Profile-CR", cr_type="VSI", conditions=good, name=f"r{n}"
        )
    too_many = status_of(
        iam.create_claim_rule, profile_id=pid, type="Profile-CR", cr_type="VSI", conditions=good
    )
    assert too_many == 400


def test_links_through_ibm_sdk(
    emulator: Emulator, iam: IamIdentityV1, profile: dict[str, str]
) -> None:
    pid = profile["id"]
    crn = fake_cr(emulator.a.account_id)
    made = iam.create_link(
        profile_id=pid,
        name="nice link",
        cr_type="ROKS_SA",
        link={"crn": crn, "namespace": "default", "name": "nice name"},
    )
    assert made.get_status_code() == 201
    link = made.get_result()
    got = iam.get_link(profile_id=pid, link_id=link["id"]).get_result()
    assert got["name"] == "nice link" and got["cr_type"] == "ROKS_SA"
    assert got["link"] == {"crn": crn, "namespace": "default", "name": "nice name"}
    assert [x["id"] for x in iam.list_links(profile_id=pid).get_result()["links"]] == [link["id"]]
    assert iam.delete_link(profile_id=pid, link_id=link["id"]).get_status_code() == 204
    assert status_of(iam.get_link, profile_id=pid, link_id=link["id"]) == 404

    ce = {"crn": crn, "component_type": "job", "component_name": "nightly"}
    iam.create_link(profile_id=pid, name="ce", cr_type="CE", link=ce)
    gone = iam.delete_link_by_parameters(
        profile_id=pid, type="CE", crn=crn, component_type="job", component_name="nightly"
    )
    assert gone.get_status_code() == 204
    assert iam.list_links(profile_id=pid).get_result()["links"] == []
    again = status_of(iam.delete_link_by_parameters, profile_id=pid, type="CE", crn=crn)
    assert again == 404

    # Another account's resource only with is_cross_account; Kubernetes links need the SA.
    other = fake_cr(emulator.b.account_id)
    assert status_of(iam.create_link, profile_id=pid, cr_type="VSI", link={"crn": other}) == 400
    crossed = iam.create_link(
        profile_id=pid, cr_type="VSI", link={"crn": other}, is_cross_account=True
    ).get_result()
    assert crossed["is_cross_account"] is True
    assert status_of(iam.create_link, profile_id=pid, cr_type="IKS_SA", link={"crn": crn}) == 400
    assert status_of(iam.create_link, profile_id="nope", cr_type="dummy", link={"crn": crn}) == 400
    assert status_of(iam.create_link, profile_id="nope", cr_type="VSI", link={"crn": crn}) == 404


def test_identities_through_ibm_sdk(
    emulator: Emulator, iam: IamIdentityV1, profile: dict[str, str]
) -> None:
    pid = profile["id"]
    account = emulator.a.account_id
    me = admin_iam_id(emulator)
    sid = iam.create_service_id(
        account_id=account, name="trusted", description="the robot"
    ).get_result()
    user = ProfileIdentityRequest(
        identifier=me, type="user", accounts=[account], description="Identity description"
    )
    robot = ProfileIdentityRequest(identifier=sid["id"], type="serviceid")
    empty = iam.get_profile_identities(profile_id=pid)
    assert empty.get_result()["identities"] == []
    tag = empty.get_headers()["Etag"]

    put = iam.set_profile_identities(profile_id=pid, if_match=tag, identities=[user, robot])
    assert put.get_status_code() == 200
    listed = put.get_result()["identities"]
    assert listed == [
        {
            "iam_id": me,
            "identifier": me,
            "type": "user",
            "accounts": [account],
            "description": "Identity description",
        },
        # A service ID's description stands in for a missing one (PSPYG).
        {
            "iam_id": sid["iam_id"],
            "identifier": sid["id"],
            "type": "serviceid",
            "description": "the robot",
        },
    ]
    stale = status_of(iam.set_profile_identities, profile_id=pid, if_match=tag, identities=[])
    assert stale == 412
    got = iam.get_profile_identities(profile_id=pid)
    assert got.get_headers()["Etag"] == got.get_result()["entity_tag"] != tag

    one = iam.get_profile_identity(profile_id=pid, identity_type="user", identifier_id=me)
    assert one.get_status_code() == 200 and one.get_result()["iam_id"] == me
    gone = iam.delete_profile_identity(profile_id=pid, identity_type="user", identifier_id=me)
    assert gone.get_status_code() == 204
    assert (
        status_of(iam.get_profile_identity, profile_id=pid, identity_type="user", identifier_id=me)
        == 404
    )
    added = iam.set_profile_identity(
        profile_id=pid, identity_type="user", identifier=me, type="user", accounts=[account]
    )
    assert added.get_status_code() == 200 and added.get_result()["iam_id"] == me
    twice = status_of(
        iam.set_profile_identity, profile_id=pid, identity_type="user", identifier=me, type="user"
    )
    assert twice == 409

    # A CRN identifier contains '/', which the SDK sends percent-encoded.
    crn = f"crn:v1:bluemix:public:project:us-south:a/{account}:inst-1::"
    iam.set_profile_identity(profile_id=pid, identity_type="crn", identifier=crn, type="crn")
    got_crn = iam.get_profile_identity(profile_id=pid, identity_type="crn", identifier_id=crn)
    assert got_crn.get_result()["iam_id"] == "crn-" + crn
    iam.delete_profile_identity(profile_id=pid, identity_type="crn", identifier_id=crn)

    cleared = iam.set_profile_identities(profile_id=pid, if_match="*", identities=[])
    assert cleared.get_result()["identities"] == []
    for bad in (
        ProfileIdentityRequest(identifier="IBMid-NOSUCHUSER", type="user"),
        ProfileIdentityRequest(identifier="ServiceId-none", type="serviceid"),
        ProfileIdentityRequest(identifier=sid["id"], type="serviceid", accounts=[account]),
        ProfileIdentityRequest(identifier="not-a-crn", type="crn"),
    ):
        assert (
            status_of(iam.set_profile_identities, profile_id=pid, if_match="*", identities=[bad])
            == 400
        )
    mismatch = status_of(
        iam.set_profile_identity, profile_id=pid, identity_type="crn", identifier=me, type="user"
    )
    assert mismatch == 400
    iam.set_profile_identities(profile_id=pid, if_match="*", identities=[robot])
    iam.delete_service_id(id=sid["id"])
    # A deleted service ID is no longer trusted.
    assert iam.get_profile_identities(profile_id=pid).get_result()["identities"] == []


def test_ibm_sdk_error_cases(emulator: Emulator, iam: IamIdentityV1) -> None:
    """The refusals IBM's integration test expects of live IAM."""
    assert status_of(iam.create_profile, name="x", account_id="invalid") == 400
    assert status_of(iam.get_profile, profile_id="invalid") == 404
    assert (
        status_of(iam.update_profile, profile_id="invalid", if_match="invalid", description="x")
        == 404
    )
    assert status_of(iam.delete_profile, profile_id="invalid") == 404
    cond = [{"claim": "blueGroups", "operator": "EQUALS", "value": '"x"'}]
    assert (
        status_of(
            iam.create_claim_rule,
            profile_id="invalid",
            type="Profile-SAML",
            realm_name="r",
            expiration=43200,
            conditions=cond,
        )
        == 404
    )
    assert status_of(iam.get_claim_rule, profile_id="invalid", rule_id="invalid") == 404
    assert (
        status_of(
            iam.update_claim_rule,
            profile_id="invalid",
            rule_id="invalid",
            if_match="invalid",
            type="Profile-SAML",
            realm_name="r",
            conditions=cond,
        )
        == 404
    )
    assert status_of(iam.delete_claim_rule, profile_id="invalid", rule_id="invalid") == 404
    link = {"crn": fake_cr(emulator.a.account_id), "namespace": "default", "name": "n"}
    assert status_of(iam.create_link, profile_id="invalid", cr_type="ROKS_SA", link=link) == 404
    assert status_of(iam.get_link, profile_id="invalid", link_id="invalid") == 404
    assert status_of(iam.delete_link, profile_id="invalid", link_id="invalid") == 404


def test_another_accounts_profiles_are_out_of_reach(
    emulator: Emulator, iam: IamIdentityV1, profile: dict[str, str]
) -> None:
    pid = profile["id"]
    me = admin_iam_id(emulator)
    cond = [{"claim": "namespace", "operator": "EQUALS", "value": '"default"'}]
    rule = iam.create_claim_rule(
        profile_id=pid, type="Profile-CR", cr_type="IKS_SA", conditions=cond
    ).get_result()
    crn = fake_cr(emulator.a.account_id)
    link = iam.create_link(profile_id=pid, cr_type="VSI", link={"crn": crn}).get_result()
    iam.set_profile_identity(profile_id=pid, identity_type="user", identifier=me, type="user")
    one = f"/v1/profiles/{pid}"
    rule_body = {"type": "Profile-CR", "cr_type": "VSI", "conditions": cond}
    identity = {"identifier": me, "type": "user"}
    attempts: list[tuple[str, str, dict[str, object]]] = [
        ("GET", one, {}),
        ("PUT", one, {"json": {"name": "mine"}, "headers": {"If-Match": "*"}}),
        ("DELETE", one, {}),
        ("GET", "/v1/profiles", {"params": {"account_id": emulator.a.account_id}}),
        ("POST", "/v1/profiles", {"json": {"name": "x", "account_id": emulator.a.account_id}}),
        ("GET", one + "/rules", {}),
        ("POST", one + "/rules", {"json": rule_body}),
        ("GET", f"{one}/rules/{rule['id']}", {}),
        ("PUT", f"{one}/rules/{rule['id']}", {"json": rule_body, "headers": {"If-Match": "*"}}),
        ("DELETE", f"{one}/rules/{rule['id']}", {}),
        ("GET", one + "/links", {}),
        ("POST", one + "/links", {"json": {"cr_type": "VSI", "link": {"crn": crn}}}),
        ("GET", f"{one}/links/{link['id']}", {}),
        ("DELETE", f"{one}/links/{link['id']}", {}),
        ("DELETE", one + "/links", {"params": {"type": "VSI", "crn": crn}}),
        ("GET", one + "/identities", {}),
        ("PUT", one + "/identities", {"json": {"identities": []}, "headers": {"If-Match": "*"}}),
        ("POST", one + "/identities/user", {"json": identity}),
        ("GET", f"{one}/identities/user/{me}", {}),
        ("DELETE", f"{one}/identities/user/{me}", {}),
    ]
    before = emulator.store.profile(pid)
    bob = {"Authorization": f"Bearer {emulator.token(emulator.b.apikey)}"}
    with emulator.client() as c:
        for method, path, kwargs in attempts:
            headers = {**bob, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
            r = c.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
            assert r.status_code == 403, (method, path, r.text)
            assert r.json()["status_code"] == "403"
    # Nothing changed.
    assert iam.get_claim_rule(profile_id=pid, rule_id=rule["id"]).get_status_code() == 200
    assert iam.get_link(profile_id=pid, link_id=link["id"]).get_status_code() == 200
    ids = iam.get_profile_identities(profile_id=pid).get_result()["identities"]
    assert [i["iam_id"] for i in ids] == [me]
    assert emulator.store.profile(pid) == before


def test_profiles_need_a_valid_token(emulator: Emulator, profile: dict[str, str]) -> None:
    with emulator.client() as c:
        r = c.get(f"/v1/profiles/{profile['id']}")
        assert r.status_code == 401 and r.json()["status_code"] == "401"
        r = c.get(f"/v1/profiles/{profile['id']}", headers={"Authorization": "Bearer not.a.token"})
        assert r.status_code == 401


def test_profiles_survive_a_restart(tmp_path: object) -> None:
    from pathlib import Path

    from iamcli.emulator.store import Store

    db = str(Path(str(tmp_path)) / "p.db")
    store = Store(db)
    boot = store.bootstrap(seed_apikey="k" * 40, username="admin", password="pw")
    made = store.create_profile(
        account_id=boot.account_id, name="kept", description=None, email=None, created_by="x"
    )
    store.close()
    again = Store(db)
    assert again.profile(made.id) == made
    again.close()
