"""Enterprise account settings templates and their assignments, through IBM's `IamIdentityV1`,
in the order IBM's own integration test runs them."""

from __future__ import annotations

import uuid

import pytest
from ibm_cloud_sdk_core import ApiException
from test_ibm_sdks import identity_service

from support import Emulator


def status_of(info: pytest.ExceptionInfo[ApiException]) -> int:
    assert info.value.http_response.json()["status_code"] == str(info.value.status_code)
    return info.value.status_code


SETTINGS = {
    "restrict_create_service_id": "RESTRICTED",
    "restrict_create_platform_apikey": "NOT_SET",
    "mfa": "TOTP",
    "session_expiration_in_seconds": "3600",
    "restrict_user_domains": {
        "account_sufficient": False,
        "restrictions": [{"realm_id": "IBMid", "invitation_email_allow_patterns": ["*@x.com"]}],
    },
}


def test_template_life_cycle_as_ibm_runs_it(enterprise: Emulator) -> None:
    iam = identity_service(enterprise)
    ent, child = enterprise.a.account_id, enterprise.b.account_id
    name = f"settings-{uuid.uuid4().hex[:8]}"

    created = iam.create_account_settings_template(
        account_id=ent, name=name, description="v1", account_settings=SETTINGS
    )
    assert created.get_status_code() == 201
    template = created.get_result()
    tid = template["id"]
    assert template["version"] == 1 and template["committed"] is False
    assert template["account_settings"]["mfa"] == "TOTP"

    got = iam.get_account_settings_template_version(template_id=tid, version="1")
    assert got.get_result()["name"] == name
    etag = got.get_headers()["Etag"]
    listed = iam.list_account_settings_templates(account_id=ent).get_result()
    assert tid in [t["id"] for t in listed["account_settings_templates"]]

    updated = iam.update_account_settings_template_version(
        if_match=etag,
        template_id=tid,
        version="1",
        account_id=ent,
        name=name,
        description="v1, updated",
        account_settings=SETTINGS,
    )
    assert updated.get_status_code() == 200
    assert updated.get_headers()["Etag"] != etag

    with pytest.raises(ApiException) as uncommitted:
        iam.create_account_settings_assignment(
            template_id=tid, template_version=1, target_type="Account", target=child
        )
    assert status_of(uncommitted) == 400

    commit = iam.commit_account_settings_template(template_id=tid, version="1")
    assert commit.get_status_code() == 204
    with pytest.raises(ApiException) as frozen:
        iam.update_account_settings_template_version(
            if_match="*", template_id=tid, version="1", name=name, account_settings=SETTINGS
        )
    assert status_of(frozen) == 409

    assigned = iam.create_account_settings_assignment(
        template_id=tid, template_version=1, target_type="Account", target=child
    )
    assert assigned.get_status_code() == 202
    assignment = assigned.get_result()
    assert assignment["status"] == "accepted"
    aid = assignment["id"]
    assert assigned.get_headers()["Etag"]

    listed_a = iam.list_account_settings_assignments(account_id=ent, template_id=tid)
    assignments = listed_a.get_result()["assignments"]
    assert len(assignments) == 1 and assignments[0]["status"] == "succeeded"

    # The child's effective settings now carry the template's values.
    child_iam = identity_service(enterprise, enterprise.b.apikey)
    effective = child_iam.get_effective_account_settings(account_id=child).get_result()
    assert effective["effective"]["restrict_create_service_id"] == "RESTRICTED"
    assert effective["effective"]["session_expiration_in_seconds"] == "3600"
    assert effective["account"]["restrict_create_service_id"] == "NOT_SET"
    assert [t["template_id"] for t in effective["assigned_templates"]] == [tid]

    second = iam.create_account_settings_template_version(
        template_id=tid,
        name=name,
        description="v2",
        account_id=ent,
        account_settings={**SETTINGS, "restrict_create_service_id": "NOT_RESTRICTED"},
    )
    assert second.get_status_code() == 201 and second.get_result()["version"] == 2
    latest = iam.get_latest_account_settings_template_version(template_id=tid).get_result()
    assert latest["version"] == 2
    versions = iam.list_versions_of_account_settings_template(template_id=tid).get_result()
    assert [t["version"] for t in versions["account_settings_templates"]] == [1, 2]

    iam.commit_account_settings_template(template_id=tid, version="2")
    current = iam.get_account_settings_assignment(assignment_id=aid)
    moved = iam.update_account_settings_assignment(
        assignment_id=aid, template_version=2, if_match=current.get_headers()["Etag"]
    )
    assert moved.get_status_code() == 202
    after = iam.get_account_settings_assignment(assignment_id=aid).get_result()
    assert after["status"] == "succeeded" and after["template_version"] == 2
    effective = child_iam.get_effective_account_settings(account_id=child).get_result()
    assert effective["effective"]["restrict_create_service_id"] == "NOT_RESTRICTED"

    with pytest.raises(ApiException) as in_use:
        iam.delete_account_settings_template_version(template_id=tid, version="2")
    assert status_of(in_use) == 409

    removing = iam.delete_account_settings_assignment(assignment_id=aid)
    assert removing.get_status_code() == 202
    with pytest.raises(ApiException) as gone:
        iam.get_account_settings_assignment(assignment_id=aid)
    assert status_of(gone) == 404
    effective = child_iam.get_effective_account_settings(account_id=child).get_result()
    assert effective["assigned_templates"] == []
    assert effective["effective"]["restrict_create_service_id"] == "NOT_RESTRICTED"

    deleted = iam.delete_account_settings_template_version(template_id=tid, version="1")
    assert deleted.get_status_code() == 204
    assert (
        iam.delete_all_versions_of_account_settings_template(template_id=tid).get_status_code()
        == 204
    )
    with pytest.raises(ApiException) as no_template:
        iam.get_latest_account_settings_template_version(template_id=tid)
    assert status_of(no_template) == 404


