"""/v1/apikeys over HTTP: values shown once, details by value, flags, versions, walls."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from support import APIKEY_GRANT, Emulator

KEY_VALUE = re.compile(r"^[A-Za-z0-9_-]{44}$")


@pytest.fixture
def c(emulator: Emulator) -> Iterator[httpx.Client]:
    with emulator.client() as client:
        yield client


@pytest.fixture
def service_id(emulator: Emulator, c: httpx.Client) -> dict[str, str]:
    r = c.post(
        "/v1/serviceids/",
        headers=emulator.auth(),
        json={"account_id": emulator.a.account_id, "name": f"keys-{uuid.uuid4().hex[:6]}"},
    )
    return r.json()  # type: ignore[no-any-return]


def new_key(c: httpx.Client, emulator: Emulator, iam_id: str, **body: object) -> httpx.Response:
    return c.post(
        "/v1/apikeys", headers=emulator.auth(), json={"name": "k", "iam_id": iam_id, **body}
    )


def token_status(c: httpx.Client, value: str) -> int:
    return c.post("/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": value}).status_code


def test_create_shows_the_value_once(
    emulator: Emulator, c: httpx.Client, service_id: dict[str, str]
) -> None:
    r = new_key(c, emulator, service_id["iam_id"], description="ci deploys")
    assert r.status_code == 201
    key = r.json()
    assert KEY_VALUE.match(key["apikey"])
    assert re.match(r"^ApiKey-[0-9a-f-]{36}$", key["id"])
    assert key["crn"].endswith(f"::apikey:{key['id']}")
    assert key["iam_id"] == service_id["iam_id"] and key["account_id"] == emulator.a.account_id
    assert key["locked"] is False and key["disabled"] is False
    assert key["description"] == "ci deploys"
    assert key["created_by"].startswith("IBMid-")
    got = c.get(f"/v1/apikeys/{key['id']}", headers=emulator.auth())
    assert got.status_code == 200 and "apikey" not in got.json()
    assert got.headers["ETag"] == key["entity_tag"]
    assert token_status(c, key["apikey"]) == 200


def test_user_keys_cannot_store_their_value(emulator: Emulator, c: httpx.Client) -> None:
    me = emulator.store.user_by_name(emulator.a.username)
    assert me is not None
    r = new_key(c, emulator, me.iam_id, store_value=True)
    assert r.status_code == 400


def test_pass_through_value_is_accepted_once(
    emulator: Emulator, c: httpx.Client, service_id: dict[str, str]
) -> None:
    value = "pass-through-" + uuid.uuid4().hex + "-value"
    r = new_key(c, emulator, service_id["iam_id"], apikey=value)
    assert r.status_code == 201 and r.json()["apikey"] == value
    again = new_key(c, emulator, service_id["iam_id"], apikey=value)
    assert again.status_code == 409
    assert value not in again.text
    assert new_key(c, emulator, service_id["iam_id"], apikey="too-short").status_code == 400


def test_details_by_value(emulator: Emulator, c: httpx.Client, service_id: dict[str, str]) -> None:
    key = new_key(c, emulator, service_id["iam_id"]).json()
    r = c.get("/v1/apikeys/details", headers={**emulator.auth(), "IAM-ApiKey": key["apikey"]})
    assert r.status_code == 200 and r.json()["id"] == key["id"] and "apikey" not in r.json()
    missing = c.get("/v1/apikeys/details", headers={**emulator.auth(), "IAM-ApiKey": "n" * 44})
    assert missing.status_code == 404
    theirs = c.get(
        "/v1/apikeys/details",
        headers={**emulator.auth(emulator.b.apikey), "IAM-ApiKey": key["apikey"]},
    )
    assert theirs.status_code == 403


def test_update_with_if_match(
    emulator: Emulator, c: httpx.Client, service_id: dict[str, str]
) -> None:
    key = new_key(c, emulator, service_id["iam_id"]).json()
    url = f"/v1/apikeys/{key['id']}"
    r = c.put(
        url,
        headers={**emulator.auth(), "If-Match": key["entity_tag"]},
        json={"name": "renamed", "description": ""},
    )
    assert r.status_code == 200
    assert r.json()["name"] == "renamed" and r.json()["description"] == ""
    stale = c.put(
        url, headers={**emulator.auth(), "If-Match": key["entity_tag"]}, json={"name": "lost"}
    )
    assert stale.status_code == 412
    assert c.get(url, headers=emulator.auth()).json()["name"] == "renamed"


def test_lock_and_disable(emulator: Emulator, c: httpx.Client, service_id: dict[str, str]) -> None:
    key = new_key(c, emulator, service_id["iam_id"]).json()
    url = f"/v1/apikeys/{key['id']}"
    assert c.post(f"{url}/lock", headers=emulator.auth()).status_code == 204
    assert c.get(url, headers=emulator.auth()).json()["locked"] is True
    assert c.delete(url, headers=emulator.auth()).status_code == 409
    assert (
        c.put(url, headers={**emulator.auth(), "If-Match": "*"}, json={"name": "x"}).status_code
        == 409
    )
    assert c.delete(f"{url}/lock", headers=emulator.auth()).status_code == 204

    assert c.post(f"{url}/disable", headers=emulator.auth()).status_code == 204
    assert c.get(url, headers=emulator.auth()).json()["disabled"] is True
    assert token_status(c, key["apikey"]) == 400
    assert c.delete(f"{url}/disable", headers=emulator.auth()).status_code == 204
    assert token_status(c, key["apikey"]) == 200

    assert c.delete(url, headers=emulator.auth()).status_code == 204
    assert token_status(c, key["apikey"]) == 400
    assert c.get(url, headers=emulator.auth()).status_code == 404


def test_list_by_iam_id_pages(
    emulator: Emulator, c: httpx.Client, service_id: dict[str, str]
) -> None:
    ids = {
        new_key(c, emulator, service_id["iam_id"], name=f"key-{i}").json()["id"] for i in range(7)
    }
    params: dict[str, str | int] = {
        "account_id": emulator.a.account_id,
        "iam_id": service_id["iam_id"],
        "pagesize": 3,
    }
    seen, pages = [], 0
    while True:
        body = c.get("/v1/apikeys", headers=emulator.auth(), params=params).json()
        pages += 1
        seen += body["apikeys"]
        if "next" not in body:
            break
        params["pagetoken"] = parse_qs(urlparse(body["next"]).query)["pagetoken"][0]
    assert pages == 3 and {k["id"] for k in seen} == ids
    assert all("apikey" not in k for k in seen)


def test_default_scope_is_the_callers_own_keys(
    emulator: Emulator, c: httpx.Client, service_id: dict[str, str]
) -> None:
    new_key(c, emulator, service_id["iam_id"])
    me = emulator.store.user_by_name(emulator.a.username)
    assert me is not None
    own = c.get("/v1/apikeys", headers=emulator.auth(), params={"pagesize": 100}).json()
    assert own["apikeys"] and all(k["iam_id"] == me.iam_id for k in own["apikeys"])
    everyone: list[dict[str, str]] = []
    params: dict[str, str | int] = {"scope": "account", "type": "serviceid", "pagesize": 100}
    while True:  # the session's emulator holds many keys by now: follow every page
        page = c.get("/v1/apikeys", headers=emulator.auth(), params=params).json()
        everyone += page["apikeys"]
        if "next" not in page:
            break
        params["pagetoken"] = parse_qs(urlparse(page["next"]).query)["pagetoken"][0]
    assert any(k["iam_id"] == service_id["iam_id"] for k in everyone)
    assert all(k["iam_id"].startswith("iam-ServiceId-") for k in everyone)


def test_other_accounts_are_walled_off(
    emulator: Emulator, c: httpx.Client, service_id: dict[str, str]
) -> None:
    key = new_key(c, emulator, service_id["iam_id"]).json()
    theirs = emulator.auth(emulator.b.apikey)
    url = f"/v1/apikeys/{key['id']}"
    assert c.get(url, headers=theirs).status_code == 403
    assert c.delete(url, headers=theirs).status_code == 403
    assert c.post(f"{url}/disable", headers=theirs).status_code == 403
    r = c.post("/v1/apikeys", headers=theirs, json={"name": "x", "iam_id": service_id["iam_id"]})
    assert r.status_code == 403
    assert (
        c.get("/v1/apikeys", headers=theirs, params={"iam_id": service_id["iam_id"]}).status_code
        == 403
    )
    assert c.get(url, headers=emulator.auth()).status_code == 200


def test_expired_token_is_refused(emulator: Emulator, c: httpx.Client) -> None:
    tokens = emulator.server.app.state.tokens
    me = emulator.store.user_by_name(emulator.a.username)
    assert me is not None
    saved = tokens.ttl
    tokens.ttl = -60
    # Lifetimes are cached per account for a few seconds: an earlier test's mint must not
    # give this token the usual hour.
    tokens._lifetimes.clear()
    try:
        expired = tokens.mint(
            me,
            me.account_id,
            family="cloud",
            issuer="x",
            grant_type=APIKEY_GRANT,
            client_id="default",
        ).access_token
    finally:
        tokens.ttl = saved
        tokens._lifetimes.clear()
    r = c.get("/v1/apikeys", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["errors"][0]["message"]
