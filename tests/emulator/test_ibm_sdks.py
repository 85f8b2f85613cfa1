"""IBM's own Python SDKs, unchanged, against the emulator."""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_platform_services import IamIdentityV1

from support import Emulator


def identity_service(emulator: Emulator, apikey: str | None = None) -> IamIdentityV1:
    service = IamIdentityV1(
        authenticator=IAMAuthenticator(apikey or emulator.a.apikey, url=emulator.url)
    )
    service.set_service_url(emulator.url)
    return service


def test_iam_authenticator_gets_and_refreshes_tokens(emulator: Emulator) -> None:
    auth = IAMAuthenticator(emulator.a.apikey, url=emulator.url, client_id="bx", client_secret="bx")
    manager = auth.token_manager
    first = manager.get_token()
    claims = jwt.decode(first, options={"verify_signature": False})
    assert claims["account"]["bss"] == emulator.a.account_id and claims["client_id"] == "bx"
    assert manager.refresh_token not in (None, "", "not_supported")
    assert manager.get_token() == first  # cached while valid

    time.sleep(1.1)  # so the next token's iat differs
    manager.expire_time = 0  # what the SDK does when the token's time has come
    second = manager.get_token()
    assert second != first
    assert jwt.decode(second, options={"verify_signature": False})["iat"] > claims["iat"]


def test_iam_authenticator_reports_a_bad_key(emulator: Emulator) -> None:
    auth = IAMAuthenticator("n" * 44, url=emulator.url)
    with pytest.raises(ApiException) as info:
        auth.token_manager.get_token()
    assert info.value.status_code == 400
    assert "Provided API key could not be found" in str(info.value)


def test_service_id_and_api_key_life_cycle(emulator: Emulator) -> None:
    iam = identity_service(emulator)
    account = emulator.a.account_id
    name = f"sdk-{uuid.uuid4().hex[:8]}"

    created = iam.create_service_id(account_id=account, name=name, description="by the SDK")
    assert created.get_status_code() == 201
    sid = created.get_result()
    got = iam.get_service_id(id=sid["id"])
    etag = got.get_headers()["Etag"]
    assert etag == sid["entity_tag"]
    updated = iam.update_service_id(id=sid["id"], if_match=etag, description="changed").get_result()
    assert updated["description"] == "changed"
    with pytest.raises(ApiException) as stale:
        iam.update_service_id(id=sid["id"], if_match=etag, description="lost")
    assert stale.value.status_code == 412

    assert iam.lock_service_id(id=sid["id"]).get_status_code() == 204
    with pytest.raises(ApiException) as locked:
        iam.delete_service_id(id=sid["id"])
    assert locked.value.status_code == 409
    assert iam.unlock_service_id(id=sid["id"]).get_status_code() == 204

    keys = []
    for i in range(5):
        r = iam.create_api_key(
            name=f"{name}-key-{i}", iam_id=sid["iam_id"], account_id=account, description="sdk key"
        )
        assert r.get_status_code() == 201
        keys.append(r.get_result())
    value = keys[0]["apikey"]
    details = iam.get_api_keys_details(iam_api_key=value).get_result()
    assert details["id"] == keys[0]["id"]

    # Page through the keys the way IBM's integration test does: two at a time via `next`.
    seen, pagetoken, pages = [], None, 0
    while True:
        page = iam.list_api_keys(
            account_id=account, iam_id=sid["iam_id"], pagesize=2, pagetoken=pagetoken
        ).get_result()
        seen += page["apikeys"]
        pages += 1
        if not page.get("next"):
            break
        pagetoken = parse_qs(urlparse(page["next"]).query)["pagetoken"][0]
    assert pages == 3 and {k["id"] for k in seen} == {k["id"] for k in keys}

    key = iam.get_api_key(id=keys[1]["id"])
    renamed = iam.update_api_key(
        id=keys[1]["id"], if_match=key.get_headers()["Etag"], name="renamed"
    ).get_result()
    assert renamed["name"] == "renamed"
    assert iam.lock_api_key(id=keys[1]["id"]).get_status_code() == 204
    assert iam.unlock_api_key(id=keys[1]["id"]).get_status_code() == 204
    assert iam.disable_api_key(id=keys[1]["id"]).get_status_code() == 204
    assert iam.get_api_key(id=keys[1]["id"]).get_result()["disabled"] is True
    assert iam.enable_api_key(id=keys[1]["id"]).get_status_code() == 204
    assert iam.delete_api_key(id=keys[1]["id"]).get_status_code() == 204

    # The service ID's own key works with the SDK too.
    as_service = identity_service(emulator, value)
    own = as_service.get_service_id(id=sid["id"]).get_result()
    assert own["name"] == name

    assert iam.delete_service_id(id=sid["id"]).get_status_code() == 204
    with pytest.raises(ApiException) as gone:
        iam.get_api_key(id=keys[0]["id"])
    assert gone.value.status_code == 404


def test_service_id_pages_via_next(emulator: Emulator) -> None:
    iam = identity_service(emulator)
    name = f"sdk-paged-{uuid.uuid4().hex[:6]}"
    made = {
        iam.create_service_id(account_id=emulator.a.account_id, name=name).get_result()["id"]
        for _ in range(5)
    }
    seen, pagetoken = set(), None
    while True:
        page = iam.list_service_ids(
            account_id=emulator.a.account_id, name=name, pagesize=2, pagetoken=pagetoken
        ).get_result()
        seen |= {s["id"] for s in page["serviceids"]}
        if not page.get("next"):
            break
        pagetoken = parse_qs(urlparse(page["next"]).query)["pagetoken"][0]
    assert seen == made
