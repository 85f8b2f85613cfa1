"""Trusted-profile templates and their assignments, through IBM's `IamIdentityV1`, in the order
IBM's own integration test runs them, and what an assignment makes in the child account."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAssumeAuthenticator, IAMAuthenticator
from ibm_platform_services import IamIdentityV1, IamPolicyManagementV1
from test_ibm_sdks import identity_service

from support import Emulator, seeded_emulator

REALM = "https://sdk.test.realm/1234"


@pytest.fixture(scope="module")
def enterprise(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """Account A is an enterprise with one child account, B."""
    emulator = seeded_emulator(str(tmp_path_factory.mktemp("ent") / "iam.db"))
    emulator.store.add_child_account(emulator.a.account_id, emulator.b.account_id)
    yield emulator
    emulator.server.stop()


def status_of(call: Callable[[], Any]) -> int:
    """The status with which the server refuses CALL, checked to be in IBM's error shape."""
    with pytest.raises(ApiException) as info:
        call()
    body = info.value.http_response.json()
    assert body["status_code"] == str(info.value.status_code) and body["errors"][0]["code"]
    return info.value.status_code


def admin_iam_id(emulator: Emulator, apikey: str | None = None) -> str:
    return str(jwt.decode(emulator.token(apikey), options={"verify_signature": False})["iam_id"])


def rule(name: str = "My Rule") -> dict[str, Any]:
    return {
        "name": name,
        "realm_name": REALM,
        "type": "Profile-SAML",
        "expiration": 43200,
        "conditions": [{"claim": "blueGroups", "operator": "EQUALS", "value": '"cloud-docs-dev"'}],
    }


def committed_template(iam: IamIdentityV1, ent: str, **parts: Any) -> str:
    made = iam.create_profile_template(
        account_id=ent, name=f"tpl-{uuid.uuid4().hex[:8]}", **parts
    ).get_result()
    iam.commit_profile_template(template_id=made["id"], version="1")
    return str(made["id"])


def assigned_profile(iam: IamIdentityV1, tid: str, child: str) -> tuple[str, str]:
    """Assign TID's version 1 to CHILD; the assignment's ID and the profile it made."""
    aid = iam.create_trusted_profile_assignment(
        template_id=tid, template_version=1, target_type="Account", target=child
    ).get_result()["id"]
    settled = iam.get_trusted_profile_assignment(assignment_id=aid).get_result()
    assert settled["status"] == "succeeded", settled
    return aid, settled["resources"][0]["profile"]["resource_created"]["id"]


