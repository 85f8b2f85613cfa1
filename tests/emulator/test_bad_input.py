"""Malformed requests get a 4xx in the family's own error shape, never a 500."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from support import Emulator


@pytest.fixture
def c(emulator: Emulator) -> Iterator[httpx.Client]:
    with emulator.client() as client:
        yield client


def identity_error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status_code"] == str(status)
    assert body["trace"] == r.headers["Transaction-Id"]
    return str(body["errors"][0]["message"])


def test_malformed_json(emulator: Emulator, c: httpx.Client) -> None:
    r = c.post(
        "/v1/serviceids/",
        headers={**emulator.auth(), "Content-Type": "application/json"},
        content=b'{"account_id": ',
    )
    assert identity_error(r, 400) == "The request body is not valid JSON"


def test_wrong_content_type(emulator: Emulator, c: httpx.Client) -> None:
    r = c.post(
        "/v1/apikeys", headers={**emulator.auth(), "Content-Type": "text/plain"}, content=b"name=x"
    )
    assert "Content-Type" in identity_error(r, 415)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "account_id"),
        ({"account_id": "a"}, "name"),
        ({"account_id": "a", "name": 5}, "name"),
        (
            {"account_id": "a", "name": "x", "unique_instance_crns": "not-a-list"},
            "unique_instance_crns",
        ),
    ],
)
def test_missing_or_mistyped_fields(
    emulator: Emulator, c: httpx.Client, body: dict[str, object], field: str
) -> None:
    r = c.post("/v1/serviceids/", headers=emulator.auth(), json=body)
    assert field in identity_error(r, 400)


def test_oversized_fields(emulator: Emulator, c: httpx.Client) -> None:
    r = c.post(
        "/v1/serviceids/",
        headers=emulator.auth(),
        json={"account_id": emulator.a.account_id, "name": "n" * 5000},
    )
    assert "at most" in identity_error(r, 400)
    r = c.post(
        "/v1/serviceids/",
        headers=emulator.auth(),
        json={"account_id": emulator.a.account_id, "name": "x", "description": "d" * 60000},
    )
    assert "at most" in identity_error(r, 400)


def test_oversized_body(emulator: Emulator, c: httpx.Client) -> None:
    r = c.post(
        "/v1/serviceids/",
        headers=emulator.auth(),
        json={"account_id": emulator.a.account_id, "name": "x", "description": "d" * 70000},
    )
    identity_error(r, 413)
    token = c.post("/identity/token", data={"grant_type": "x", "apikey": "k" * 100_000})
    assert token.status_code == 413 and "errorCode" in token.json()


def test_bad_query_values(emulator: Emulator, c: httpx.Client) -> None:
    base = {"account_id": emulator.a.account_id}
    for params in (
        {"pagesize": 0},
        {"pagesize": 101},
        {"pagesize": "many"},
        {"sort": "password"},
        {"order": "sideways"},
        {"pagetoken": "%%%"},
        {"filter": 'name sounds-like "x"'},
    ):
        r = c.get("/v1/serviceids/", headers=emulator.auth(), params={**base, **params})
        identity_error(r, 400)


def test_empty_names_are_refused(emulator: Emulator, c: httpx.Client) -> None:
    r = c.post(
        "/v1/serviceids/",
        headers=emulator.auth(),
        json={"account_id": emulator.a.account_id, "name": "  "},
    )
    identity_error(r, 400)


def test_bad_expiry(emulator: Emulator, c: httpx.Client) -> None:
    me = emulator.store.user_by_name(emulator.a.username)
    assert me is not None
    for value in ("tomorrow", "2001-01-01T00:00+0000"):
        r = c.post(
            "/v1/apikeys",
            headers=emulator.auth(),
            json={"name": "x", "iam_id": me.iam_id, "expires_at": value},
        )
        assert "expires_at" in identity_error(r, 400)


def test_unknown_routes_and_methods(emulator: Emulator, c: httpx.Client) -> None:
    identity_error(c.get("/v1/nothing-here", headers=emulator.auth()), 404)
    identity_error(c.patch("/v1/serviceids/", headers=emulator.auth()), 405)
    private = c.get("/iam-token/nothing")
    assert private.status_code == 404 and private.json()["errorCode"] == "404"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", "/v1/serviceids/", "GET, POST"),
        ("OPTIONS", "/v1/apikeys/ApiKey-1", "DELETE, GET, PUT"),
        # details is a resource of its own, though {kid} would match it too
        ("OPTIONS", "/v1/apikeys/details", "GET"),
        ("GET", "/v1/apikeys/ApiKey-1/lock", "DELETE, POST"),
        ("PUT", "/identity/token", "POST"),
        ("DELETE", "/iam-token/apikeys/", "GET, POST"),
    ],
)
def test_405_lists_every_allowed_method(
    emulator: Emulator, c: httpx.Client, method: str, path: str, allow: str
) -> None:
    # Regression (found by the fuzz test): the Allow header was dropped, then named only the
    # methods of the first route on the path.
    r = c.request(method, path, headers=emulator.auth())
    assert r.status_code == 405
    assert r.headers["Allow"] == allow


@pytest.mark.parametrize(
    "path",
    ["/iam-token/apikeys/%0A", "/v1/serviceids/%0A", "/v1/apikeys/%0D%0A", "/v1/apikeys/a%00b"],
)
def test_control_characters_in_a_path_name_no_resource(
    emulator: Emulator, c: httpx.Client, path: str
) -> None:
    # Regression (found by the fuzz test): a trailing newline matched the route of the list,
    # because a regex `$` also matches before a final newline.
    r = c.get(path, headers=emulator.auth())
    assert r.status_code == 404, r.text
    assert "boundTo" not in r.text


def test_private_family_bad_bodies(emulator: Emulator, c: httpx.Client) -> None:
    token = c.post(
        "/iam-token/oidc/token",
        data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": emulator.a.apikey},
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    for content, ctype, status in (
        (b"{", "application/json", 400),
        (b"name=x", "application/x-www-form-urlencoded", 415),
        (b'{"description": "no name"}', "application/json", 400),
    ):
        r = c.post(
            "/iam-token/serviceids/", headers={**auth, "Content-Type": ctype}, content=content
        )
        assert r.status_code == status
        assert set(r.json()) == {"errorCode", "errorMessage", "errorDetails", "context"}


def test_request_id_is_echoed(emulator: Emulator, c: httpx.Client) -> None:
    r = c.get(
        "/v1/serviceids/ServiceId-00000000-0000-0000-0000-000000000000",
        headers={**emulator.auth(), "X-Request-ID": "trace-me-123"},
    )
    assert r.headers["Transaction-Id"] == "trace-me-123"
    assert r.json()["trace"] == "trace-me-123"


def _page_token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("path", ["/v1/serviceids", "/v1/apikeys"])
@pytest.mark.parametrize(
    "raw",
    [
        b'{"o": 9223372036854775808}',  # 2^63: past SQLite's integers
        b'{"o": 1' + b"0" * 5000 + b"}",
        b'{"o": 1e400}',
        b'{"o": true}',
        b'{"o": 1, "a": 5}',
        b"[1]",
        b"[" * 5000,
    ],
    ids=["2^63", "5000 digits", "1e400", "bool", "account not text", "list", "deep"],
)
def test_a_crafted_page_token_is_a_400(
    emulator: Emulator, c: httpx.Client, path: str, raw: bytes
) -> None:
    r = c.get(path, params={"pagetoken": _page_token(raw)}, headers=emulator.auth())
    assert "pagetoken" in identity_error(r, 400)


LONE = '"\\ud800"'  # as JSON text: the escape of a lone high surrogate


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/v1/serviceids/", '{"account_id": "%(account)s", "name": %(lone)s}'),
        ("/v1/serviceids/", '{"account_id": "%(account)s", "name": "x", %(lone)s: 1}'),
        ("/v1/apikeys", '{"name": "k", "iam_id": "x", "apikey": %(lone)s}'),
        ("/v1/apikeys", '{"name": "k", "iam_id": "x", "description": ["\\udfff x"]}'),
    ],
)
def test_an_unpaired_surrogate_in_any_json_string_is_a_400(
    emulator: Emulator, c: httpx.Client, path: str, template: str
) -> None:
    body = template % {"account": emulator.a.account_id, "lone": LONE}
    headers = {**emulator.auth(), "Content-Type": "application/json"}
    r = c.post(path, headers=headers, content=body.encode())
    assert "surrogate" in identity_error(r, 400)


def test_an_unpaired_surrogate_in_the_private_family_is_a_400(
    emulator: Emulator, c: httpx.Client
) -> None:
    headers = {**emulator.auth(), "Content-Type": "application/json"}
    # Raw bytes ED A0 80 (a surrogate in CESU-8), which Python's JSON decoder lets through.
    for body in (b'{"name": "\\udbff"}', b'{"name": "\xed\xa0\x80"}'):
        r = c.post("/iam-token/serviceids/", headers=headers, content=body)
        assert r.status_code == 400, r.text
        assert r.json()["errorCode"] == "400"
        assert "surrogate" in r.json()["errorDetails"]


def test_a_paired_surrogate_is_a_character_like_any_other(
    emulator: Emulator, c: httpx.Client
) -> None:
    headers = {**emulator.auth(), "Content-Type": "application/json"}
    account = emulator.a.account_id
    body = f'{{"account_id": "{account}", "name": "smile \\ud83d\\ude00"}}'
    r = c.post("/v1/serviceids/", headers=headers, content=body.encode())
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "smile \U0001f600"


@pytest.mark.parametrize("digits", ["²", "١٢", "9" * 40])
def test_numbers_in_text_are_ascii_digits_of_sane_length(
    emulator: Emulator, c: httpx.Client, digits: str
) -> None:
    """str.isdigit() is true of '²', which int() refuses: that was a 500 in every route that
    read a number from text."""
    auth = emulator.auth()
    account = emulator.a.account_id
    answers = [
        c.post(
            f"/v1/activity/accounts/{account}/report", params={"duration": digits}, headers=auth
        ),
        c.get("/v1/account_settings_templates", params={"limit": digits}, headers=auth),
        c.get(f"/v1/account_settings_templates/Template-x/versions/{digits}", headers=auth),
    ]
    for r in answers:
        identity_error(r, 400)
