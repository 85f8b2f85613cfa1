"""POST /identity/token, the JWKS and the discovery document, over HTTP."""

from __future__ import annotations

import base64
import time

import jwt
import pytest

from iamcli.emulator.store import RefreshGrant
from support import APIKEY_GRANT, Emulator

BX = "Basic " + base64.b64encode(b"bx:bx").decode()


def mint(emulator: Emulator, apikey: str, *, basic: bool = False, **extra: str):  # type: ignore[no-untyped-def]
    headers = {"Authorization": BX} if basic else {}
    with emulator.client() as c:
        return c.post(
            "/identity/token",
            data={
                "grant_type": APIKEY_GRANT,
                "apikey": apikey,
                "response_type": "cloud_iam",
                **extra,
            },
            headers=headers,
        )


def test_apikey_grant_answers_ibm_fields_and_types(emulator: Emulator) -> None:
    before = int(time.time())
    r = mint(emulator, emulator.a.apikey)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "expiration",
        "scope",
    }
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"] == "not_supported"
    assert isinstance(body["expires_in"], int) and body["expires_in"] == 3600
    assert isinstance(body["expiration"], int)
    assert before + 3600 <= body["expiration"] <= int(time.time()) + 3600
    assert body["scope"] == "ibm openid"


def test_access_token_verifies_against_jwks_with_ibm_claims(emulator: Emulator) -> None:
    token = mint(emulator, emulator.a.apikey).json()["access_token"]
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "kid": header["kid"]}
    jwk_client = jwt.PyJWKClient(f"{emulator.url}/identity/keys")
    key = jwk_client.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=f"{emulator.url}/identity")
    assert claims["iam_id"].startswith("IBMid-") and claims["id"] == claims["iam_id"]
    assert claims["realmid"] == "IBMid"
    assert claims["identifier"] == claims["iam_id"].removeprefix("IBMid-")
    assert claims["account"]["bss"] == emulator.a.account_id
    assert claims["grant_type"] == APIKEY_GRANT
    assert claims["scope"] == "ibm openid"
    assert claims["client_id"] == "default"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["sub"] == f"{emulator.a.username}@example.com"


def test_service_id_token_claims(emulator: Emulator) -> None:
    sid = emulator.store.create_service_id(
        account_id=emulator.a.account_id, name="claims-sid", description=None, created_by="test"
    )
    _, value = emulator.store.create_api_key(
        account_id=sid.account_id, iam_id=sid.iam_id, name="k", description=None, created_by="test"
    )
    claims = jwt.decode(
        mint(emulator, value).json()["access_token"], options={"verify_signature": False}
    )
    assert claims["iam_id"] == sid.iam_id == f"iam-{sid.id}"
    assert claims["sub"] == claims["identifier"] == sid.id
    assert claims["sub_type"] == "ServiceId"
    assert claims["realmid"] == "iam"
    assert claims["name"] == "claims-sid"


