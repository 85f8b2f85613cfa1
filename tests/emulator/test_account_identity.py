"""Service ID groups, account settings and identity preferences, with IBM's `IamIdentityV1`
as the client where it has the call."""

from __future__ import annotations

import uuid

import jwt
import pytest
from ibm_cloud_sdk_core import ApiException
from test_ibm_sdks import identity_service as identity

from support import APIKEY_GRANT, Emulator


def error_of(info: pytest.ExceptionInfo[ApiException]) -> tuple[int, str]:
    body = info.value.http_response.json()
    assert body["status_code"] == str(info.value.status_code)
    return info.value.status_code, body["errors"][0]["code"]


# -- service ID groups -------------------------------------------------------------------


def test_service_id_group_life_cycle(emulator: Emulator) -> None:
    iam = identity(emulator)
    account = emulator.a.account_id
    name = f"group-{uuid.uuid4().hex[:8]}"

    created = iam.create_service_id_group(account_id=account, name=name, description="first")
    assert created.get_status_code() == 201
    group = created.get_result()
    assert group["id"].startswith("ServiceIdGroup-")
    assert (
        group["crn"]
        == f"crn:v1:bluemix:public:iam-identity::a/{account}::serviceidgroup:{group['id']}"
    )
    assert group["created_by"].startswith("IBMid-") or group["created_by"].startswith("iam-")

    got = iam.get_service_id_group(id=group["id"])
    assert got.get_result()["name"] == name
    etag = got.get_headers()["Etag"]
    assert etag == group["entity_tag"]

    listed = iam.list_service_id_group(account_id=account).get_result()
    assert group["id"] in [g["id"] for g in listed["serviceid_groups"]]

    updated = iam.update_service_id_group(
        id=group["id"], if_match=etag, name=name, description="updated"
    )
    assert updated.get_status_code() == 200
    assert updated.get_result()["description"] == "updated"
    assert updated.get_headers()["Etag"] != etag

    with pytest.raises(ApiException) as stale:
        iam.update_service_id_group(id=group["id"], if_match=etag, name=name, description="x")
    assert error_of(stale)[0] == 412

    assert iam.delete_service_id_group(id=group["id"]).get_status_code() == 204
    with pytest.raises(ApiException) as gone:
        iam.get_service_id_group(id=group["id"])
    assert error_of(gone) == (404, "not_found")


def test_service_id_group_names_are_unique_in_an_account(emulator: Emulator) -> None:
    iam = identity(emulator)
    name = f"dup-{uuid.uuid4().hex[:8]}"
    iam.create_service_id_group(account_id=emulator.a.account_id, name=name)
    with pytest.raises(ApiException) as info:
        iam.create_service_id_group(account_id=emulator.a.account_id, name=name)
    assert error_of(info)[0] == 409
    # Another account may use the same name.
    other = identity(emulator, emulator.b.apikey)
    assert (
        other.create_service_id_group(account_id=emulator.b.account_id, name=name).get_status_code()
        == 201
    )


def test_service_id_groups_stay_in_their_account(emulator: Emulator) -> None:
    mine = (
        identity(emulator)
        .create_service_id_group(
            account_id=emulator.a.account_id, name=f"private-{uuid.uuid4().hex[:8]}"
        )
        .get_result()
    )
    other = identity(emulator, emulator.b.apikey)
    for call in (
        lambda: other.get_service_id_group(id=mine["id"]),
        lambda: other.delete_service_id_group(id=mine["id"]),
        lambda: other.update_service_id_group(id=mine["id"], if_match="*", name="taken"),
        lambda: other.list_service_id_group(account_id=emulator.a.account_id),
        lambda: other.create_service_id_group(account_id=emulator.a.account_id, name="x"),
    ):
        with pytest.raises(ApiException) as info:
            call()
        assert error_of(info)[0] == 403
    assert (
        identity(emulator).get_service_id_group(id=mine["id"]).get_result()["name"] == mine["name"]
    )


# -- account settings ----------------------------------------------------------------------


