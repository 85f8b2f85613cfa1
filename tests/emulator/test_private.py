"""The private family (/iam-token/*, /idprovider/*) over HTTP."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest

from support import APIKEY_GRANT, Emulator

DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d\+0000$")


@pytest.fixture
def c(emulator: Emulator) -> Iterator[httpx.Client]:
    with emulator.client() as client:
        yield client


def private_token(c: httpx.Client, apikey: str) -> str:
    r = c.post(
        "/iam-token/oidc/token",
        data={"grant_type": APIKEY_GRANT, "apikey": apikey, "response_type": "cloud_iam"},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture
def auth(emulator: Emulator, c: httpx.Client) -> dict[str, str]:
    return {"Authorization": f"Bearer {private_token(c, emulator.a.apikey)}"}


def test_token_endpoint(emulator: Emulator, c: httpx.Client) -> None:
    r = c.post(
        "/iam-token/oidc/token", data={"grant_type": APIKEY_GRANT, "apikey": emulator.a.apikey}
    )
    body = r.json()
    assert r.status_code == 200
    assert body["token_type"] == "Bearer" and isinstance(body["expires_in"], int)
    assert isinstance(body["expiration"], int) and body["refresh_token"]
    jwks = c.get("/iam-token/oidc/keys").json()
    key = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(body["access_token"], key, algorithms=["RS256"])
    assert claims["iss"] == f"{emulator.url}/iam-token/oidc/token"
    assert claims["sub"] == emulator.a.username and claims["scope"] == "openid"
    assert claims["client_id"] == "default" and claims["grant_type"] == APIKEY_GRANT
    refreshed = c.post(
        "/iam-token/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert refreshed.status_code == 200
    bad = c.post("/iam-token/oidc/token", data={"grant_type": APIKEY_GRANT, "apikey": "n" * 44})
    assert bad.status_code == 400
    assert bad.json()["errorCode"] == "BXNIM0415E"
    assert set(bad.json()) == {"errorCode", "errorMessage", "errorDetails", "context"}


def test_introspect_is_always_200(emulator: Emulator, c: httpx.Client) -> None:
    token = private_token(c, emulator.a.apikey)
    active = c.post("/iam-token/oidc/introspect", data={"token": token}).json()
    assert active["active"] is True
    assert active["realmId"] == "IBMid" and "realmid" not in active
    assert active["iam_id"].startswith("IBMid-") and active["sub"] == emulator.a.username
    assert active["account"]["bss"] == emulator.a.account_id
    for k in ("iss", "iat", "exp", "scope", "client_id", "grant_type"):
        assert k in active
    by_key = c.post("/iam-token/oidc/introspect", data={"apikey": emulator.a.apikey}).json()
    assert by_key["active"] is True and by_key["sub"] == emulator.a.username
    for form in ({"token": token[:-4] + "AAAA"}, {"token": "garbage"}, {"apikey": "n" * 44}, {}):
        r = c.post("/iam-token/oidc/introspect", data=form)
        assert r.status_code == 200 and r.json() == {"active": False}
    r = c.post(
        "/iam-token/oidc/introspect", content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 200 and r.json() == {"active": False}


def test_password_login_gives_an_opaque_token_that_works(
    emulator: Emulator, c: httpx.Client
) -> None:
    r = c.post(
        "/idprovider/v1/auth/identitytoken",
        data={
            "grant_type": "password",
            "username": emulator.a.username,
            "password": emulator.a.password,
            "scope": "openid",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {
        "access_token",
        "token_type",
        "expires_in",
        "scope",
        "refresh_token",
        "id_token",
    }
    assert body["access_token"].count(".") == 0  # opaque, as ICP's user tokens are
    assert jwt.decode(body["id_token"], options={"verify_signature": False})["sub"] == (
        emulator.a.username
    )
    listed = c.get(
        "/iam-token/serviceids/", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert listed.status_code == 200
    intro = c.post("/iam-token/oidc/introspect", data={"token": body["access_token"]}).json()
    assert intro["active"] is True and intro["sub"] == emulator.a.username
    again = c.post(
        "/idprovider/v1/auth/identitytoken",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert again.status_code == 200 and again.json()["access_token"] != body["access_token"]
    wrong = c.post(
        "/idprovider/v1/auth/identitytoken",
        data={"grant_type": "password", "username": emulator.a.username, "password": "nope"},
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_grant"
    assert "nope" not in wrong.text


def test_service_id_and_key_life_cycle(
    emulator: Emulator, c: httpx.Client, auth: dict[str, str]
) -> None:
    ns = "crn:v1:icp:private:k8:mycluster:n/default:::"
    r = c.post(
        "/iam-token/serviceids/",
        headers=auth,
        json={"name": "deploy", "description": "Service ID for deploy", "boundTo": ns},
    )
    assert r.status_code == 201
    sid = r.json()
    assert set(sid) == {"metadata", "entity"}
    meta, entity = sid["metadata"], sid["entity"]
    assert meta["crn"] == (
        "crn:v1:icp:private:iam-identity:mycluster:n/default::serviceid:" + meta["uuid"]
    )
    assert DATE.match(meta["createdAt"]) and entity["boundTo"] == ns
    assert c.get(f"/iam-token/serviceids/{meta['uuid']}", headers=auth).json() == sid

    key = c.post(
        "/iam-token/apikeys/",
        headers=auth,
        json={"name": "deploy-key", "description": "for deploys", "boundTo": meta["crn"]},
    )
    assert key.status_code == 201
    k = key.json()
    assert re.match(r"^[A-Za-z0-9_-]{44}$", k["entity"]["apiKey"])
    assert k["entity"]["format"] == "APIKEY" and k["entity"]["boundTo"] == meta["crn"]
    assert (
        k["metadata"]["crn"] == f"crn:v1:icp:private:iam-identity::::apikey:{k['metadata']['uuid']}"
    )
    # The 3.1.0 form of the same service ID's CRN lists the same keys.
    old_form = f"crn:v1:icp:private:k8::n/default::serviceid:{meta['uuid']}"
    listed = c.get("/iam-token/apikeys/", headers=auth, params={"boundTo": old_form}).json()
    assert listed["currentPage"] == 1 and listed["pageSize"] == 20
    assert [i["metadata"]["uuid"] for i in listed["items"]] == [k["metadata"]["uuid"]]
    assert "apiKey" not in listed["items"][0]["entity"]

    # The key logs in as the service ID.
    claims = jwt.decode(
        private_token(c, k["entity"]["apiKey"]), options={"verify_signature": False}
    )
    assert claims["sub"] == meta["uuid"] and claims["sub_type"] == "ServiceId"

    url = f"/iam-token/apikeys/{k['metadata']['uuid']}"
    put = c.put(url, headers=auth, json={"name": "deploy-key", "description": "updated"})
    assert put.status_code == 200 and put.json()["entity"]["description"] == "updated"
    assert c.delete(f"/iam-token/serviceids/{meta['uuid']}", headers=auth).status_code == 204
    assert c.get(url, headers=auth).status_code == 404
    assert c.get(f"/iam-token/serviceids/{meta['uuid']}", headers=auth).status_code == 404


def test_self_keys(emulator: Emulator, c: httpx.Client, auth: dict[str, str]) -> None:
    r = c.post(
        "/iam-token/apikeys/",
        headers=auth,
        json={"name": "mine", "description": "platform key", "boundTo": "self"},
    )
    assert r.status_code == 201
    assert r.json()["entity"]["boundTo"] == (
        f"crn:v1:icp:private:iam-identity:::IBMid:user:{emulator.a.username}"
    )
    mine = c.get("/iam-token/apikeys/?boundTo=self", headers=auth).json()["items"]
    assert r.json()["metadata"]["uuid"] in [i["metadata"]["uuid"] for i in mine]


def test_list_pages(emulator: Emulator, c: httpx.Client, auth: dict[str, str]) -> None:
    ns = f"paged-{uuid.uuid4().hex[:6]}"
    crn = f"crn:v1:icp:private:k8:mycluster:n/{ns}:::"
    made = {
        c.post(
            "/iam-token/serviceids/", headers=auth, json={"name": f"s{i}", "boundTo": crn}
        ).json()["metadata"]["uuid"]
        for i in range(25)
    }
    seen, page = set(), 1
    while True:
        body = c.get(
            "/iam-token/serviceids/",
            headers=auth,
            params={"boundTo": crn, "currentPage": page, "pageSize": 10},
        ).json()
        assert body["currentPage"] == page and body["pageSize"] == 10
        seen |= {i["metadata"]["uuid"] for i in body["items"]}
        if len(body["items"]) < 10:
            break
        page += 1
    assert page == 3 and seen == made


def test_errors_are_in_the_private_shape(
    emulator: Emulator, c: httpx.Client, auth: dict[str, str]
) -> None:
    missing = c.get("/iam-token/apikeys/", headers=auth)
    assert missing.status_code == 400
    assert missing.json()["errorDetails"] == "boundTo is missing"
    assert set(missing.json()) == {"errorCode", "errorMessage", "errorDetails", "context"}
    unknown = c.get(f"/iam-token/apikeys/ApiKey-{uuid.uuid4()}", headers=auth)
    assert unknown.status_code == 404 and unknown.json()["errorCode"] == "404"
    assert c.get("/iam-token/serviceids/").status_code == 401
    bad = c.post("/iam-token/apikeys/", headers=auth, json={"name": "x", "boundTo": "crn:v1:x"})
    assert bad.status_code == 400


def test_other_accounts_are_walled_off(
    emulator: Emulator, c: httpx.Client, auth: dict[str, str]
) -> None:
    theirs = {"Authorization": f"Bearer {private_token(c, emulator.b.apikey)}"}
    sid = c.post("/iam-token/serviceids/", headers=auth, json={"name": "walled"}).json()
    url = f"/iam-token/serviceids/{sid['metadata']['uuid']}"
    assert c.get(url, headers=theirs).status_code == 403
    assert c.delete(url, headers=theirs).status_code == 403
    r = c.post(
        "/iam-token/apikeys/", headers=theirs, json={"name": "x", "boundTo": sid["metadata"]["crn"]}
    )
    assert r.status_code == 403
    other_user = f"crn:v1:icp:private:iam-identity:::IBMid:user:{emulator.a.username}"
    assert (
        c.post(
            "/iam-token/apikeys/", headers=theirs, json={"name": "x", "boundTo": other_user}
        ).status_code
        == 403
    )
    their_ids = c.get("/iam-token/serviceids/", headers=theirs, params={"pageSize": 100}).json()[
        "items"
    ]
    assert sid["metadata"]["uuid"] not in [i["metadata"]["uuid"] for i in their_ids]
