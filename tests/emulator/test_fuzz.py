"""Schemathesis against the server's own OpenAPI document: no 500s, nothing off the document.

Each operation gets a bounded, derandomized set of examples (valid and invalid), sent over HTTP
to a thread server on 127.0.0.1 with a valid bearer token, and every answer is checked against
the documented statuses, content type, headers and body schema.

The document is built at collection from the app itself, and the `auth` fixture checks that it
is the one the server serves: schemathesis's loader from a fixture (`from_fixture`) breaks
under pytest 9 (it sets `node._nodeid`, which pytest 9 no longer has).

Schemathesis draws values that fit the document; a hostile client sends what fits JSON. So
each JSON body may also get one string (at any depth, or a new member) with an unpaired
surrogate, and each page token be one of ours with an integer past 64 bits or such a string
inside: values the document's types never produce, each a 500 waiting in a server that
passes them on (to SQLite, a digest, an encoder).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from copy import deepcopy
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import schemathesis
from hypothesis import strategies as st
from servers import ADMIN_KEY, ADMIN_PASSWORD, Running, running

from iamcli.emulator import openapi
from iamcli.emulator.app import Settings, create_app
from support import APIKEY_GRANT

MAX_EXAMPLES = 25

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261127,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "no-shrink": True,
            # Unknown query parameters are ignored, as IBM's API ignores them (its SDKs send
            # some this server does not know); a request is not invalid for having one.
            "allow-extra-parameters": False,
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            # Made-up IDs are rightly answered 404, so valid-looking data is not expected to
            # succeed.
            "positive_data_acceptance": {"enabled": False},
            # The server's refusals; 413 (a body over the limit) is one, which schemathesis
            # does not count by default.
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 409, 412, 413, 415]
            },
        },
        "request-timeout": 10,
    }
)
schema = schemathesis.openapi.from_dict(
    create_app(Settings(access_log=False)).openapi(), config=CONFIG
)

# -- what a hostile client sends where the document expects something tamer ----------------

HUGE_INTEGERS = st.one_of(
    st.integers(min_value=2**63 - 1, max_value=2**70),
    st.integers(min_value=-(2**70), max_value=-(2**63) - 1),
)
# The "!" on each side keeps a neighbour from completing the surrogate into a pair.
UNPAIRED_SURROGATES = st.builds(
    lambda before, lone, after: before + "!" + lone + "!" + after,
    st.text(max_size=4),
    st.characters(categories=["Cs"]),
    st.text(max_size=4),
)
HOSTILE = st.one_of(HUGE_INTEGERS, UNPAIRED_SURROGATES)


def _json_body(operation: Any) -> bool:
    content = operation.definition.raw.get("requestBody", {}).get("content", {})
    return "application/json" in content


def _with_one_hostile_value(body: Any) -> st.SearchStrategy[Any]:
    """The body with one value (at any depth) or one new member made hostile."""
    paths: list[tuple[Any, ...]] = []

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, (*path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*path, i))

    walk(body, ())

    def replaced(path: tuple[Any, ...], new: Any, key: str) -> Any:
        copy = deepcopy(body)
        if not path:
            return {key: new} if not isinstance(copy, dict) else {**copy, key: new}
        target = copy
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = new
        return copy

    # Strings only: a body may carry members the server rightly ignores, where a huge number
    # would be harmless, but an unpaired surrogate anywhere makes the JSON text unusable.
    return st.builds(
        replaced, st.sampled_from(paths), UNPAIRED_SURROGATES, UNPAIRED_SURROGATES | st.just("name")
    )


def _page_token(offset: Any, account: Any) -> str:
    raw = json.dumps({"o": offset, "a": account}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


PAGE_TOKENS = st.builds(
    _page_token,
    st.one_of(st.integers(min_value=-5, max_value=50), HOSTILE, st.booleans()),
    st.one_of(st.none(), st.text(max_size=8), HOSTILE),
)


def _hostile(case: schemathesis.Case, body: Any = None, pagetoken: str | None = None) -> Any:
    if body is not None:
        # As bytes: schemathesis's own validators cannot hold an unpaired surrogate, and the
        # server must see one as a client sends it, an escape in the JSON text.
        case.body = json.dumps(body).encode()
    if pagetoken is not None:
        case.query = {**(case.query or {}), "pagetoken": pagetoken}
    return case


@schema.hook
def flatmap_case(context: Any, case: schemathesis.Case) -> st.SearchStrategy[Any]:
    """Valid cases, and the same made hostile in one place. Negative cases (schemathesis's own
    invalid data) are left as they are: a change could make them valid again."""
    if case.meta is not None and case.meta.generation.mode.is_negative:
        return st.just(case)
    variants: list[st.SearchStrategy[Any]] = [st.just(case)]
    if isinstance(case.body, dict | list) and _json_body(case.operation):
        variants.append(st.builds(_hostile, st.just(case), body=_with_one_hostile_value(case.body)))
    if "pagetoken" in {p.name for p in case.operation.query}:
        variants.append(st.builds(_hostile, st.just(case), pagetoken=PAGE_TOKENS))
    return st.one_of(variants)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    db = Path(tmp_path_factory.mktemp("fuzz")) / "fuzz.db"
    with running(Settings(db=str(db), access_log=False)) as server:
        yield server


@pytest.fixture(scope="module")
def auth(server: Running) -> dict[str, str]:
    # The document fuzzed is the one the server serves.
    assert httpx.get(f"{server.url}/openapi.json", timeout=10).json() == schema.raw_schema
    return {"Authorization": f"Bearer {server.token()}"}


@pytest.mark.slow
@schema.parametrize()
def test_the_server_keeps_to_its_document(
    case: schemathesis.Case, server: Running, auth: dict[str, str]
) -> None:
    case.call_and_validate(base_url=server.url, headers=auth)


class Walk:
    """Requests with real entities, each answer checked against its operation's document."""

    def __init__(self, server: Running, auth: dict[str, str]) -> None:
        self.client = httpx.Client(base_url=server.url, timeout=10, headers=auth)
        self.done: set[tuple[str, str]] = set()

    def __call__(
        self,
        method: str,
        template: str,
        status: int,
        *,
        path: dict[str, str] | None = None,
        **request: Any,
    ) -> Any:
        r = self.client.request(method, template.format(**(path or {})), **request)
        assert r.status_code == status, r.text
        schema[template][method].validate_response(r)
        self.done.add((method.lower(), template))
        return r.json() if r.content else None