def test_profile_template_life_cycle_as_ibm_runs_it(enterprise: Emulator) -> None:
    iam = identity_service(enterprise)
    child_iam = identity_service(enterprise, enterprise.b.apikey)
    ent, child = enterprise.a.account_id, enterprise.b.account_id
    name = f"Python-SDK-IT-TrustedProfileTemplate-{uuid.uuid4().hex[:8]}"
    profile_name = "From-${template_name}-in-${account_id}"

    created = iam.create_profile_template(
        name=name,
        description="Python SDK test Profile Template",
        account_id=ent,
        profile={"name": profile_name, "description": "from a template", "rules": [rule()]},
        policy_template_references=[{"id": "policyTemplate-1", "version": "1"}],
    )
    assert created.get_status_code() == 201 and created.get_headers()["Etag"]
    template = created.get_result()
    tid, version = template["id"], template["version"]
    assert tid.startswith("ProfileTemplate-") and version == 1 and template["committed"] is False
    assert template["profile"]["rules"][0]["realm_name"] == REALM
    assert template["policy_template_references"] == [{"id": "policyTemplate-1", "version": "1"}]

    got = iam.get_profile_template_version(
        template_id=tid, version=str(version), include_history=True
    )
    assert got.get_result()["name"] == name
    assert [h["action"] for h in got.get_result()["history"]] == ["create"]
    etag = got.get_headers()["Etag"]
    listed = iam.list_profile_templates(account_id=ent).get_result()
    assert tid in [t["id"] for t in listed["profile_templates"]]

    updated = iam.update_profile_template_version(
        account_id=ent,
        template_id=tid,
        version=str(version),
        if_match=etag,
        name=name,
        description="Python SDK test Profile Template - updated",
    )
    assert updated.get_status_code() == 200
    assert updated.get_result()["description"].endswith("updated")
    assert updated.get_result()["profile"]["name"] == profile_name  # parts not sent are kept
    assert updated.get_headers()["Etag"] != etag
    assert (
        status_of(
            lambda: iam.update_profile_template_version(
                if_match=etag, template_id=tid, version="1", description="stale"
            )
        )
        == 412
    )

    assert (
        status_of(
            lambda: iam.create_trusted_profile_assignment(
                template_id=tid, template_version=1, target_type="Account", target=child
            )
        )
        == 400
    )  # not committed yet
    assert iam.commit_profile_template(template_id=tid, version="1").get_status_code() == 204
    assert (
        status_of(
            lambda: iam.update_profile_template_version(
                if_match="*", template_id=tid, version="1", description="frozen"
            )
        )
        == 409
    )

    assigned = iam.create_trusted_profile_assignment(
        template_id=tid, template_version=1, target_type="Account", target=child
    )
    assert assigned.get_status_code() == 202 and assigned.get_headers()["Etag"]
    assert assigned.get_result()["status"] == "accepted"
    aid = assigned.get_result()["id"]

    listing = iam.list_trusted_profile_assignments(account_id=ent, template_id=tid).get_result()
    assert [a["id"] for a in listing["assignments"]] == [aid]
    assert "resources" not in listing["assignments"][0]  # IBM: only for one assignment
    current = iam.get_trusted_profile_assignment(assignment_id=aid)
    assignment = current.get_result()
    assert assignment["status"] == "succeeded"
    resource = assignment["resources"][0]
    assert resource["target"] == child and resource["profile"]["status"] == "succeeded"
    # No policy templates here: the reference is recorded, no policy is made.
    assert resource["policy_template_references"] == [
        {"id": "policyTemplate-1", "version": "1", "status": "succeeded"}
    ]
    pid = resource["profile"]["resource_created"]["id"]

    # The profile really is in the child account, made from the template and marked as such.
    profile = child_iam.get_profile(profile_id=pid).get_result()
    assert profile["account_id"] == child and profile["name"] == f"From-{name}-in-{child}"
    assert profile["template_id"] == tid and profile["assignment_id"] == aid
    rules = child_iam.list_claim_rules(profile_id=pid).get_result()["rules"]
    assert [(r["name"], r["realm_name"]) for r in rules] == [("My Rule", REALM)]
    assert child_iam.get_profile_identities(profile_id=pid).get_result()["identities"] == []

    # A second version trusts the enterprise's admin, as IBM's test does.
    me = admin_iam_id(enterprise)
    second = iam.create_profile_template_version(
        template_id=tid,
        name=name,
        description="new version",
        account_id=ent,
        profile={
            "name": profile_name,
            "rules": [rule()],
            "identities": [
                {"identifier": me, "accounts": [ent], "type": "user", "description": "admin"}
            ],
        },
    )
    assert second.get_status_code() == 201 and second.get_result()["version"] == 2
    assert second.get_result()["profile"]["identities"][0]["iam_id"] == me
    latest = iam.get_latest_profile_template_version(template_id=tid).get_result()
    assert latest["version"] == 2
    versions = iam.list_versions_of_profile_template(template_id=tid).get_result()
    assert [t["version"] for t in versions["profile_templates"]] == [1, 2]

    iam.commit_profile_template(template_id=tid, version="2")
    stale = assigned.get_headers()["Etag"]  # settling changed the assignment since
    assert (
        status_of(
            lambda: iam.update_trusted_profile_assignment(
                assignment_id=aid, template_version=2, if_match=stale
            )
        )
        == 412
    )
    moved = iam.update_trusted_profile_assignment(
        assignment_id=aid, template_version=2, if_match=current.get_headers()["Etag"]
    )
    assert moved.get_status_code() == 202 and moved.get_result()["status"] == "accepted"
    after = iam.get_trusted_profile_assignment(assignment_id=aid).get_result()
    assert after["status"] == "succeeded" and after["template_version"] == 2
    assert after["resources"][0]["profile"]["resource_created"]["id"] == pid  # the same one
    identities = child_iam.get_profile_identities(profile_id=pid).get_result()["identities"]
    assert [(i["iam_id"], i["accounts"]) for i in identities] == [(me, [ent])]

    # The enterprise's admin now assumes the profile in the child account.
    assume = IAMAssumeAuthenticator(enterprise.a.apikey, iam_profile_id=pid, url=enterprise.url)
    claims = jwt.decode(assume.token_manager.get_token(), options={"verify_signature": False})
    assert claims["iam_id"] == "iam-" + pid and claims["account"]["bss"] == child

    with pytest.raises(ApiException):
        iam.delete_profile_template_version(template_id=tid, version="2")  # assigned
    removing = iam.delete_trusted_profile_assignment(assignment_id=aid)
    assert removing.get_status_code() == 202
    assert status_of(lambda: iam.get_trusted_profile_assignment(assignment_id=aid)) == 404
    # Deleting the assignment deleted what it made, and the profile's tokens stop.
    assert status_of(lambda: child_iam.get_profile(profile_id=pid)) == 404
    with pytest.raises(ApiException) as no_profile:
        assume.token_manager.request_token()
    assert no_profile.value.status_code == 400

    assert (
        iam.delete_profile_template_version(template_id=tid, version="1").get_status_code() == 204
    )
    assert iam.delete_all_versions_of_profile_template(template_id=tid).get_status_code() == 204
    assert status_of(lambda: iam.get_latest_profile_template_version(template_id=tid)) == 404


