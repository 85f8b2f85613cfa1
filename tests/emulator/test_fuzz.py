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
from iamcli.emulator.cloud.vpc_metadata import parse_vpc_instance
from iamcli.emulator.store import DEFAULT_LIMITS, Store
from support import APIKEY_GRANT

MAX_EXAMPLES = 25
FUZZ_ACCOUNT = "fuzz" + "0" * 28
VPC_INSTANCE = "crn:v1:bluemix:public:is:us-south-1:a/{account}::instance:0717_fuzz"

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
    store = Store(str(db))
    store.bootstrap(
        account_id=FUZZ_ACCOUNT, seed_apikey=ADMIN_KEY, username="admin", password=ADMIN_PASSWORD
    )
    # Random creates must never meet an identity limit (test_identity_limits.py tests those).
    for name in DEFAULT_LIMITS:
        store.set_identity_limit(FUZZ_ACCOUNT, name, 1_000_000)
    instance = parse_vpc_instance(VPC_INSTANCE.format(account=FUZZ_ACCOUNT))
    settings = Settings(db=str(db), access_log=False, vpc_instance=instance)
    with running(settings, store=store) as server:
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

    walk_profiles(walk, account)
    walk_vpc_metadata(walk, server)

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
    walk_access(walk, account)
    walk_reports(walk, account)
    walk_limits(walk, account)

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
    sids = "/v1/serviceids/"
    member = walk(
        "POST",
        sids,
        201,
        params={"show_group_id": "true"},
        json={"account_id": account, "name": "member", "group_id": group["id"]},
    )
    assert member["group_id"] == group["id"]
    walk("POST", sids, 404, json={"account_id": account, "name": "x", "group_id": "none"})
    listed = walk(
        "GET",
        sids,
        200,
        params={"account_id": account, "group_id": group["id"], "show_group_id": 1},
    )
    assert [s["id"] for s in listed["serviceids"]] == [member["id"]]
    walk("DELETE", one, 409, path=gid)
    walk("DELETE", "/v1/serviceids/{sid}", 204, path={"sid": member["id"]})
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


def walk_profiles(walk: Walk, account: str) -> None:
    profiles = "/v1/profiles"
    made = walk("POST", profiles, 201, json={"name": "walk-p", "account_id": account})
    walk("POST", profiles, 201, json={"name": "walk-p2", "account_id": account, "email": "e@x"})
    walk("POST", profiles, 409, json={"name": "walk-p", "account_id": account})
    walk("POST", profiles, 400, json={"name": "walk-p", "account_id": "invalid"})
    first = walk("GET", profiles, 200, params={"account_id": account, "pagesize": 1})
    walk("GET", profiles, 200, params={"pagetoken": first["next"].split("pagetoken=")[1]})
    walk("GET", profiles, 200, params={"account_id": account, "include_history": "true"})
    pid = {"profile_id": made["id"]}
    one = "/v1/profiles/{profile_id}"
    got = walk("GET", one, 200, path=pid)
    walk("PUT", one, 412, path=pid, json={"name": "x"}, headers={"If-Match": "1-stale"})
    walk(
        "PUT",
        one,
        200,
        path=pid,
        json={"description": "d"},
        headers={"If-Match": got["entity_tag"]},
    )
    walk("GET", one, 404, path={"profile_id": "Profile-none"})

    cond = [{"claim": "namespace", "operator": "EQUALS", "value": '"default"'}]
    rule_body = {"type": "Profile-CR", "cr_type": "IKS_SA", "conditions": cond, "name": "r"}
    rule = walk("POST", one + "/rules", 201, path=pid, json=rule_body)
    walk("POST", one + "/rules", 400, path=pid, json={**rule_body, "cr_type": None})
    walk("GET", one + "/rules", 200, path=pid)
    rid = {**pid, "rule_id": rule["id"]}
    walk("GET", one + "/rules/{rule_id}", 200, path=rid)
    walk("PUT", one + "/rules/{rule_id}", 200, path=rid, json=rule_body, headers={"If-Match": "*"})
    walk("DELETE", one + "/rules/{rule_id}", 204, path=rid)

    crn = f"crn:v1:bluemix:public:containers-kubernetes:us-south:a/{account}:c1::"
    link_body = {"cr_type": "IKS_SA", "link": {"crn": crn, "namespace": "ns", "name": "sa"}}
    link = walk("POST", one + "/links", 201, path=pid, json=link_body)
    walk("GET", one + "/links", 200, path=pid)
    lid = {**pid, "link_id": link["id"]}
    walk("GET", one + "/links/{link_id}", 200, path=lid)
    walk("DELETE", one + "/links/{link_id}", 204, path=lid)
    walk("POST", one + "/links", 201, path=pid, json=link_body)
    walk("DELETE", one + "/links", 204, path=pid, params={"type": "IKS_SA", "crn": crn})

    ids = one + "/identities"
    crn_id = f"crn:v1:bluemix:public:project:us-south:a/{account}:p1::"
    identity = {"identifier": crn_id, "type": "crn", "description": "d"}
    tag = walk("GET", ids, 200, path=pid)["entity_tag"]
    walk("PUT", ids, 200, path=pid, json={"identities": [identity]}, headers={"If-Match": tag})
    walk("PUT", ids, 412, path=pid, json={"identities": []}, headers={"If-Match": tag})
    walk(
        "DELETE",
        ids + "/{identity_type}/{identifier_id}",
        204,
        path={**pid, "identity_type": "crn", "identifier_id": crn_id},
    )
    walk("POST", ids + "/{identity_type}", 200, path={**pid, "identity_type": "crn"}, json=identity)
    iid = {**pid, "identity_type": "crn", "identifier_id": crn_id}
    walk("GET", ids + "/{identity_type}/{identifier_id}", 200, path=iid)
    walk("DELETE", ids + "/{identity_type}/{identifier_id}", 204, path=iid)
    walk("DELETE", one, 204, path=pid)


