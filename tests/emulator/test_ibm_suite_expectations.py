"""What IBM's own integration tests and examples for IAM Identity send and expect, beyond IBM's
API reference (found by running them with scripts/ibm-it), through IBM's `IamIdentityV1`."""

from __future__ import annotations

import time
import uuid

import pytest
from ibm_cloud_sdk_core import ApiException
from test_ibm_sdks import identity_service
from test_templates import status_of

from support import APIKEY_GRANT, Emulator

# `enterprise` (tests/conftest.py) is a server of this module's own: account A has never asked
# for a report.


@pytest.mark.parametrize("kind", ["inactive", "mfa_status"])
def test_latest_report_is_the_one_being_made_until_one_is_finished(
    enterprise: Emulator, kind: str
) -> None:
    # IBM's examples ask for a report and read `latest` at once, in a new account.
    iam = identity_service(enterprise)
    account = enterprise.a.account_id
    create, get = (
        (iam.create_report, iam.get_report)
        if kind == "inactive"
        else (iam.create_mfa_report, iam.get_mfa_report)
    )
    with pytest.raises(ApiException) as none_yet:
        get(account_id=account, reference="latest")
    assert status_of(none_yet) == 404

    first = create(account_id=account, type=kind).get_result()["reference"]
    assert get(account_id=account, reference="latest").get_status_code() == 204
    done = get(account_id=account, reference="latest")
    assert done.get_status_code() == 200
    assert done.get_result()["reference"] == first

    # A newer report being made does not hide the finished one.
    second = create(account_id=account, type=kind).get_result()["reference"]
    assert get(account_id=account, reference="latest").get_result()["reference"] == first
    assert get(account_id=account, reference=second).get_status_code() == 204
    assert get(account_id=account, reference="latest").get_result()["reference"] == second


def test_settings_read_without_history_have_an_empty_history(enterprise: Emulator) -> None:
    # IBM's Node integration test reads with include_history=false and expects `history`.
    iam = identity_service(enterprise)
    account = enterprise.a.account_id
    tag = iam.get_account_settings(account_id=account).get_headers()["Etag"]
    iam.update_account_settings(if_match=tag, account_id=account, mfa="NONE")

    plain = iam.get_account_settings(account_id=account, include_history=False).get_result()
    assert plain["history"] == []
    full = iam.get_account_settings(account_id=account, include_history=True).get_result()
    assert full["history"] and full["history"][-1]["params"]
    effective = iam.get_effective_account_settings(account_id=account).get_result()
    assert effective["account"]["history"] == []


def test_seconds_and_counts_may_be_json_numbers(enterprise: Emulator) -> None:
    # IBM's Python example sends numbers for these string settings in a template version.
    iam = identity_service(enterprise)
    account = enterprise.a.account_id
    numbers = {
        "system_access_token_expiration_in_seconds": 2600,
        "session_expiration_in_seconds": 75000,
        "session_invalidation_in_seconds": 5000,
        "max_sessions_per_identity": 7,
    }
    name = f"numbers-{uuid.uuid4().hex[:8]}"
    template = iam.create_account_settings_template(
        account_id=account, name=name, account_settings={"mfa": "NONE"}
    ).get_result()
    version = iam.create_account_settings_template_version(
        template_id=template["id"], account_id=account, name=name, account_settings=numbers
    ).get_result()
    assert version["version"] == 2
    for field, value in numbers.items():
        assert version["account_settings"][field] == str(value)

    tag = iam.get_account_settings(account_id=account).get_headers()["Etag"]
    with enterprise.client(headers=enterprise.auth()) as c:
        url = f"/v1/accounts/{account}/settings/identity"
        r = c.put(url, json={"session_expiration_in_seconds": 3600}, headers={"If-Match": tag})
        assert r.status_code == 200, r.text
        assert r.json()["session_expiration_in_seconds"] == "3600"
        # Numbers are range-checked as their text is; true is no number.
        for bad in (10, True, 1.5):
            tag = r.headers["ETag"]
            refused = c.put(
                url, json={"session_expiration_in_seconds": bad}, headers={"If-Match": tag}
            )
            assert refused.status_code == 400, (bad, refused.text)
            assert "session_expiration_in_seconds" in refused.json()["errors"][0]["message"]
    iam.delete_all_versions_of_account_settings_template(template_id=template["id"])


def test_an_update_may_set_a_keys_expiry_in_the_past(enterprise: Emulator) -> None:
    # IBM's Node integration test updates a key with an expiry already past when it was
    # written; creating a key that is expired already stays refused.
    iam = identity_service(enterprise)
    me = enterprise.store.user_by_name(enterprise.a.username)
    assert me is not None
    yesterday = time.strftime("%Y-%m-%dT%H:%M+0000", time.gmtime(time.time() - 86400))
    key = iam.create_api_key(
        name="soon-expired", iam_id=me.iam_id, expires_at="2049-01-02T18:30:00+0000"
    ).get_result()
    with enterprise.client() as c:
        form = {"grant_type": APIKEY_GRANT, "apikey": key["apikey"]}
        assert c.post("/identity/token", data=form).status_code == 200

        tag = iam.get_api_key(id=key["id"]).get_headers()["Etag"]
        updated = iam.update_api_key(
            id=key["id"], if_match=tag, description="x", expires_at=yesterday
        ).get_result()
        assert updated["expires_at"].startswith(yesterday[:16])
        refused = c.post("/identity/token", data=form)
        assert refused.status_code != 200
        assert refused.json()["errorCode"] == "BXNIM0415E"

    with pytest.raises(ApiException) as past:
        iam.create_api_key(name="x", iam_id=me.iam_id, expires_at=yesterday)
    assert status_of(past) == 400
