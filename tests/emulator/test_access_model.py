"""The access model over HTTP: a subject tries an action with and without the policy that
grants it (reference/profiles-policies-authz.md §4.2), and the PDP answers as the routes do.

The `test_issue_9_*` tests are the holes of issue 9 point 8, each closed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from servers import ADMIN_KEY, Running, running

from iamcli.emulator.app import Settings
from support import APIKEY_GRANT

ALICE_KEY = "access-model-alice-key-" + "a" * 24
ROLE = "crn:v1:bluemix:public:iam::::role:"
CREATOR = "crn:v1:bluemix:public:iam-identity::::serviceRole:ServiceIdCreator"


@dataclass
class World:
    server: Running
    admin: httpx.Client
    alice: httpx.Client
    alice_id: str
    admin_id: str
    a: dict[str, Any]  # service ID A, whose token acts
    b: dict[str, Any]  # service ID B, another one
    a_client: httpx.Client
    b_key: dict[str, Any]
    admin_key_id: str

    def policy(self, iam_id: str, role: str, **attrs: str) -> str:
        resource = [{"name": "accountId", "value": self.server.account_id}]
        resource += [{"name": k, "value": v} for k, v in attrs.items()]
        r = self.admin.post(
            "/v1/policies",
            json={
                "type": "access",
                "subjects": [{"attributes": [{"name": "iam_id", "value": iam_id}]}],
                "roles": [{"role_id": ROLE + role}],
                "resources": [{"attributes": resource}],
            },
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def unpolicy(self, pid: str) -> None:
        assert self.admin.delete(f"/v1/policies/{pid}").status_code == 204


def bearer(server: Running, token: str) -> httpx.Client:
    return server.client(headers={"Authorization": f"Bearer {token}"})


def mint(server: Running, apikey: str, path: str = "/identity/token") -> str:
    with server.client() as c:
        r = c.post(path, data={"grant_type": APIKEY_GRANT, "apikey": apikey})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with running(Settings(access_log=False)) as server:
        alice, _, _ = server.store.add_member(server.account_id, "alice", key=ALICE_KEY)
        admin = bearer(server, server.token())
        account = server.account_id
        a = admin.post("/v1/serviceids/", json={"account_id": account, "name": "A"}).json()
        b = admin.post("/v1/serviceids/", json={"account_id": account, "name": "B"}).json()
        a_key = admin.post("/v1/apikeys", json={"name": "a", "iam_id": a["iam_id"]}).json()
        b_key = admin.post(
            "/v1/apikeys", json={"name": "b", "iam_id": b["iam_id"], "store_value": True}
        ).json()
        keys = admin.get("/v1/apikeys").json()["apikeys"]
        admin_id = keys[0]["iam_id"]
        world = World(
            server,
            admin,
            bearer(server, mint(server, ALICE_KEY)),
            alice.iam_id,
            admin_id,
            a,
            b,
            bearer(server, mint(server, a_key["apikey"])),
            b_key,
            keys[0]["id"],
        )
        yield world
        for c in (admin, world.alice, world.a_client):
            c.close()


def forbidden(r: httpx.Response) -> None:
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["status_code"] == "403" and body["errors"][0]["code"] == "forbidden"


# -- issue 9 point 8 ---------------------------------------------------------------------------


def test_issue_9_service_id_cannot_create_an_api_key_for_the_admin(world: World) -> None:
    r = world.a_client.post("/v1/apikeys", json={"name": "takeover", "iam_id": world.admin_id})
    forbidden(r)
    assert "apikey" not in r.json()


def test_issue_9_service_id_cannot_read_another_service_ids_stored_key(world: World) -> None:
    r = world.a_client.get(f"/v1/apikeys/{world.b_key['id']}")
    forbidden(r)
    assert world.b_key["apikey"] not in r.text
    listed = world.a_client.get("/v1/apikeys", params={"iam_id": world.b["iam_id"]})
    forbidden(listed)
    everyone = world.a_client.get("/v1/apikeys", params={"scope": "account"})
    assert everyone.status_code == 200
    assert {k["iam_id"] for k in everyone.json()["apikeys"]} == {world.a["iam_id"]}


def test_issue_9_service_id_cannot_delete_other_service_ids(world: World) -> None:
    forbidden(world.a_client.delete(f"/v1/serviceids/{world.b['id']}"))
    forbidden(
        world.a_client.put(
            f"/v1/serviceids/{world.b['id']}", json={"name": "x"}, headers={"If-Match": "*"}
        )
    )
    forbidden(world.a_client.post(f"/v1/serviceids/{world.b['id']}/lock"))
    assert world.admin.get(f"/v1/serviceids/{world.b['id']}").status_code == 200


def test_issue_9_private_service_id_cannot_rename_or_delete_the_admins_keys(
    world: World,
) -> None:
    a_key = world.admin.post(
        "/v1/apikeys", json={"name": "a-private", "iam_id": world.a["iam_id"]}
    ).json()
    private = bearer(world.server, mint(world.server, a_key["apikey"], "/iam-token/oidc/token"))
    with private:
        one = f"/iam-token/apikeys/{world.admin_key_id}"
        for r in (private.put(one, json={"name": "pwned"}), private.delete(one)):
            assert r.status_code == 403, r.text
            assert r.json()["errorCode"] == "403"
        assert private.get(one).status_code == 403
        bound = private.post("/iam-token/apikeys/", json={"name": "x", "boundTo": "self"})
        assert bound.status_code == 201  # its own keys it manages
        sid = private.delete(f"/iam-token/serviceids/{world.b['id']}")
        assert sid.status_code == 403
    assert world.admin.get(f"/v1/apikeys/{world.admin_key_id}").json()["name"] == "admin-key"


def test_a_service_id_sees_only_itself_without_a_policy(world: World) -> None:
    listed = world.a_client.get("/v1/serviceids/", params={"account_id": world.server.account_id})
    assert [s["id"] for s in listed.json()["serviceids"]] == [world.a["id"]]
    assert world.a_client.get(f"/v1/serviceids/{world.a['id']}").status_code == 200


# -- roles -------------------------------------------------------------------------------------


def test_operator_on_iam_identity_manages_other_service_ids_keys(world: World) -> None:
    body = {"name": "by-a", "iam_id": world.b["iam_id"]}
    forbidden(world.a_client.post("/v1/apikeys", json=body))
    pid = world.policy(world.a["iam_id"], "Operator", serviceName="iam-identity")
    try:
        created = world.a_client.post("/v1/apikeys", json=body)
        assert created.status_code == 201
        assert world.a_client.delete(f"/v1/apikeys/{created.json()['id']}").status_code == 204
        # Operator does not lock (Editor or Administrator does), nor touch users' keys.
        forbidden(world.a_client.post(f"/v1/serviceids/{world.b['id']}/lock"))
        forbidden(world.a_client.post("/v1/apikeys", json={"name": "x", "iam_id": world.admin_id}))
    finally:
        world.unpolicy(pid)
    forbidden(world.a_client.post("/v1/apikeys", json=body))


def test_a_policy_on_one_service_id_covers_that_one_only(world: World) -> None:
    c = world.admin.post(
        "/v1/serviceids/", json={"account_id": world.server.account_id, "name": "C"}
    ).json()
    pid = world.policy(
        world.a["iam_id"],
        "Administrator",
        serviceName="iam-identity",
        resourceType="serviceid",
        resource=c["id"],
    )
    try:
        r = world.a_client.put(
            f"/v1/serviceids/{c['id']}", json={"description": "mine"}, headers={"If-Match": "*"}
        )
        assert r.status_code == 200
        forbidden(world.a_client.delete(f"/v1/serviceids/{world.b['id']}"))
        listed = world.a_client.get(
            "/v1/serviceids/", params={"account_id": world.server.account_id}
        ).json()["serviceids"]
        assert {s["id"] for s in listed} == {world.a["id"], c["id"]}
    finally:
        world.unpolicy(pid)


def test_viewer_reads_but_does_not_change(world: World) -> None:
    sid = f"/v1/serviceids/{world.b['id']}"
    forbidden(world.alice.get(sid))
    pid = world.policy(world.alice_id, "Viewer", serviceName="iam-identity")
    try:
        assert world.alice.get(sid).status_code == 200
        forbidden(world.alice.put(sid, json={"name": "x"}, headers={"If-Match": "*"}))
        forbidden(world.alice.delete(sid))
        forbidden(world.alice.get(f"/v1/apikeys/{world.b_key['id']}"))
    finally:
        world.unpolicy(pid)


def test_no_one_but_the_user_creates_that_users_api_key(world: World) -> None:
    body = {"name": "for-alice", "iam_id": world.alice_id}
    forbidden(world.admin.post("/v1/apikeys", json=body))  # not even the account owner
    pid = world.policy(world.a["iam_id"], "Administrator", serviceName="iam-identity")
    try:
        forbidden(world.a_client.post("/v1/apikeys", json=body))  # nor an Administrator
        mine = world.alice.post("/v1/apikeys", json=body)
        assert mine.status_code == 201
        # Others view, edit and delete it with Administrator only.
        assert world.a_client.get(f"/v1/apikeys/{mine.json()['id']}").status_code == 200
        assert world.admin.delete(f"/v1/apikeys/{mine.json()['id']}").status_code == 204
    finally:
        world.unpolicy(pid)
    forbidden(world.alice.get(f"/v1/apikeys/{world.admin_key_id}"))


def test_a_member_administers_the_service_ids_it_creates(world: World) -> None:
    account = world.server.account_id
    mine = world.alice.post("/v1/serviceids/", json={"account_id": account, "name": "alices"})
    assert mine.status_code == 201
    sid = mine.json()["id"]
    auto = world.admin.get(
        "/v1/policies", params={"account_id": account, "iam_id": world.alice_id}
    ).json()["policies"]
    assert [p["roles"][0]["role_id"] for p in auto] == [ROLE + "Administrator"]
    key = world.alice.post("/v1/apikeys", json={"name": "k", "iam_id": mine.json()["iam_id"]})
    assert key.status_code == 201
    forbidden(world.alice.delete(f"/v1/serviceids/{world.b['id']}"))
    assert world.alice.delete(f"/v1/serviceids/{sid}").status_code == 204


def test_policy_changes_need_administrator_on_the_target(world: World) -> None:
    body = {
        "type": "access",
        "subjects": [{"attributes": [{"name": "iam_id", "value": world.alice_id}]}],
        "roles": [{"role_id": ROLE + "Administrator"}],
        "resources": [
            {
                "attributes": [
                    {"name": "accountId", "value": world.server.account_id},
                    {"name": "serviceName", "value": "iam-identity"},
                ]
            }
        ],
    }
    r = world.alice.post("/v1/policies", json=body)  # granting herself
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "insufficent_permissions"
    assert r.json()["status_code"] == 403
    pid = world.policy(world.alice_id, "Administrator", serviceName="iam-identity")
    try:
        for_a = {**body, "subjects": [{"attributes": [{"name": "iam_id", "value": "x"}]}]}
        made = world.alice.post("/v1/policies", json=for_a)
        assert made.status_code == 201
        billing = {
            **for_a,
            "resources": [
                {
                    "attributes": [
                        {"name": "accountId", "value": world.server.account_id},
                        {"name": "serviceName", "value": "billing"},
                    ]
                }
            ],
        }
        assert world.alice.post("/v1/policies", json=billing).status_code == 403
        assert world.alice.delete(f"/v1/policies/{made.json()['id']}").status_code == 204
    finally:
        world.unpolicy(pid)


def test_a_locked_service_ids_policies_do_not_change(world: World) -> None:
    c = world.admin.post(
        "/v1/serviceids/", json={"account_id": world.server.account_id, "name": "locked"}
    ).json()
    assert world.admin.post(f"/v1/serviceids/{c['id']}/lock").status_code == 204
    r = world.admin.post(
        "/v1/policies",
        json={
            "type": "access",
            "subjects": [{"attributes": [{"name": "iam_id", "value": c["iam_id"]}]}],
            "roles": [{"role_id": ROLE + "Viewer"}],
            "resources": [
                {
                    "attributes": [
                        {"name": "accountId", "value": world.server.account_id},
                        {"name": "serviceName", "value": "iam-identity"},
                    ]
                }
            ],
        },
    )
    assert r.status_code == 400 and "is locked" in r.json()["errors"][0]["message"]


def _window(start: float, end: float) -> dict[str, Any]:
    def at(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")

    key = "{{environment.attributes.current_date_time}}"
    return {
        "operator": "and",
        "conditions": [
            {"key": key, "operator": "dateTimeGreaterThanOrEquals", "value": at(start)},
            {"key": key, "operator": "dateTimeLessThanOrEquals", "value": at(end)},
        ],
    }


def test_a_time_based_policy_permits_only_inside_its_window(world: World) -> None:
    sid = f"/v1/serviceids/{world.b['id']}"
    now = time.time()

    def grant(rule: dict[str, Any]) -> str:
        r = world.admin.post(
            "/v2/policies",
            json={
                "type": "access",
                "control": {"grant": {"roles": [{"role_id": ROLE + "Viewer"}]}},
                "subject": {
                    "attributes": [
                        {"key": "iam_id", "operator": "stringEquals", "value": world.alice_id}
                    ]
                },
                "resource": {
                    "attributes": [
                        {
                            "key": "accountId",
                            "operator": "stringEquals",
                            "value": world.server.account_id,
                        },
                        {"key": "serviceName", "operator": "stringEquals", "value": "iam-identity"},
                    ]
                },
                "pattern": "time-based-conditions:once",
                "rule": rule,
            },
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    past = grant(_window(now - 7200, now - 3600))
    try:
        forbidden(world.alice.get(sid))
    finally:
        world.admin.delete(f"/v2/policies/{past}")
    current = grant(_window(now - 3600, now + 3600))
    try:
        assert world.alice.get(sid).status_code == 200
    finally:
        world.admin.delete(f"/v2/policies/{current}")
    forbidden(world.alice.get(sid))


# -- the PDP -----------------------------------------------------------------------------------


def test_the_pdp_answers_as_the_routes_do(world: World) -> None:
    account = world.server.account_id
    crn = f"crn:v1:bluemix:public:iam-identity::a/{account}::serviceid:{world.b['id']}"
    cases = [
        ("iam-identity.serviceid.get", f"/v1/serviceids/{world.b['id']}", "GET"),
        ("iam-identity.serviceid.delete", f"/v1/serviceids/{world.b['id']}", "DELETE"),
    ]
    pid = world.policy(world.alice_id, "Viewer", serviceName="iam-identity")
    try:
        for subject, client in ((world.alice_id, world.alice), (world.a["iam_id"], world.a_client)):
            items = [
                {"subject": {"attributes": {"id": subject}}, "action": a, "resource": {"crn": crn}}
                for a, _, _ in cases
            ]
            for media in ("application/json", "application/vnd.authz.v2+json"):
                r = world.a_client.post(
                    "/v2/authz",
                    content=json.dumps(items),
                    headers={"Content-Type": media, "Accept": media},
                )
                assert r.status_code == 200, r.text
                decisions = [x["authorizationDecision"]["permitted"] for x in r.json()["responses"]]
                bulk = world.alice.post("/v2/authz/bulk", json=items).json()["decisions"]
                assert [d["decision"] == "Permit" for d in bulk] == decisions
                # What the route would answer, asked without changing anything: a GET answers
                # 200 or 403; a DELETE is tried on the route only when the PDP says no.
                assert decisions[0] == (client.get(cases[0][1]).status_code == 200)
                assert not decisions[1]
                forbidden(client.delete(cases[1][1]))
    finally:
        world.unpolicy(pid)


def test_the_pdp_takes_a_bare_token_and_refuses_other_accounts(world: World) -> None:
    token = world.a_client.headers["Authorization"].removeprefix("Bearer ")
    item = {
        "subject": {"attributes": {"id": world.admin_id, "accountId": "someone-else"}},
        "action": "iam-identity.serviceid.get",
        "resource": {"attributes": {"serviceName": "iam-identity"}},
    }
    with world.server.client(headers={"Authorization": token}) as bare:
        r = bare.post("/v2/authz", json=[item])
    assert r.status_code == 200
    assert r.json()["responses"][0]["authorizationDecision"]["permitted"] is False
    owner = {**item, "subject": {"attributes": {"id": world.admin_id}}}
    r = world.a_client.post("/v2/authz", json=[owner])
    assert r.json()["responses"][0]["authorizationDecision"]["permitted"] is True
    with world.server.client() as anonymous:
        assert anonymous.post("/v2/authz", json=[owner]).status_code == 401
    assert world.a_client.post("/v2/authz", json={"nothing": 1}).status_code == 400
    assert ADMIN_KEY not in r.text


# -- the private family's policies (iam-pap) ---------------------------------------------------


def test_private_service_policy_grants_through_the_same_engine(world: World) -> None:
    server, account = world.server, world.server.account_id
    admin = bearer(server, mint(server, ADMIN_KEY, "/iam-token/oidc/token"))
    a_key = world.admin.post(
        "/v1/apikeys", json={"name": "a-pap", "iam_id": world.a["iam_id"]}
    ).json()
    a_private = bearer(server, mint(server, a_key["apikey"], "/iam-token/oidc/token"))
    pap = f"/iam-pap/v1/scopes/{account}/service_ids/{world.a['id']}/policies"
    body = {
        "resources": [{"serviceName": "idmgmt", "namespaceId": "default"}],
        "roles": [{"id": "crn:v1:icp:private:iam::::role:Operator"}],
    }
    with admin, a_private:
        victim = admin.post("/iam-token/serviceids/", json={"name": "victim"}).json()
        victim_path = f"/iam-token/serviceids/{victim['metadata']['uuid']}"
        assert a_private.delete(victim_path).status_code == 403
        # Only an Administrator of the target (here the owner) grants access.
        refused = a_private.post(pap, json=body)
        assert refused.status_code == 403 and refused.json()["errorCode"] == "403"
        created = admin.post(pap, json=body)
        assert created.status_code == 201, created.text
        policy = created.json()
        assert policy["roles"] == body["roles"] and policy["resources"] == body["resources"]
        assert policy["subjects"] == [{"serviceId": world.a["id"]}]
        assert [p["id"] for p in admin.get(pap).json()] == [policy["id"]]
        # The same policy, seen through the cloud API, as a v2 policy.
        v2 = world.admin.get(f"/v2/policies/{policy['id']}").json()
        assert v2["control"]["grant"]["roles"][0]["role_id"].endswith(":role:Operator")
        assert a_private.get(victim_path).status_code == 200
        assert a_private.delete(victim_path).status_code == 204
        assert admin.delete(f"{pap}/{policy['id']}").status_code == 204
        assert admin.get(f"{pap}/{policy['id']}").status_code == 404


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"roles": [{"id": "crn:v1:icp:private:iam::::role:God"}]}, 400),
        ({"roles": [{"id": "crn:v1:bluemix:public:iam::::role:Viewer"}]}, 400),
        ({"resources": [{"namespaceId": "default"}]}, 400),
        ({"resources": [{"serviceName": "x", "color": "red"}]}, 400),
    ],
)
def test_private_policy_bodies_are_checked(
    world: World, change: dict[str, Any], status: int
) -> None:
    server = world.server
    body = {
        "resources": [{"serviceName": "idmgmt"}],
        "roles": [{"id": "crn:v1:icp:private:iam::::role:Viewer"}],
        **change,
    }
    with bearer(server, mint(server, ADMIN_KEY, "/iam-token/oidc/token")) as admin:
        pap = f"/iam-pap/v1/scopes/{server.account_id}/service_ids/{world.a['id']}/policies"
        r = admin.post(pap, json=body)
        assert r.status_code == status
        assert r.json()["errorCode"] == str(status) and r.json()["errorDetails"]
        other = admin.post(pap.replace(server.account_id, "other-account"), json=body)
        assert other.status_code == 403


def test_restricted_service_id_creation_needs_service_id_creator_even_for_the_owner(
    world: World,
) -> None:
    account = world.server.account_id
    settings = f"/v1/accounts/{account}/settings/identity"

    def restrict(value: str) -> None:
        r = world.admin.put(
            settings, json={"restrict_create_service_id": value}, headers={"If-Match": "*"}
        )
        assert r.status_code == 200, r.text

    restrict("RESTRICTED")
    try:
        body = {"account_id": account, "name": "restricted"}
        forbidden(world.admin.post("/v1/serviceids/", json=body))
        forbidden(world.alice.post("/v1/serviceids/", json=body))
        pid = world.policy(world.alice_id, "Viewer", serviceName="iam-identity")
        r = world.admin.post(
            "/v1/policies",
            json={
                "type": "access",
                "subjects": [{"attributes": [{"name": "iam_id", "value": world.alice_id}]}],
                "roles": [{"role_id": CREATOR}],
                "resources": [
                    {
                        "attributes": [
                            {"name": "accountId", "value": account},
                            {"name": "serviceName", "value": "iam-identity"},
                        ]
                    }
                ],
            },
        )
        assert r.status_code == 201
        try:
            assert world.alice.post("/v1/serviceids/", json=body).status_code == 201
        finally:
            world.unpolicy(r.json()["id"])
            world.unpolicy(pid)
    finally:
        restrict("NOT_RESTRICTED")
    assert world.admin.post("/v1/serviceids/", json=body).status_code == 201


def test_a_deleted_service_ids_policies_go_with_it(world: World) -> None:
    account = world.server.account_id
    doomed = world.admin.post("/v1/serviceids/", json={"account_id": account, "name": "d"}).json()
    pid = world.policy(doomed["iam_id"], "Viewer", serviceName="iam-identity")
    assert world.admin.delete(f"/v1/serviceids/{doomed['id']}").status_code == 204
    assert world.admin.get(f"/v1/policies/{pid}").json()["state"] == "deleted"
    active = world.admin.get(
        "/v1/policies", params={"account_id": account, "iam_id": doomed["iam_id"]}
    )
    assert active.json()["policies"] == []