def test_account_settings_read_update_and_history(emulator: Emulator) -> None:
    iam = identity(emulator, emulator.b.apikey)
    account = emulator.b.account_id
    got = iam.get_account_settings(account_id=account, include_history=True)
    settings = got.get_result()
    for field in (
        "restrict_create_service_id",
        "restrict_create_platform_apikey",
        "entity_tag",
        "mfa",
        "user_mfa",
        "history",
        "session_expiration_in_seconds",
        "session_invalidation_in_seconds",
        "system_access_token_expiration_in_seconds",
        "system_refresh_token_expiration_in_seconds",
    ):
        assert settings[field] is not None, field
    etag = got.get_headers()["Etag"]

    updated = iam.update_account_settings(
        if_match=etag,
        account_id=account,
        restrict_create_service_id="NOT_RESTRICTED",
        restrict_create_platform_apikey="NOT_RESTRICTED",
        restrict_user_list_visibility="NOT_RESTRICTED",
        restrict_user_domains=[
            {
                "realm_id": "IBMid",
                "restrict_invitation": False,
                "invitation_email_allow_patterns": ["*.*@company.com"],
            }
        ],
        mfa="NONE",
        user_mfa=[{"iam_id": "IBMid-someone", "mfa": "NONE"}],
        session_expiration_in_seconds="86400",
        session_invalidation_in_seconds="7200",
        max_sessions_per_identity="10",
        system_access_token_expiration_in_seconds="3600",
        system_refresh_token_expiration_in_seconds="259200",
    )
    assert updated.get_status_code() == 200
    after = updated.get_result()
    assert after["entity_tag"] != etag
    assert after["max_sessions_per_identity"] == "10"
    assert after["restrict_user_domains"][0]["realm_id"] == "IBMid"
    assert after["history"][-1]["iam_id"].startswith("IBMid-")
    assert "max_sessions_per_identity" in after["history"][-1]["params"]

    # The old ETag is stale now.
    with pytest.raises(ApiException) as stale:
        iam.update_account_settings(if_match=etag, account_id=account, mfa="TOTP")
    assert error_of(stale)[0] == 412

    effective = iam.get_effective_account_settings(account_id=account).get_result()
    assert effective["account"]["entity_tag"] == after["entity_tag"]
    assert effective["effective"]["restrict_create_service_id"] == "NOT_RESTRICTED"
    assert effective["effective"]["session_expiration_in_seconds"] == "86400"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("session_expiration_in_seconds", "899"),
        ("session_expiration_in_seconds", "86401"),
        ("system_access_token_expiration_in_seconds", "forever"),
        ("max_sessions_per_identity", "0"),
        ("restrict_create_service_id", "MAYBE"),
        ("mfa", "SMS"),
        ("allowed_ip_addresses", "10.0.0.0/8, not-an-ip"),
    ],
)
def test_account_settings_refuse_bad_values(emulator: Emulator, field: str, value: str) -> None:
    with emulator.client(headers=emulator.auth()) as c:
        url = f"/v1/accounts/{emulator.a.account_id}/settings/identity"
        before = c.get(url).json()
        r = c.put(url, json={field: value}, headers={"If-Match": "*"})
        assert r.status_code == 400, r.text
        assert r.json()["errors"][0]["code"] == "bad_request"
        assert field in r.json()["errors"][0]["message"]
        assert c.get(url).json()["entity_tag"] == before["entity_tag"]


def test_account_settings_unset_falls_back_to_server_defaults(emulator: Emulator) -> None:
    with emulator.client(headers=emulator.auth()) as c:
        url = f"/v1/accounts/{emulator.a.account_id}"
        r = c.put(
            url + "/settings/identity",
            json={"system_access_token_expiration_in_seconds": "NOT_SET"},
            headers={"If-Match": "*"},
        )
        assert r.status_code == 200
        effective = c.get(url + "/effective_settings/identity").json()["effective"]
    assert effective["system_access_token_expiration_in_seconds"] == str(3600)


def test_account_settings_of_another_account_are_refused(emulator: Emulator) -> None:
    other = identity(emulator, emulator.b.apikey)
    for call in (
        lambda: other.get_account_settings(account_id=emulator.a.account_id),
        lambda: other.get_effective_account_settings(account_id=emulator.a.account_id),
        lambda: other.update_account_settings(
            if_match="*", account_id=emulator.a.account_id, mfa="NONE"
        ),
    ):
        with pytest.raises(ApiException) as info:
            call()
        assert error_of(info)[0] == 403