def test_assignments_go_only_to_the_enterprises_children(enterprise: Emulator) -> None:
    iam = identity_service(enterprise)
    template = iam.create_account_settings_template(
        account_id=enterprise.a.account_id,
        name=f"t-{uuid.uuid4().hex[:8]}",
        account_settings={"mfa": "NONE"},
    ).get_result()
    iam.commit_account_settings_template(template_id=template["id"], version="1")
    for target in (enterprise.a.account_id, "not-an-account"):
        with pytest.raises(ApiException) as info:
            iam.create_account_settings_assignment(
                template_id=template["id"], template_version=1, target_type="Account", target=target
            )
        assert status_of(info) == 400
    with pytest.raises(ApiException) as group:
        iam.create_account_settings_assignment(
            template_id=template["id"],
            template_version=1,
            target_type="AccountGroup",
            target=enterprise.b.account_id,
        )
    assert status_of(group) == 400


def test_a_child_cannot_read_or_assign_the_enterprises_templates(enterprise: Emulator) -> None:
    iam = identity_service(enterprise)
    template = iam.create_account_settings_template(
        account_id=enterprise.a.account_id, name=f"t-{uuid.uuid4().hex[:8]}"
    ).get_result()
    child = identity_service(enterprise, enterprise.b.apikey)
    for call in (
        lambda: child.get_latest_account_settings_template_version(template_id=template["id"]),
        lambda: child.commit_account_settings_template(template_id=template["id"], version="1"),
        lambda: child.list_account_settings_templates(account_id=enterprise.a.account_id),
        lambda: child.create_account_settings_template(
            account_id=enterprise.a.account_id, name="mine"
        ),
        lambda: child.delete_all_versions_of_account_settings_template(template_id=template["id"]),
    ):
        with pytest.raises(ApiException) as info:
            call()
        assert status_of(info) == 403


def test_template_values_are_validated(enterprise: Emulator) -> None:
    iam = identity_service(enterprise)
    with pytest.raises(ApiException) as info:
        iam.create_account_settings_template(
            account_id=enterprise.a.account_id,
            name=f"bad-{uuid.uuid4().hex[:8]}",
            account_settings={"session_expiration_in_seconds": "12"},
        )
    assert status_of(info) == 400


def test_serve_makes_child_accounts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io

    from iamcli.emulator.app import Settings
    from iamcli.emulator.server import ServeOptions, prepare

    settings = Settings(db=str(tmp_path / "iam.db"))
    store = prepare(
        settings,
        ServeOptions(account_id="ent", seed_apikey="k" * 40, child_accounts=("kid1", "kid2")),
        io.StringIO(),
    )
    try:
        assert store.enterprise_of("kid1") == "ent" == store.enterprise_of("kid2")
        assert store.enterprise_of("ent") is None
    finally:
        store.close()
