"""Keyset paging of the lists (service IDs, API keys, trusted profiles) behind IBM's opaque
pagetoken: walks stay exact while the list changes between pages, forged or misused tokens are
400s in IBM's shape, and IBM's own SDK walks every list by its `next` links."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_platform_services import IamIdentityV1
from test_bad_input import identity_error

from support import Emulator


@pytest.fixture
def c(emulator: Emulator) -> Iterator[httpx.Client]:
    with emulator.client() as client:
        yield client


@pytest.fixture
def iam(emulator: Emulator) -> IamIdentityV1:
    service = IamIdentityV1(authenticator=IAMAuthenticator(emulator.a.apikey, url=emulator.url))
    service.set_service_url(emulator.url)
    return service


def token_of(next_link: str) -> str:
    return parse_qs(urlparse(next_link).query)["pagetoken"][0]


def walk(fetch: Callable[[str | None], dict[str, Any]], key: str) -> list[str]:
    """The IDs of every page, from the first on, following each `next` link's pagetoken as
    IBM's integration tests do."""
    seen: list[str] = []
    token = None
    for _ in range(100):
        page = fetch(token)
        seen.extend(item["id"] for item in page[key])
        if not page.get("next"):
            return seen
        token = token_of(page["next"])
    raise AssertionError("the walk did not end")


def make_service_ids(iam: IamIdentityV1, account: str, name: str, count: int) -> list[str]:
    return [
        iam.create_service_id(account_id=account, name=name, description=f"d{i:02d}").get_result()[
            "id"
        ]
        for i in range(count)
    ]


@pytest.mark.parametrize(
    ("sort", "order"), [(None, None), ("name", "desc"), ("description", "asc")]
)
def test_a_walk_neither_repeats_nor_skips_while_the_list_changes(
    emulator: Emulator, iam: IamIdentityV1, sort: str | None, order: str | None
) -> None:
    account = emulator.a.account_id
    name = f"keyset-{uuid.uuid4().hex[:8]}"
    # Equal names and (within a second) equal creation times: the order rests on the tie-break.
    made = make_service_ids(iam, account, name, 25)
    seen: list[str] = []
    deleted: set[str] = set()
    added: set[str] = set()
    pagetoken = None
    for page_number in range(20):
        page = iam.list_service_ids(
            account_id=account, name=name, pagesize=7, pagetoken=pagetoken, sort=sort, order=order
        ).get_result()
        seen.extend(s["id"] for s in page["serviceids"])
        if page_number == 0:
            # Between pages: one already seen and one not yet seen go, and new ones come.
            for gone in (seen[0], next(m for m in reversed(made) if m not in seen)):
                iam.delete_service_id(id=gone)
                deleted.add(gone)
            added |= set(make_service_ids(iam, account, name, 3))
        if not page.get("next"):
            break
        pagetoken = token_of(page["next"])
    else:
        pytest.fail("the walk did not end")
    assert len(seen) == len(set(seen)), "a service ID was listed twice"
    survivors = set(made) - deleted
    assert survivors <= set(seen), "a service ID that was there all along was skipped"
    assert set(seen) <= set(made) | added
    assert not (set(seen) - {seen[0]}) & deleted, "a deleted service ID was listed after it went"


def test_sorted_walk_is_in_order(emulator: Emulator, iam: IamIdentityV1) -> None:
    account = emulator.a.account_id
    prefix = f"keysort-{uuid.uuid4().hex[:8]}"
    for i in (5, 3, 9, 1, 7, 2, 8, 4, 6, 0):
        iam.create_service_id(account_id=account, name=f"{prefix}-{i}")
    names, pagetoken = [], None
    while True:
        page = iam.list_service_ids(
            account_id=account,
            pagesize=3,
            pagetoken=pagetoken,
            sort="name",
            order="desc",
            filter=f'name sw "{prefix}"',
        ).get_result()
        names.extend(s["name"] for s in page["serviceids"])
        if not page.get("next"):
            break
        pagetoken = token_of(page["next"])
    assert names == [f"{prefix}-{i}" for i in range(9, -1, -1)]


