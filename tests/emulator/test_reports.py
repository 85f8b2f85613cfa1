"""Activity (last authentication, the inactive-identity report) and MFA enrollment, through
IBM's `IamIdentityV1` as IBM's integration test drives them."""

from __future__ import annotations

import uuid

import pytest
from ibm_cloud_sdk_core import ApiException
from test_ibm_sdks import identity_service

from support import APIKEY_GRANT, Emulator


def mint(emulator: Emulator, apikey: str) -> None:
    with emulator.client() as c:
        r = c.post("/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": apikey})
    assert r.status_code == 200, r.text


def test_a_token_grant_is_recorded_as_activity(emulator: Emulator) -> None:
    iam = identity_service(emulator)
    sid = iam.create_service_id(
        account_id=emulator.a.account_id, name=f"act-{uuid.uuid4().hex[:8]}"
    ).get_result()
    key = iam.create_api_key(
        name="k", iam_id=sid["iam_id"], account_id=emulator.a.account_id
    ).get_result()

    before = iam.get_api_key(id=key["id"], include_activity=True).get_result()
    assert before["activity"] == {"authn_count": 0}
    mint(emulator, key["apikey"])
    after_key = iam.get_api_key(id=key["id"], include_activity=True).get_result()["activity"]
    after_sid = iam.get_service_id(id=sid["id"], include_activity=True).get_result()["activity"]
    assert after_key["authn_count"] == 1 and after_key["last_authn"]
    assert after_sid["authn_count"] == 1 and after_sid["last_authn"]
    # Without the flag, no activity (IBM's default).
    assert "activity" not in iam.get_api_key(id=key["id"]).get_result()


def test_inactivity_report_as_ibm_reads_it(emulator: Emulator) -> None:
    iam = identity_service(emulator, emulator.b.apikey)
    account = emulator.b.account_id
    idle = iam.create_service_id(account_id=account, name="idle").get_result()
    busy = iam.create_service_id(account_id=account, name="busy").get_result()
    busy_key = iam.create_api_key(name="bk", iam_id=busy["iam_id"], account_id=account)
    mint(emulator, busy_key.get_result()["apikey"])

    made = iam.create_report(account_id=account, type="inactive", duration="120")
    assert made.get_status_code() == 202
    reference = made.get_result()["reference"]
    first = iam.get_report(account_id=account, reference=reference)
    assert first.get_status_code() == 204
    report = iam.get_report(account_id=account, reference=reference)
    assert report.get_status_code() == 200
    body = report.get_result()
    assert body["reference"] == reference and body["report_duration"] == "120"
    for field in ("created_by", "report_start_time", "report_end_time"):
        assert body[field]
    inactive_ids = {s["id"] for s in body["serviceids"]}
    assert idle["id"] in inactive_ids and busy["id"] not in inactive_ids
    assert busy_key.get_result()["id"] not in {k["id"] for k in body["apikeys"]}
    latest = iam.get_report(account_id=account, reference="latest").get_result()
    assert latest["reference"] == reference

    with pytest.raises(ApiException) as missing:
        iam.get_report(account_id=account, reference="test123")
    assert missing.value.status_code == 404
    with pytest.raises(ApiException) as other:
        identity_service(emulator).get_report(account_id=account, reference=reference)
    assert other.value.status_code == 403


def test_mfa_status_and_report_follow_the_account_settings(emulator: Emulator) -> None:
    iam = identity_service(emulator)
    account = emulator.a.account_id
    me = emulator.store.user_by_name(emulator.a.username)
    assert me is not None
    status = iam.get_mfa_status(account_id=account, iam_id=me.iam_id).get_result()
    assert status["iam_id"] == me.iam_id
    assert status["id_based_mfa"]["trait_effective"] == "NONE"
    assert status["id_based_mfa"]["complies"] is True

    tag = iam.get_account_settings(account_id=account).get_headers()["Etag"]
    iam.update_account_settings(if_match=tag, account_id=account, mfa="TOTP")
    status = iam.get_mfa_status(account_id=account, iam_id=me.iam_id).get_result()
    assert status["id_based_mfa"]["trait_effective"] == "TOTP"
    assert status["id_based_mfa"]["complies"] is False
    assert status["account_based_mfa"]["totp"] == {"required": True, "enrolled": False}

    made = iam.create_mfa_report(account_id=account, type="mfa_status")
    assert made.get_status_code() == 202
    reference = made.get_result()["reference"]
    assert iam.get_mfa_report(account_id=account, reference=reference).get_status_code() == 204
    report = iam.get_mfa_report(account_id=account, reference=reference).get_result()
    assert report["reference"] == reference and report["report_time"] and report["created_by"]
    assert me.iam_id in [u["iam_id"] for u in report["users"]]
    with pytest.raises(ApiException) as missing:
        iam.get_mfa_report(account_id=account, reference="test123")
    assert missing.value.status_code == 404
    tag = iam.get_account_settings(account_id=account).get_headers()["Etag"]
    iam.update_account_settings(if_match=tag, account_id=account, mfa="NONE")


def test_report_parameters_are_validated(emulator: Emulator) -> None:
    iam = identity_service(emulator)
    for kwargs in ({"type": "active"}, {"duration": "0"}, {"duration": "many"}):
        with pytest.raises(ApiException) as info:
            iam.create_report(account_id=emulator.a.account_id, **kwargs)
        assert info.value.status_code == 400
    with pytest.raises(ApiException) as other_user:
        iam.get_mfa_status(account_id=emulator.a.account_id, iam_id="IBMid-nobody")
    assert other_user.value.status_code == 404