def test_cli_client_credentials_get_a_working_refresh_token(emulator: Emulator) -> None:
    first = mint(emulator, emulator.a.apikey, basic=True).json()
    assert first["refresh_token"] not in ("", "not_supported")
    with emulator.client() as c:
        r = c.post(
            "/identity/token",
            headers={"Authorization": BX},
            data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        )
    assert r.status_code == 200, r.text
    refreshed = r.json()
    assert refreshed["access_token"] != first["access_token"]
    assert refreshed["refresh_token"] not in (first["refresh_token"], "not_supported")
    claims = jwt.decode(refreshed["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == "bx"
    assert claims["grant_type"] == APIKEY_GRANT


def test_refresh_without_client_credentials_is_refused(emulator: Emulator) -> None:
    refresh = mint(emulator, emulator.a.apikey, basic=True).json()["refresh_token"]
    with emulator.client() as c:
        r = c.post(
            "/identity/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
        )
    assert r.status_code == 400
    assert r.json()["errorCode"] == "BXNIM0308E"


def test_expired_refresh_token_is_bxnim0408e(emulator: Emulator) -> None:
    user = emulator.store.user_by_name(emulator.a.username)
    assert user is not None
    expired = emulator.store.add_refresh_token(
        RefreshGrant(user.iam_id, user.account_id, None, "bx", APIKEY_GRANT, int(time.time()) - 5)
    )
    with emulator.client() as c:
        r = c.post(
            "/identity/token",
            headers={"Authorization": BX},
            data={"grant_type": "refresh_token", "refresh_token": expired},
        )
    assert r.status_code == 400
    body = r.json()
    assert body["errorCode"] == "BXNIM0408E"
    assert body["errorMessage"] == "Provided refresh token is expired"
    assert body["context"]["requestId"]


@pytest.mark.parametrize("apikey", ["no-such-key-" + "z" * 30, "short"])
def test_unknown_key_is_bxnim0415e(emulator: Emulator, apikey: str) -> None:
    r = mint(emulator, apikey)
    assert r.status_code == 400
    assert r.json()["errorCode"] == "BXNIM0415E"
    assert r.json()["errorMessage"] == "Provided API key could not be found"
    assert apikey not in r.text


def test_disabled_expired_and_deleted_keys_are_refused(emulator: Emulator) -> None:
    store = emulator.store
    user = store.user_by_name(emulator.a.username)
    assert user is not None
    key, value = store.create_api_key(
        account_id=user.account_id,
        iam_id=user.iam_id,
        name="to-disable",
        description=None,
        created_by="t",
    )
    assert mint(emulator, value).status_code == 200
    store.set_api_key_flag(key.id, "disabled", True)
    assert mint(emulator, value).json()["errorCode"] == "BXNIM0415E"
    store.set_api_key_flag(key.id, "disabled", False)
    assert mint(emulator, value).status_code == 200
    store.delete_api_key(key.id)
    assert mint(emulator, value).json()["errorCode"] == "BXNIM0415E"
    _, expiring_value = store.create_api_key(
        account_id=user.account_id,
        iam_id=user.iam_id,
        name="expiring",
        description=None,
        created_by="t",
        expires_at=int(time.time()) - 1,
    )
    assert mint(emulator, expiring_value).json()["errorCode"] == "BXNIM0415E"


@pytest.mark.parametrize(
    ("form", "fragment"),
    [
        ({"grant_type": "nonsense"}, "grant_type"),
        ({"grant_type": APIKEY_GRANT}, "apikey"),
        (
            {"grant_type": APIKEY_GRANT, "apikey": "x" * 40, "response_type": "cloud_iam,uaa"},
            "Validation of property 'response_type' with value '[cloud_iam, uaa]' failed",
        ),
        ({}, "grant_type"),
    ],
)
def test_bad_parameters_are_bxnim0106e(
    emulator: Emulator, form: dict[str, str], fragment: str
) -> None:
    with emulator.client() as c:
        r = c.post("/identity/token", data=form)
    assert r.status_code == 400
    assert r.json()["errorCode"] == "BXNIM0106E"
    assert fragment in r.json()["errorMessage"]


def test_token_endpoint_wants_a_form(emulator: Emulator) -> None:
    with emulator.client() as c:
        r = c.post("/identity/token", json={"grant_type": APIKEY_GRANT, "apikey": "x"})
    assert r.status_code == 400
    assert r.json()["errorCode"] == "BXNIM0106E"


def test_wrong_client_credentials_are_refused(emulator: Emulator) -> None:
    with emulator.client() as c:
        r = c.post(
            "/identity/token",
            headers={"Authorization": "Basic " + base64.b64encode(b"bx:wrong").decode()},
            data={"grant_type": APIKEY_GRANT, "apikey": emulator.a.apikey},
        )
    assert r.status_code == 400
    assert "refresh_token" not in r.json()


def test_password_grant_needs_the_cli_client(emulator: Emulator) -> None:
    form = {
        "grant_type": "password",
        "username": emulator.a.username,
        "password": emulator.a.password,
    }
    with emulator.client() as c:
        assert c.post("/identity/token", data=form).json()["errorCode"] == "BXNIM0308E"
        ok = c.post("/identity/token", data=form, headers={"Authorization": BX})
        bad = c.post(
            "/identity/token", data={**form, "password": "wrong"}, headers={"Authorization": BX}
        )
    assert ok.status_code == 200
    assert (
        jwt.decode(ok.json()["access_token"], options={"verify_signature": False})["grant_type"]
        == "password"
    )
    assert bad.status_code == 400 and bad.json()["errorCode"] == "BXNIM0602E"


def test_discovery_document_points_at_keys_and_token(emulator: Emulator) -> None:
    with emulator.client() as c:
        doc = c.get("/identity/.well-known/openid-configuration").json()
        jwks = c.get(doc["jwks_uri"].removeprefix(emulator.url)).json()
    assert doc["issuer"] == f"{emulator.url}/identity"
    assert doc["token_endpoint"] == f"{emulator.url}/identity/token"
    assert "passcode_endpoint" in doc and "authorization_endpoint" in doc
    [key] = jwks["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["kid"]
    assert "d" not in key and "p" not in key  # public half only