def test_sdk_walks_api_keys_and_profiles(emulator: Emulator, iam: IamIdentityV1) -> None:
    account = emulator.a.account_id
    tag = uuid.uuid4().hex[:8]
    owner = iam.create_service_id(account_id=account, name=f"keys-{tag}").get_result()
    keys = {
        iam.create_api_key(name=f"k{i}", iam_id=owner["iam_id"]).get_result()["id"]
        for i in range(7)
    }
    seen = walk(
        lambda token: iam.list_api_keys(
            account_id=account, iam_id=owner["iam_id"], pagesize=2, pagetoken=token
        ).get_result(),
        "apikeys",
    )
    assert sorted(seen) == sorted(keys)
    profiles = {
        iam.create_profile(name=f"p-{tag}-{i}", account_id=account).get_result()["id"]
        for i in range(5)
    }
    seen = walk(
        lambda token: iam.list_profiles(
            account_id=account, pagesize=2, pagetoken=token, filter=f'name sw "p-{tag}"'
        ).get_result(),
        "profiles",
    )
    assert sorted(seen) == sorted(profiles)


def _first_next(c: httpx.Client, emulator: Emulator, path: str, **params: str) -> str:
    r = c.get(
        path,
        params={"account_id": emulator.a.account_id, "pagesize": 1, "scope": "account", **params},
        headers=emulator.auth(),
    )
    assert r.status_code == 200, r.text
    return token_of(r.json()["next"])


def test_a_tampered_page_token_is_a_400(emulator: Emulator, c: httpx.Client) -> None:
    token = _first_next(c, emulator, "/v1/serviceids/")
    body, mac = token.split(".")
    raw = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw["o"] = 0  # another place in the list, the old signature
    forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
    for bad in (f"{forged}.{mac}", forged, f"{body}.{mac[:-2]}AA", f"{body}.", "." + mac):
        r = c.get("/v1/serviceids/", params={"pagetoken": bad}, headers=emulator.auth())
        assert "pagetoken" in identity_error(r, 400)


def test_a_page_token_is_for_its_own_list_and_order(emulator: Emulator, c: httpx.Client) -> None:
    keys_token = _first_next(c, emulator, "/v1/apikeys")
    r = c.get("/v1/serviceids/", params={"pagetoken": keys_token}, headers=emulator.auth())
    assert "pagetoken" in identity_error(r, 400)
    by_name = _first_next(c, emulator, "/v1/serviceids/", sort="name")
    r = c.get(
        "/v1/serviceids/",
        params={"pagetoken": by_name, "sort": "created_at"},
        headers=emulator.auth(),
    )
    assert "pagetoken" in identity_error(r, 400)
    r = c.get(
        "/v1/serviceids/", params={"pagetoken": by_name, "sort": "name"}, headers=emulator.auth()
    )
    assert r.status_code == 200


def test_another_accounts_page_token_is_refused(emulator: Emulator, c: httpx.Client) -> None:
    token = _first_next(c, emulator, "/v1/serviceids/")
    r = c.get(
        "/v1/serviceids/", params={"pagetoken": token}, headers=emulator.auth(emulator.b.apikey)
    )
    assert r.status_code in (400, 403), r.text


def test_the_sdk_sees_a_forged_token_as_a_400(emulator: Emulator, iam: IamIdentityV1) -> None:
    with pytest.raises(ApiException) as caught:
        iam.list_service_ids(account_id=emulator.a.account_id, pagetoken="eyJvIjoxfQ.AAAA")
    assert caught.value.status_code == 400


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_a_walk_by_long_sort_keys_follows_its_own_links(
    emulator: Emulator, iam: IamIdentityV1, order: str
) -> None:
    """Descriptions of kilobytes (non-ASCII: JSON escapes them six bytes a character) make no
    link too long to follow: the token names the page's last row instead of carrying its key.
    When that row is deleted before the link is followed, the next page may repeat rows but
    skips none."""
    account = emulator.a.account_id
    name = f"long-{uuid.uuid4().hex[:8]}"
    long = "é" * 3000
    made = [
        iam.create_service_id(
            account_id=account, name=name, description=f"{long}{i:02d}"
        ).get_result()["id"]
        for i in range(9)
    ]
    expected = made if order == "asc" else made[::-1]

    def fetch(token: str | None) -> dict[str, Any]:
        page: dict[str, Any] = iam.list_service_ids(
            account_id=account,
            name=name,
            pagesize=4,
            pagetoken=token,
            sort="description",
            order=order,
        ).get_result()
        if page.get("next"):
            assert len(token_of(page["next"])) < 1024
        return page

    assert walk(fetch, "serviceids") == expected

    first = fetch(None)
    gone = first["serviceids"][-1]["id"]
    iam.delete_service_id(id=gone)
    rest = walk(lambda t: fetch(t or token_of(first["next"])), "serviceids")
    seen = [item["id"] for item in first["serviceids"]] + rest
    assert set(expected) <= set(seen)
    assert seen[-5:] == [i for i in expected if i != gone][-5:]