def test_account_settings_survive_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from support import seeded_emulator

    db = str(tmp_path / "iam.db")
    first = seeded_emulator(db)
    try:
        with first.client(headers=first.auth()) as c:
            url = f"/v1/accounts/{first.a.account_id}/settings/identity"
            assert c.put(url, json={"mfa": "TOTP"}, headers={"If-Match": "*"}).status_code == 200
            tag = c.get(url).json()["entity_tag"]
    finally:
        first.server.stop()
    second = seeded_emulator(db)
    try:
        with second.client(headers=second.auth()) as c:
            got = c.get(f"/v1/accounts/{second.a.account_id}/settings/identity").json()
        assert got["mfa"] == "TOTP" and got["entity_tag"] == tag
    finally:
        second.server.stop()


# -- preferences ---------------------------------------------------------------------------


def test_preferences_life_cycle(emulator: Emulator) -> None:
    iam = identity(emulator)
    account = emulator.a.account_id
    me = emulator.store.user_by_name(emulator.a.username)
    assert me is not None
    saved = iam.update_preference_on_scope_account(
        account_id=account,
        iam_id=me.iam_id,
        service="console",
        preference_id="landing_page",
        value_string="/billing",
    ).get_result()
    assert saved == {
        "service": "console",
        "id": "landing_page",
        "account_id": account,
        "scope": "account",
        "value_string": "/billing",
    }
    got = iam.get_preferences_on_scope_account(
        account_id=account, iam_id=me.iam_id, service="console", preference_id="landing_page"
    ).get_result()
    assert got["value_string"] == "/billing"
    every = iam.get_all_preferences_on_scope_account(account_id=account, iam_id=me.iam_id)
    assert [p["id"] for p in every.get_result()["preferences"]] == ["landing_page"]
    gone = iam.delete_preferences_on_scope_account(
        account_id=account, iam_id=me.iam_id, service="console", preference_id="landing_page"
    )
    assert gone.get_status_code() == 204
    with pytest.raises(ApiException) as info:
        iam.get_preferences_on_scope_account(
            account_id=account, iam_id=me.iam_id, service="console", preference_id="landing_page"
        )
    assert error_of(info)[0] == 404


def test_a_preference_takes_one_kind_of_value(emulator: Emulator) -> None:
    me = emulator.store.user_by_name(emulator.a.username)
    assert me is not None
    url = f"/v1/preferences/accounts/{emulator.a.account_id}/identities/{me.iam_id}/console/x"
    with emulator.client(headers=emulator.auth()) as c:
        both = c.put(url, json={"value_string": "a", "value_list_of_strings": ["b"]})
        neither = c.put(url, json={})
    assert both.status_code == neither.status_code == 400


def test_token_lifetime_follows_the_account_setting(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from support import seeded_emulator

    emulator = seeded_emulator(str(tmp_path / "iam.db"), token_ttl=3600)
    try:

        def lifetime() -> int:
            with emulator.client() as c:
                r = c.post(
                    "/identity/token",
                    data={"grant_type": APIKEY_GRANT, "apikey": emulator.a.apikey},
                )
            body = r.json()
            return int(body["expiration"]) - int(
                jwt.decode(body["access_token"], options={"verify_signature": False})["iat"]
            )

        assert lifetime() == 3600
        with emulator.client(headers=emulator.auth()) as c:
            url = f"/v1/accounts/{emulator.a.account_id}/settings/identity"
            setting = {"system_access_token_expiration_in_seconds": "900"}
            assert c.put(url, json=setting, headers={"If-Match": "*"}).status_code == 200
        # The server reads the setting again within a few seconds (tokens.py).
        emulator.server.app.state.tokens._lifetimes.clear()
        assert lifetime() == 900
        # Account B keeps the server's lifetime.
        with emulator.client() as c:
            r = c.post(
                "/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": emulator.b.apikey}
            )
        assert r.json()["expires_in"] == 3600
    finally:
        emulator.server.stop()