@pytest.mark.slow
def test_every_operation_answers_as_documented(server: Running, auth: dict[str, str]) -> None:
    walk = Walk(server, auth)
    account = server.account_id
    basic = {"Authorization": "Basic " + base64.b64encode(b"bx:bx").decode()}
    grant = {"grant_type": APIKEY_GRANT, "apikey": ADMIN_KEY}

    walk("POST", "/identity/token", 200, data=grant)
    walk("POST", "/identity/token", 200, data=grant, headers=basic)
    walk("POST", "/identity/token", 400, data={"grant_type": "nonsense"})
    walk("GET", "/identity/keys", 200)
    walk("GET", "/identity/.well-known/openid-configuration", 200)

    sids = "/v1/serviceids/"
    created = walk(
        "POST",
        sids,
        201,
        json={
            "account_id": account,
            "name": "walk",
            "description": "documented",
            "unique_instance_crns": ["crn:v1:x"],
            "apikey": {"name": "inline", "store_value": True},
        },
    )
    walk("POST", sids, 201, json={"account_id": account, "name": "walk-2"})
    first = walk("GET", sids, 200, params={"account_id": account, "pagesize": 1})
    walk("GET", sids, 200, params={"pagetoken": first["next"].split("pagetoken=")[1]})
    walk("GET", sids, 403, params={"account_id": "someone-else"})
    sid = {"sid": created["id"]}
    one = "/v1/serviceids/{sid}"
    got = walk("GET", one, 200, path=sid)
    walk("PUT", one, 412, path=sid, json={"name": "x"}, headers={"If-Match": "1-stale"})
    walk(
        "PUT", one, 200, path=sid, json={"name": "walked"}, headers={"If-Match": got["entity_tag"]}
    )
    walk("POST", one + "/lock", 204, path=sid)
    walk("DELETE", one, 409, path=sid)
    walk("DELETE", one + "/lock", 204, path=sid)
    walk("GET", "/v1/serviceids/{sid}", 404, path={"sid": "ServiceId-none"})

    keys = "/v1/apikeys"
    key = walk(
        "POST",
        keys,
        201,
        json={
            "name": "walk-key",
            "iam_id": created["iam_id"],
            "store_value": True,
            "description": "d",
            "expires_at": "2099-01-01T00:00+0000",
        },
    )
    walk("POST", keys, 201, json={"name": "walk-key-2", "iam_id": created["iam_id"]})
    walk(
        "POST",
        keys,
        409,
        json={"name": "again", "iam_id": created["iam_id"], "apikey": key["apikey"]},
    )
    page = walk("GET", keys, 200, params={"iam_id": created["iam_id"], "pagesize": 1})
    walk("GET", keys, 200, params={"pagetoken": page["next"].split("pagetoken=")[1]})
    walk("GET", "/v1/apikeys/details", 200, headers={"IAM-ApiKey": key["apikey"]})
    kid = {"kid": key["id"]}
    one = "/v1/apikeys/{kid}"
    got = walk("GET", one, 200, path=kid)
    assert got["apikey"] == key["apikey"]
    walk("PUT", one, 200, path=kid, json={"description": "e"}, headers={"If-Match": "*"})
    for flag in ("/lock", "/disable"):
        walk("POST", one + flag, 204, path=kid)
        walk("DELETE", one + flag, 204, path=kid)
    walk("DELETE", one, 204, path=kid)
    walk("DELETE", "/v1/serviceids/{sid}", 204, path=sid)

    walk("POST", "/iam-token/oidc/token", 200, data=grant)
    private = walk("POST", "/iam-token/oidc/token", 200, data=grant)["access_token"]
    introspect = "/iam-token/oidc/introspect"
    walk("POST", introspect, 200, data={"token": private})
    walk("POST", introspect, 200, data={"apikey": ADMIN_KEY})
    walk("POST", introspect, 200)
    walk("GET", "/iam-token/oidc/keys", 200)
    login = {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD}
    walk("POST", "/idprovider/v1/auth/identitytoken", 200, data=login)
    walk("POST", "/idprovider/v1/auth/identitytoken", 401, data={**login, "password": "no"})

    bearer = {"Authorization": f"Bearer {private}"}
    psid = walk(
        "POST",
        "/iam-token/serviceids/",
        201,
        json={"name": "p", "description": "d"},
        headers=bearer,
    )
    walk("GET", "/iam-token/serviceids/", 200, headers=bearer)
    sid = {"sid": psid["metadata"]["uuid"]}
    one = "/iam-token/serviceids/{sid}"
    walk("GET", one, 200, path=sid, headers=bearer)
    walk("PUT", one, 200, path=sid, json={"name": "q"}, headers=bearer)
    walk("GET", one, 401, path=sid, headers={"Authorization": "Bearer nope"})
    crn = psid["metadata"]["crn"]
    pkey = walk(
        "POST", "/iam-token/apikeys/", 201, json={"name": "k", "boundTo": crn}, headers=bearer
    )
    walk("GET", "/iam-token/apikeys/", 200, params={"boundTo": crn}, headers=bearer)
    kid = {"kid": pkey["metadata"]["uuid"]}
    one = "/iam-token/apikeys/{kid}"
    walk("GET", one, 200, path=kid, headers=bearer)
    walk("PUT", one, 200, path=kid, json={"description": "e"}, headers=bearer)
    walk("DELETE", one, 204, path=kid, headers=bearer)
    walk("DELETE", "/iam-token/serviceids/{sid}", 204, path=sid, headers=bearer)

    walk_account_identity(walk, account)
    walk_templates(walk, account, server)
    walk_reports(walk, account)

    walk.client.close()
    assert walk.done >= set(openapi.CONTRACT), set(openapi.CONTRACT) - walk.done