def test_the_child_cannot_change_what_the_template_made(enterprise: Emulator) -> None:
    iam = identity_service(enterprise)
    child_iam = identity_service(enterprise, enterprise.b.apikey)
    ent, child = enterprise.a.account_id, enterprise.b.account_id
    me = admin_iam_id(enterprise)
    tid = committed_template(
        iam,
        ent,
        profile={
            "name": f"managed-{uuid.uuid4().hex[:6]}",
            "rules": [rule()],
            "identities": [{"identifier": me, "accounts": [ent], "type": "user"}],
        },
    )
    aid, pid = assigned_profile(iam, tid, child)
    template_rule = child_iam.list_claim_rules(profile_id=pid).get_result()["rules"][0]

    for change in (
        lambda: child_iam.update_profile(profile_id=pid, if_match="*", description="mine"),
        lambda: child_iam.delete_profile(profile_id=pid),
        lambda: child_iam.update_claim_rule(
            profile_id=pid, rule_id=template_rule["id"], if_match="*", **_rule_args("Renamed")
        ),
        lambda: child_iam.delete_claim_rule(profile_id=pid, rule_id=template_rule["id"]),
        lambda: child_iam.delete_profile_identity(
            profile_id=pid, identity_type="user", identifier_id=me
        ),
        lambda: child_iam.set_profile_identities(profile_id=pid, if_match="*", identities=[]),
    ):
        assert status_of(change) == 403
    # The child's administrator may still add trust of its own (IBM's default action controls).
    own = child_iam.create_claim_rule(profile_id=pid, **_rule_args("Child rule")).get_result()
    assert child_iam.delete_claim_rule(profile_id=pid, rule_id=own["id"]).get_status_code() == 204
    assert child_iam.get_profile(profile_id=pid).get_result()["template_id"] == tid

    # Action controls that forbid additions are kept too.
    strict = committed_template(
        iam,
        ent,
        profile={"name": f"strict-{uuid.uuid4().hex[:6]}", "rules": [rule()]},
        action_controls={
            "rules": {"add": False, "remove": False},
            "policies": {"add": False, "remove": False},
            "identities": {"add": False, "remove": False},
        },
    )
    strict_aid, strict_pid = assigned_profile(iam, strict, child)
    assert (
        status_of(lambda: child_iam.create_claim_rule(profile_id=strict_pid, **_rule_args())) == 403
    )
    assert (
        status_of(
            lambda: child_iam.set_profile_identity(
                profile_id=strict_pid, identity_type="user", identifier=me, type="user"
            )
        )
        == 403
    )
    viewer = {"role_id": "crn:v1:bluemix:public:iam::::role:Viewer"}
    on_child = {
        "attributes": [
            {"name": "accountId", "value": child},
            {"name": "serviceName", "value": "iam-identity"},
        ]
    }
    grants = policy_service(enterprise, enterprise.b.apikey)
    for pid_, allowed in ((pid, True), (strict_pid, False)):

        def grant(pid_: str = pid_) -> Any:
            return grants.create_policy(
                type="access",
                subjects=[{"attributes": [{"name": "iam_id", "value": "iam-" + pid_}]}],
                roles=[viewer],
                resources=[on_child],
            )

        if allowed:
            assert grant().get_status_code() == 201
        else:
            with pytest.raises(ApiException) as refused:
                grant()
            assert refused.value.status_code == 403
    for assignment in (aid, strict_aid):
        iam.delete_trusted_profile_assignment(assignment_id=assignment)