def walk_vpc_metadata(walk: Walk, server: Running) -> None:
    """Both API versions of the instance metadata flow, for the instance the server plays."""
    flavor = {"Metadata-Flavor": "ibm"}
    crn = VPC_INSTANCE.format(account=server.account_id)
    profile = walk(
        "POST", "/v1/profiles", 201, json={"name": "vsi", "account_id": server.account_id}
    )
    pid = {"profile_id": profile["id"]}
    link = {"cr_type": "VSI", "link": {"crn": crn}}
    walk("POST", "/v1/profiles/{profile_id}/links", 201, path=pid, json=link)
    for token, iam in (
        ("/instance_identity/v1/token", "/instance_identity/v1/iam_token"),
        ("/identity/v1/token", "/identity/v1/iam_tokens"),
    ):
        query = {"version": "2022-03-01"}
        walk("PUT", token, 400, params=query, json={"expires_in": 60})
        got = walk("PUT", token, 201, params=query, json={"expires_in": 60}, headers=flavor)
        bearer = {**flavor, "Authorization": f"Bearer {got['access_token']}"}
        walk("POST", iam, 201, params=query, headers=bearer)
        walk(
            "POST",
            iam,
            201,
            params=query,
            headers=bearer,
            json={"trusted_profile": {"id": profile["id"]}},
        )
        walk("POST", iam, 401, params=query, headers=flavor)
    walk("POST", "/identity/profiles", 200, data={"access_token": server.token()})
    walk("POST", "/identity/profiles", 400, data={})
    walk("DELETE", "/v1/profiles/{profile_id}", 204, path=pid)


def walk_templates(walk: Walk, account: str, server: Running) -> None:
    child = "walk-child"
    server.store.add_child_account(account, child)
    walk_template_kind(
        walk,
        account,
        child,
        "/v1/account_settings_templates",
        "/v1/account_settings_assignments/",
        {"account_settings": {"mfa": "TOTP"}},
    )
    rule = {
        "type": "Profile-SAML",
        "realm_name": "https://idp.test",
        "conditions": [{"claim": "groups", "operator": "EQUALS", "value": '"ops"'}],
    }
    walk_template_kind(
        walk,
        account,
        child,
        "/v1/profile_templates",
        "/v1/profile_assignments/",
        {
            "profile": {"name": "from-${template_name}", "rules": [rule]},
            "policy_template_references": [{"id": "policyTemplate-x", "version": "1"}],
        },
    )


def walk_template_kind(
    walk: Walk, account: str, child: str, root: str, assignments: str, parts: dict[str, Any]
) -> None:
    """One template kind's routes: a template, its versions, an assignment to CHILD."""
    made = walk("POST", root, 201, json={"account_id": account, "name": "t", **parts})
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