def walk_account_identity(walk: Walk, account: str) -> None:
    groups = "/v1/serviceid_groups"
    group = walk("POST", groups, 201, json={"account_id": account, "name": "g", "description": "d"})
    walk("POST", groups, 409, json={"account_id": account, "name": "g"})
    walk("GET", groups, 200, params={"account_id": account})
    gid = {"gid": group["id"]}
    one = groups + "/{gid}"
    walk("GET", one, 200, path=gid)
    walk("PUT", one, 412, path=gid, json={"name": "h"}, headers={"If-Match": "1-stale"})
    walk("PUT", one, 200, path=gid, json={"name": "h"}, headers={"If-Match": group["entity_tag"]})
    walk("DELETE", one, 204, path=gid)
    walk("GET", one, 404, path=gid)

    settings = "/v1/accounts/{account_id}/settings/identity"
    acct = {"account_id": account}
    got = walk("GET", settings, 200, path=acct, params={"include_history": "true"})
    walk("PUT", settings, 400, path=acct, json={"mfa": "SMS"}, headers={"If-Match": "*"})
    walk(
        "PUT",
        settings,
        200,
        path=acct,
        json={"mfa": "TOTP"},
        headers={"If-Match": got["entity_tag"]},
    )
    walk(
        "PUT",
        settings,
        412,
        path=acct,
        json={"mfa": "NONE"},
        headers={"If-Match": got["entity_tag"]},
    )
    walk("GET", "/v1/accounts/{account_id}/effective_settings/identity", 200, path=acct)

    bearer = walk.client.headers["Authorization"].split()[1]
    iam_id = jwt.decode(bearer, options={"verify_signature": False})["iam_id"]
    prefs = "/v1/preferences/accounts/{account_id}/identities/{iam_id}"
    pref = prefs + "/{service}/{preference_id}"
    where = {"account_id": account, "iam_id": iam_id, "service": "console", "preference_id": "p"}
    walk("PUT", pref, 200, path=where, json={"value_string": "/billing"})
    walk("GET", pref, 200, path=where)
    walk("GET", prefs, 200, path={"account_id": account, "iam_id": iam_id})
    walk("DELETE", pref, 204, path=where)
    walk("GET", pref, 404, path=where)