def policy_service(emulator: Emulator, apikey: str) -> IamPolicyManagementV1:
    service = IamPolicyManagementV1(authenticator=IAMAuthenticator(apikey, url=emulator.url))
    service.set_service_url(emulator.url)
    return service


def _rule_args(name: str = "r") -> dict[str, Any]:
    return {
        "type": "Profile-SAML",
        "realm_name": REALM,
        "name": name,
        "expiration": 3600,
        "conditions": [{"claim": "email", "operator": "EQUALS", "value": '"a@x.com"'}],
    }


def test_only_the_enterprise_manages_its_templates(enterprise: Emulator) -> None:
    iam = identity_service(enterprise)
    child_iam = identity_service(enterprise, enterprise.b.apikey)
    ent, child = enterprise.a.account_id, enterprise.b.account_id
    tid = committed_template(iam, ent, profile={"name": f"p-{uuid.uuid4().hex[:6]}"})
    aid, _ = assigned_profile(iam, tid, child)
    for call in (
        lambda: child_iam.list_profile_templates(account_id=ent),
        lambda: child_iam.create_profile_template(account_id=ent, name="mine"),
        lambda: child_iam.get_latest_profile_template_version(template_id=tid),
        lambda: child_iam.get_profile_template_version(template_id=tid, version="1"),
        lambda: child_iam.list_versions_of_profile_template(template_id=tid),
        lambda: child_iam.create_profile_template_version(template_id=tid, name="mine"),
        lambda: child_iam.update_profile_template_version(
            if_match="*", template_id=tid, version="1", name="mine"
        ),
        lambda: child_iam.commit_profile_template(template_id=tid, version="1"),
        lambda: child_iam.delete_profile_template_version(template_id=tid, version="1"),
        lambda: child_iam.delete_all_versions_of_profile_template(template_id=tid),
        lambda: child_iam.create_trusted_profile_assignment(
            template_id=tid, template_version=1, target_type="Account", target=child
        ),
        lambda: child_iam.list_trusted_profile_assignments(account_id=ent),
        lambda: child_iam.get_trusted_profile_assignment(assignment_id=aid),
        lambda: child_iam.update_trusted_profile_assignment(
            assignment_id=aid, template_version=1, if_match="*"
        ),
        lambda: child_iam.delete_trusted_profile_assignment(assignment_id=aid),
    ):
        assert status_of(call) == 403
    # An account settings template is not a profile template, nor the other way round.
    assert status_of(lambda: iam.get_account_settings_assignment(assignment_id=aid)) == 404
    for unknown in (
        lambda: iam.get_latest_profile_template_version(template_id="ProfileTemplate-none"),
        lambda: iam.get_profile_template_version(template_id=tid, version="99"),
        lambda: iam.get_trusted_profile_assignment(assignment_id="TemplateAssignment-none"),
        lambda: iam.create_trusted_profile_assignment(
            template_id="ProfileTemplate-none",
            template_version=1,
            target_type="Account",
            target=child,
        ),
    ):
        assert status_of(unknown) == 404
    for bad in (
        lambda: iam.create_trusted_profile_assignment(
            template_id=tid, template_version=1, target_type="Account", target=ent
        ),
        lambda: iam.create_profile_template(
            account_id=ent,
            name=f"cr-{uuid.uuid4().hex[:6]}",
            profile={"name": "x", "rules": [{**rule(), "type": "Profile-CR", "cr_type": "VSI"}]},
        ),
        lambda: iam.create_profile_template(
            account_id=ent,
            name=f"who-{uuid.uuid4().hex[:6]}",
            profile={"name": "x", "identities": [{"identifier": "IBMid-nobody", "type": "user"}]},
        ),
        lambda: iam.list_profile_templates(account_id=ent, sort="colour"),
    ):
        assert status_of(bad) == 400
    iam.delete_trusted_profile_assignment(assignment_id=aid)