def walk_access(walk: Walk, account: str) -> None:
    """The Policy Management API, roles, users, the PDP and iam-pap's service-ID policies."""
    viewer = "crn:v1:bluemix:public:iam::::role:Viewer"
    resource = [{"name": "accountId", "value": account}, {"name": "serviceName", "value": "x"}]
    v1 = {
        "type": "access",
        "subjects": [{"attributes": [{"name": "iam_id", "value": "IBMid-walk"}]}],
        "roles": [{"role_id": viewer}],
        "resources": [{"attributes": resource}],
    }
    policies = "/v1/policies"
    made = walk("POST", policies, 201, json=v1)
    walk("POST", policies, 400, json={**v1, "type": "nope"})
    walk("GET", policies, 200, params={"account_id": account, "limit": 1})
    walk("GET", policies, 400)
    pid = {"policy_id": made["id"]}
    one = policies + "/{policy_id}"
    walk("GET", one, 200, path=pid)
    walk("PUT", one, 412, path=pid, json=v1, headers={"If-Match": "1-stale"})
    replaced = walk("PUT", one, 200, path=pid, json=v1, headers={"If-Match": "*"})
    walk("DELETE", one, 204, path=pid)
    walk("PATCH", one, 200, path=pid, json={"state": "active"}, headers={"If-Match": "*"})
    walk("GET", one, 404, path={"policy_id": "none"})
    assert replaced["id"] == made["id"]

    v2 = {
        "type": "access",
        "control": {"grant": {"roles": [{"role_id": viewer}]}},
        "subject": {
            "attributes": [{"key": "iam_id", "operator": "stringEquals", "value": "IBMid-walk"}]
        },
        "resource": {
            "attributes": [
                {"key": a["name"], "operator": "stringMatch", "value": a["value"]} for a in resource
            ]
        },
        "pattern": "time-based-conditions:once",
        "rule": {
            "key": "{{environment.attributes.current_date_time}}",
            "operator": "dateTimeGreaterThanOrEquals",
            "value": "2020-01-01T00:00:00+00:00",
        },
    }
    made = walk("POST", "/v2/policies", 201, json=v2)
    walk("GET", "/v2/policies", 200, params={"account_id": account, "format": "display"})
    two = "/v2/policies/{policy_id}"
    pid = {"policy_id": made["id"]}
    walk("GET", two, 200, path=pid, params={"format": "display"})
    walk("PUT", two, 200, path=pid, json=v2, headers={"If-Match": "*"})
    walk("DELETE", two, 204, path=pid)

    roles = "/v2/roles"
    role = {
        "name": "Walker",
        "display_name": "Walker",
        "account_id": account,
        "service_name": "library",
        "actions": ["library.books.read"],
    }
    made = walk("POST", roles, 201, json=role)
    walk("POST", roles, 409, json=role)
    walk("GET", roles, 200, params={"account_id": account, "service_name": "library"})
    rid = {"role_id": made["id"]}
    walk("GET", roles + "/{role_id}", 200, path=rid)
    walk("PUT", roles + "/{role_id}", 200, path=rid, json=role, headers={"If-Match": "*"})
    walk("DELETE", roles + "/{role_id}", 204, path=rid)

    users = "/v2/accounts/{account_id}/users"
    acct = {"account_id": account}
    invited = walk("POST", users, 202, path=acct, json={"users": [{"email": "w@example.com"}]})
    walk("GET", users, 200, path=acct)
    who = {"account_id": account, "iam_id": invited["resources"][0]["id"]}
    walk("GET", users + "/{iam_id}", 200, path=who)
    walk("DELETE", users + "/{iam_id}", 204, path=who)

    bearer = walk.client.headers["Authorization"].split()[1]
    iam_id = jwt.decode(bearer, options={"verify_signature": False})["iam_id"]
    ask = [
        {
            "subject": {"attributes": {"id": iam_id}},
            "action": "library.books.read",
            "resource": {"crn": f"crn:v1:bluemix:public:library::a/{account}:::"},
        }
    ]
    walk("POST", "/v2/authz", 200, json=ask)
    walk("POST", "/v2/authz/bulk", 200, json=ask)

    sid = walk("POST", "/v1/serviceids/", 201, json={"account_id": account, "name": "pap"})
    pap = "/iam-pap/v1/scopes/{scope}/service_ids/{service_id}/policies"
    where = {"scope": account, "service_id": sid["id"]}
    body = {
        "resources": [{"serviceName": "idmgmt"}],
        "roles": [{"id": "crn:v1:icp:private:iam::::role:Viewer"}],
    }
    made = walk("POST", pap, 201, path=where, json=body)
    walk("GET", pap, 200, path=where)
    one = {**where, "policy_id": made["id"]}
    walk("GET", pap + "/{policy_id}", 200, path=one)
    walk("PUT", pap + "/{policy_id}", 200, path=one, json=body)
    walk("DELETE", pap + "/{policy_id}", 204, path=one)
    roles = walk("GET", "/iam-pap/v1/roles", 200)
    assert "crn:v1:icp:private:iam::::role:ClusterAdministrator" in [r["id"] for r in roles]


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


def walk_limits(walk: Walk, account: str) -> None:
    limits = "/v1/accounts/{account_id}/limits/identity"
    acct = {"account_id": account}
    body = walk("GET", limits, 200, path=acct)
    assert "count" not in body["profiles"]
    asked = {"serviceid_groups": "true", "apikeys_per_identity": "iam-a,iam-b", "profiles": 1}
    body = walk("GET", limits, 200, path=acct, params=asked)
    assert [i["iam_id"] for i in body["apikeys_per_identity"]["identities"]] == ["iam-a", "iam-b"]
    walk("GET", limits, 400, path=acct, params={"cr_rules": "sometimes"})
    walk("GET", limits, 403, path={"account_id": "someone-else"})
    every = {
        "serviceid_groups": True,
        "serviceids_per_group": ["g"],
        "profiles": True,
        "apikeys_per_identity": ["i"],
        "templates": True,
        "template_versions_per_template": ["t"],
        "idps": True,
        "claim_rules_per_group": ["a"],
        "claim_rules_per_profile": ["p"],
        "cr_links": True,
        "cr_links_per_profile": ["p"],
        "cr_rules": True,
        "cr_rules_per_profile": ["p"],
    }
    body = walk("POST", limits, 200, path=acct, json=every)
    assert all("count" in body[name] for name in ("idps", "cr_links", "profile_templates"))
    walk("POST", limits, 400, path=acct, json={"idps": "often"})
    walk("POST", limits, 403, path={"account_id": "someone-else"}, json={})
    walk("POST", limits, 415, path=acct, content=b"x", headers={"Content-Type": "text/plain"})