def walk_templates(walk: Walk, account: str, server: Running) -> None:
    child = "walk-child"
    server.store.add_child_account(account, child)
    root = "/v1/account_settings_templates"
    made = walk(
        "POST",
        root,
        201,
        json={"account_id": account, "name": "t", "account_settings": {"mfa": "TOTP"}},
    )
    walk("POST", root, 409, json={"account_id": account, "name": "t"})
    walk("GET", root, 200, params={"account_id": account})
    tid = {"template_id": made["id"]}
    one = root + "/{template_id}"
    version = one + "/versions/{version}"
    v1 = {**tid, "version": "1"}
    walk("GET", one, 200, path=tid)
    walk("GET", version, 200, path=v1)
    walk("PUT", version, 412, path=v1, json={"name": "t"}, headers={"If-Match": "1-stale"})
    walk("PUT", version, 200, path=v1, json={"description": "d"}, headers={"If-Match": "*"})
    assignments = "/v1/account_settings_assignments/"
    target = {
        "template_id": made["id"],
        "template_version": 1,
        "target_type": "Account",
        "target": child,
    }
    walk("POST", assignments, 400, json=target)
    walk("POST", version + "/commit", 204, path=v1)
    walk("PUT", version, 409, path=v1, json={"description": "e"}, headers={"If-Match": "*"})
    walk("POST", one + "/versions", 201, path=tid, json={"name": "t"})
    walk("GET", one + "/versions", 200, path=tid)
    walk("POST", version + "/commit", 204, path={**tid, "version": "2"})
    assigned = walk("POST", assignments, 202, json=target)
    walk("GET", assignments, 200, params={"account_id": account})
    aid = {"assignment_id": assigned["id"]}
    walk("GET", assignments + "{assignment_id}", 200, path=aid)
    walk(
        "PATCH",
        assignments + "{assignment_id}",
        202,
        path=aid,
        json={"template_version": 2},
        headers={"If-Match": "*"},
    )
    walk("DELETE", version, 409, path={**tid, "version": "2"})
    walk("DELETE", one, 409, path=tid)
    walk("DELETE", assignments + "{assignment_id}", 202, path=aid)
    walk("GET", assignments + "{assignment_id}", 404, path=aid)
    walk("DELETE", version, 204, path=v1)
    walk("DELETE", one, 204, path=tid)


def walk_reports(walk: Walk, account: str) -> None:
    acct = {"account_id": account}
    activity = "/v1/activity/accounts/{account_id}/report"
    made = walk("POST", activity, 202, path=acct, params={"type": "inactive", "duration": "24"})
    walk("POST", activity, 400, path=acct, params={"type": "active"})
    ref = {**acct, "reference": made["reference"]}
    walk("GET", activity + "/{reference}", 204, path=ref)
    walk("GET", activity + "/{reference}", 200, path=ref)
    walk("GET", activity + "/{reference}", 404, path={**acct, "reference": "nope"})
    mfa = "/v1/mfa/accounts/{account_id}"
    bearer = walk.client.headers["Authorization"].split()[1]
    iam_id = jwt.decode(bearer, options={"verify_signature": False})["iam_id"]
    walk("GET", mfa + "/status", 200, path=acct, params={"iam_id": iam_id})
    made = walk("POST", mfa + "/report", 202, path=acct, params={"type": "mfa_status"})
    ref = {**acct, "reference": made["reference"]}
    walk("GET", mfa + "/report/{reference}", 204, path=ref)
    walk("GET", mfa + "/report/{reference}", 200, path=ref)