def test_an_assignment_that_cannot_be_made_fails_and_can_be_retried(enterprise: Emulator) -> None:
    iam = identity_service(enterprise)
    child_iam = identity_service(enterprise, enterprise.b.apikey)
    ent, child = enterprise.a.account_id, enterprise.b.account_id
    taken = f"taken-{uuid.uuid4().hex[:6]}"
    mine = child_iam.create_profile(name=taken, account_id=child).get_result()
    tid = committed_template(iam, ent, profile={"name": taken})
    aid = iam.create_trusted_profile_assignment(
        template_id=tid, template_version=1, target_type="Account", target=child
    ).get_result()["id"]
    failed = iam.get_trusted_profile_assignment(assignment_id=aid)
    assert failed.get_result()["status"] == "failed"
    detail = failed.get_result()["resources"][0]["profile"]
    assert detail["status"] == "failed" and taken in detail["error_message"]["message"]

    # IBM's retry: the same version again, once the clash is gone.
    child_iam.delete_profile(profile_id=mine["id"])
    iam.update_trusted_profile_assignment(
        assignment_id=aid, template_version=1, if_match=failed.get_headers()["Etag"]
    )
    retried = iam.get_trusted_profile_assignment(assignment_id=aid).get_result()
    assert retried["status"] == "succeeded"
    iam.delete_trusted_profile_assignment(assignment_id=aid)
    with pytest.raises(ApiException):
        iam.get_trusted_profile_assignment(assignment_id=aid)


def test_template_and_assignment_lists_page(enterprise: Emulator) -> None:
    iam = identity_service(enterprise)
    ent, child = enterprise.a.account_id, enterprise.b.account_id
    tid = committed_template(iam, ent, profile={"name": f"paged-{uuid.uuid4().hex[:6]}"})
    for n in range(2):
        iam.create_profile_template_version(template_id=tid, description=f"v{n + 2}")
    seen, pagetoken = [], None
    for _ in range(5):
        page = iam.list_versions_of_profile_template(
            template_id=tid, limit="2", pagetoken=pagetoken, order="desc"
        ).get_result()
        seen += [t["version"] for t in page["profile_templates"]]
        if "next" not in page:
            break
        pagetoken = page["next"].split("pagetoken=")[1]
    assert seen == [3, 2, 1]
    assert "previous" in page

    # A name sent with a version renames every version, as IBM documents.
    renamed = f"renamed-{uuid.uuid4().hex[:6]}"
    iam.update_profile_template_version(if_match="*", template_id=tid, version="3", name=renamed)
    every = iam.list_versions_of_profile_template(template_id=tid).get_result()
    assert {t["name"] for t in every["profile_templates"]} == {renamed}

    aid, _ = assigned_profile(iam, tid, child)
    first = iam.list_trusted_profile_assignments(account_id=ent, limit=1, sort="template_id")
    assert first.get_result()["limit"] == 1 and len(first.get_result()["assignments"]) == 1
    listed = iam.list_trusted_profile_assignments(
        account_id=ent, template_id=tid, template_version="1", target=child, target_type="Account"
    ).get_result()["assignments"]
    assert [a["id"] for a in listed] == [aid]
    none = iam.list_trusted_profile_assignments(
        account_id=ent, template_id=tid, template_version="2"
    )
    assert none.get_result()["assignments"] == []
    iam.delete_trusted_profile_assignment(assignment_id=aid)


