"""/v1/serviceids over HTTP: the life cycle, paging, versions, locks and account walls."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from support import Emulator

IBM_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d\+0000$")


def create(c: httpx.Client, emulator: Emulator, name: str, **body: object) -> httpx.Response:
    return c.post(
        "/v1/serviceids/",
        headers=emulator.auth(),
        json={"account_id": emulator.a.account_id, "name": name, **body},
    )


@pytest.fixture
def c(emulator: Emulator) -> httpx.Client:
    with emulator.client() as client:
        yield client  # type: ignore[misc]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_create_get_update_delete(emulator: Emulator, c: httpx.Client) -> None:
    name = unique("life")
    r = create(c, emulator, name, description="first")
    assert r.status_code == 201
    sid = r.json()
    assert re.match(r"^ServiceId-[0-9a-f-]{36}$", sid["id"])
    assert sid["iam_id"] == "iam-" + sid["id"]
    assert sid["crn"] == (
        f"crn:v1:bluemix:public:iam-identity::a/{emulator.a.account_id}::serviceid:{sid['id']}"
    )
    assert sid["locked"] is False and sid["name"] == name and sid["description"] == "first"
    assert IBM_TIME.match(sid["created_at"]) and IBM_TIME.match(sid["modified_at"])
    assert re.match(r"^1-[0-9a-f]{32}$", sid["entity_tag"])
    assert r.headers["ETag"] == sid["entity_tag"]

    got = c.get(f"/v1/serviceids/{sid['id']}", headers=emulator.auth())
    assert got.status_code == 200 and got.headers["ETag"] == sid["entity_tag"]
    assert got.json() == sid

    updated = c.put(
        f"/v1/serviceids/{sid['id']}",
        headers={**emulator.auth(), "If-Match": got.headers["ETag"]},
        json={"description": "second"},
    )
    assert updated.status_code == 200
    assert updated.json()["description"] == "second" and updated.json()["name"] == name
    assert updated.json()["entity_tag"].startswith("2-")

    stale = c.put(
        f"/v1/serviceids/{sid['id']}",
        headers={**emulator.auth(), "If-Match": sid["entity_tag"]},
        json={"name": "lost-update"},
    )
    assert stale.status_code == 412
    assert stale.json()["errors"][0]["code"] == "precondition_failed"
    assert c.get(f"/v1/serviceids/{sid['id']}", headers=emulator.auth()).json()["name"] == name

    assert c.delete(f"/v1/serviceids/{sid['id']}", headers=emulator.auth()).status_code == 204
    gone = c.get(f"/v1/serviceids/{sid['id']}", headers=emulator.auth())
    assert gone.status_code == 404
    assert gone.json()["status_code"] == "404" and gone.json()["trace"]


def test_update_needs_if_match(emulator: Emulator, c: httpx.Client) -> None:
    sid = create(c, emulator, unique("ifmatch")).json()
    r = c.put(f"/v1/serviceids/{sid['id']}", headers=emulator.auth(), json={"name": "x"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"] == "Property missing or empty. Property: if-match"
    star = c.put(
        f"/v1/serviceids/{sid['id']}",
        headers={**emulator.auth(), "If-Match": "*"},
        json={"name": "renamed"},
    )
    assert star.status_code == 200 and star.json()["name"] == "renamed"


def test_lock_refuses_change_until_unlocked(emulator: Emulator, c: httpx.Client) -> None:
    sid = create(c, emulator, unique("locked")).json()
    url = f"/v1/serviceids/{sid['id']}"
    assert c.post(f"{url}/lock", headers=emulator.auth()).status_code == 204
    locked = c.get(url, headers=emulator.auth()).json()
    assert locked["locked"] is True
    for r in (
        c.put(url, headers={**emulator.auth(), "If-Match": "*"}, json={"name": "no"}),
        c.delete(url, headers=emulator.auth()),
    ):
        assert r.status_code == 409
        assert r.json()["errors"][0]["code"] == "entity_locked"
    assert c.delete(f"{url}/lock", headers=emulator.auth()).status_code == 204
    assert c.delete(url, headers=emulator.auth()).status_code == 204


def test_create_locked_with_entity_lock_header(emulator: Emulator, c: httpx.Client) -> None:
    r = c.post(
        "/v1/serviceids/",
        headers={**emulator.auth(), "Entity-Lock": "true"},
        json={"account_id": emulator.a.account_id, "name": unique("born-locked")},
    )
    assert r.status_code == 201 and r.json()["locked"] is True


def test_create_with_embedded_api_key(emulator: Emulator, c: httpx.Client) -> None:
    r = create(c, emulator, unique("with-key"), apikey={"name": "embedded", "store_value": True})
    assert r.status_code == 201
    key = r.json()["apikey"]
    assert key["iam_id"] == r.json()["iam_id"] and len(key["apikey"]) == 44
    again = c.get(f"/v1/apikeys/{key['id']}", headers=emulator.auth()).json()
    assert again["apikey"] == key["apikey"]  # store_value keeps it readable, as IBM does


def test_delete_takes_the_service_ids_keys(emulator: Emulator, c: httpx.Client) -> None:
    sid = create(c, emulator, unique("with-keys")).json()
    keys = [
        c.post(
            "/v1/apikeys", headers=emulator.auth(), json={"name": f"k{i}", "iam_id": sid["iam_id"]}
        ).json()
        for i in range(3)
    ]
    token = emulator.token(keys[0]["apikey"])
    assert c.delete(f"/v1/serviceids/{sid['id']}", headers=emulator.auth()).status_code == 204
    for key in keys:
        assert c.get(f"/v1/apikeys/{key['id']}", headers=emulator.auth()).status_code == 404
    # The deleted service ID's tokens end with it.
    r = c.get(
        f"/v1/apikeys?account_id={emulator.a.account_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 401


def test_paging_follows_next_links(emulator: Emulator, c: httpx.Client) -> None:
    name = unique("paged")
    made = {create(c, emulator, name, description=f"{i:02d}").json()["id"] for i in range(45)}
    seen: list[dict[str, object]] = []
    params: dict[str, str | int] = {
        "account_id": emulator.a.account_id,
        "name": name,
        "pagesize": 20,
    }
    pages = 0
    while True:
        r = c.get("/v1/serviceids/", headers=emulator.auth(), params=params)
        assert r.status_code == 200
        body = r.json()
        pages += 1
        assert body["limit"] == 20 and body["offset"] == len(seen)
        assert ("previous" in body) == (pages > 1)
        seen.extend(body["serviceids"])
        if "next" not in body:
            break
        # What IBM's own integration test does: take pagetoken out of the next link.
        params["pagetoken"] = parse_qs(urlparse(body["next"]).query)["pagetoken"][0]
    assert pages == 3
    assert [s["id"] for s in seen if True] and {s["id"] for s in seen} == made
    assert len(seen) == 45


def test_sort_and_order(emulator: Emulator, c: httpx.Client) -> None:
    prefix = unique("sorted")
    for letter in "cab":
        create(c, emulator, f"{prefix}-{letter}")
    r = c.get(
        "/v1/serviceids/",
        headers=emulator.auth(),
        params={
            "account_id": emulator.a.account_id,
            "sort": "name",
            "order": "desc",
            "filter": f'name sw "{prefix}"',
        },
    )
    names = [s["name"] for s in r.json()["serviceids"]]
    assert names == [f"{prefix}-c", f"{prefix}-b", f"{prefix}-a"]


def test_name_filter_is_exact(emulator: Emulator, c: httpx.Client) -> None:
    name = unique("exact")
    create(c, emulator, name)
    create(c, emulator, name + "-longer")
    r = c.get(
        "/v1/serviceids/",
        headers=emulator.auth(),
        params={"account_id": emulator.a.account_id, "name": name},
    )
    assert [s["name"] for s in r.json()["serviceids"]] == [name]


def test_without_a_token_is_401(emulator: Emulator, c: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic eA=="}):
        r = c.get(f"/v1/serviceids/?account_id={emulator.a.account_id}", headers=headers)
        assert r.status_code == 401
        assert r.json()["errors"][0]["code"] == "invalid_token"


def test_other_accounts_are_walled_off(emulator: Emulator, c: httpx.Client) -> None:
    theirs = c.post(
        "/v1/serviceids/",
        headers=emulator.auth(emulator.b.apikey),
        json={"account_id": emulator.b.account_id, "name": unique("theirs")},
    ).json()
    url = f"/v1/serviceids/{theirs['id']}"
    mine = emulator.auth()
    assert c.get(url, headers=mine).status_code == 403
    assert c.put(url, headers={**mine, "If-Match": "*"}, json={"name": "x"}).status_code == 403
    assert c.delete(url, headers=mine).status_code == 403
    assert c.post(f"{url}/lock", headers=mine).status_code == 403
    assert (
        c.get(f"/v1/serviceids/?account_id={emulator.b.account_id}", headers=mine).status_code
        == 403
    )
    assert create(c, emulator, "x", account_id=emulator.b.account_id).status_code == 403
    assert c.get(url, headers=emulator.auth(emulator.b.apikey)).status_code == 200


def test_unknown_id_is_404(emulator: Emulator, c: httpx.Client) -> None:
    for method in ("GET", "DELETE"):
        r = c.request(method, f"/v1/serviceids/ServiceId-{uuid.uuid4()}", headers=emulator.auth())
        assert r.status_code == 404
        assert r.json()["errors"][0]["code"] == "not_found"