def test_what_a_template_forbids_has_no_way_round(enterprise: Emulator) -> None:
    """Action controls that forbid additions hold whichever route the child takes: a link
    (trust like a compute-resource rule), a policy replaced or restored to name the profile,
    a template identity kept under its key with other accounts."""
    iam = identity_service(enterprise)
    child_iam = identity_service(enterprise, enterprise.b.apikey)
    ent, child = enterprise.a.account_id, enterprise.b.account_id
    me = admin_iam_id(enterprise)
    strict = committed_template(
        iam,
        ent,
        profile={
            "name": f"strict-{uuid.uuid4().hex[:6]}",
            "rules": [rule()],
            "identities": [{"identifier": me, "accounts": [ent], "type": "user"}],
        },
        action_controls={
            "rules": {"add": False, "remove": False},
            "policies": {"add": False, "remove": False},
            "identities": {"add": False, "remove": False},
        },
    )
    aid, pid = assigned_profile(iam, strict, child)
    crn = f"crn:v1:staging:public:iam-identity::a/{child}::computeresource:Fake-Compute-Resource"

    def link() -> Any:
        return child_iam.create_link(
            profile_id=pid,
            name="sneaky",
            cr_type="ROKS_SA",
            link={"crn": crn, "namespace": "default", "name": "any"},
        )

    assert status_of(link) == 403

    # The template's identity, kept under its key but trusted from another account.
    def rewritten() -> Any:
        return child_iam.set_profile_identities(
            profile_id=pid,
            if_match="*",
            identities=[{"identifier": me, "accounts": [ent, child], "type": "user"}],
        )

    assert status_of(rewritten) == 403
    identities = child_iam.get_profile_identities(profile_id=pid).get_result()["identities"]
    assert [i["accounts"] for i in identities] == [[ent]]

    # A policy made for another subject of the child, then replaced to name the profile.
    sid = child_iam.create_service_id(account_id=child, name=f"s-{uuid.uuid4().hex[:6]}")
    viewer = [{"role_id": "crn:v1:bluemix:public:iam::::role:Viewer"}]
    on_child = [
        {
            "attributes": [
                {"name": "accountId", "value": child},
                {"name": "serviceName", "value": "iam-identity"},
            ]
        }
    ]
    grants = policy_service(enterprise, enterprise.b.apikey)

    def subject(iam_id: str) -> list[dict[str, Any]]:
        return [{"attributes": [{"name": "iam_id", "value": iam_id}]}]

    made = grants.create_policy(
        type="access",
        subjects=subject(sid.get_result()["iam_id"]),
        roles=viewer,
        resources=on_child,
    )
    policy = made.get_result()

    def replaced() -> Any:
        return grants.replace_policy(
            policy_id=policy["id"],
            if_match=made.get_headers()["ETag"],
            type="access",
            subjects=subject("iam-" + pid),
            roles=viewer,
            resources=on_child,
        )

    with pytest.raises(ApiException) as refused:  # the Policy API's own error shape
        replaced()
    assert refused.value.status_code == 403
    assert grants.get_policy(policy_id=policy["id"]).get_result()["subjects"] == subject(
        sid.get_result()["iam_id"]
    )
    iam.delete_trusted_profile_assignment(assignment_id=aid)


def test_a_stranger_learns_nothing_from_a_list_of_identities(enterprise: Emulator) -> None:
    """PUT identities decides who may change the profile before it looks the identities up:
    otherwise its 400 ("No service ID ...") against a 403 would tell which IDs exist."""
    iam = identity_service(enterprise)
    child_iam = identity_service(enterprise, enterprise.b.apikey)
    pid = iam.create_profile(
        name=f"mine-{uuid.uuid4().hex[:6]}", account_id=enterprise.a.account_id
    ).get_result()["id"]
    for identifier in ("ServiceId-00000000-0000-0000-0000-000000000000", admin_iam_id(enterprise)):
        kind = "serviceid" if identifier.startswith("ServiceId-") else "user"

        def probe(identifier: str = identifier, kind: str = kind) -> Any:
            return child_iam.set_profile_identities(
                profile_id=pid,
                if_match="*",
                identities=[{"identifier": identifier, "accounts": [], "type": kind}],
            )

        assert status_of(probe) == 403
