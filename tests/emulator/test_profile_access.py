"""Trusted profiles under the decision engine, over HTTP: the roles IBM gives the profile actions
(create = Administrator, update = Editor, delete = Operator; reference §4.1), and a profile as
the subject of access policies, acting with the token it was assumed into."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from ibm_cloud_sdk_core.authenticators import IAMAssumeAuthenticator
from servers import ADMIN_KEY, Running, grant, running

from iamcli.emulator.app import Settings
from support import APIKEY_GRANT

BOB_KEY = "profile-access-bob-key-" + "b" * 24


@dataclass
class World:
    server: Running
    admin: httpx.Client
    bob: httpx.Client
    bob_id: str

    def policy(self, iam_id: str, role: str, **attrs: str) -> str:
        return grant(self.admin, self.server.account_id, iam_id, role, **attrs)

    def unpolicy(self, pid: str) -> None:
        assert self.admin.delete(f"/v1/policies/{pid}").status_code == 204

    def profile(self, name: str) -> dict[str, Any]:
        r = self.admin.post(
            "/v1/profiles", json={"name": name, "account_id": self.server.account_id}
        )
        assert r.status_code == 201, r.text
        return dict(r.json())


def _client(server: Running, apikey: str) -> httpx.Client:
    with server.client() as c:
        r = c.post("/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": apikey})
    assert r.status_code == 200, r.text
    return server.client(headers={"Authorization": f"Bearer {r.json()['access_token']}"})


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with running(Settings(access_log=False)) as server:
        bob, _, _ = server.store.add_member(server.account_id, "bob", key=BOB_KEY)
        admin, member = _client(server, ADMIN_KEY), _client(server, BOB_KEY)
        yield World(server, admin, member, bob.iam_id)
        admin.close()
        member.close()


def test_profile_actions_need_ibms_roles(world: World) -> None:
    account = world.server.account_id
    mine = world.profile("guarded")
    one = f"/v1/profiles/{mine['id']}"
    rename = {"json": {"description": "changed"}, "headers": {"If-Match": "*"}}
    names = itertools.count()

    def attempt() -> dict[str, int]:
        bob = world.bob
        return {
            "get": bob.get(one).status_code,
            "list": len(
                bob.get("/v1/profiles", params={"account_id": account}).json().get("profiles", [])
            ),
            "update": bob.put(one, **rename).status_code,  # type: ignore[arg-type]
            "rule": bob.post(
                one + "/rules",
                json={
                    "type": "Profile-CR",
                    "cr_type": "VSI",
                    "conditions": [{"claim": "zone", "operator": "EQUALS", "value": '"z"'}],
                },
            ).status_code,
            "create": bob.post(
                "/v1/profiles", json={"name": f"bob-{next(names)}", "account_id": account}
            ).status_code,
        }

    nothing = attempt()
    assert nothing == {"get": 403, "list": 0, "update": 403, "rule": 403, "create": 403}
    assert world.bob.delete(one).status_code == 403

    viewer = world.policy(world.bob_id, "Viewer", serviceName="iam-identity")
    seen = attempt()
    assert (seen["get"], seen["update"], seen["rule"], seen["create"]) == (200, 403, 403, 403)
    assert seen["list"] >= 1
    world.unpolicy(viewer)

    # Editor on this one profile: it may change it, not make profiles nor delete it.
    editor = world.policy(
        world.bob_id,
        "Editor",
        serviceName="iam-identity",
        resourceType="profile",
        resource=mine["id"],
    )
    edited = attempt()
    assert (edited["get"], edited["update"], edited["rule"], edited["create"]) == (
        200,
        200,
        201,
        403,
    )
    assert world.bob.delete(one).status_code == 403
    world.unpolicy(editor)

    operator = world.policy(world.bob_id, "Operator", serviceName="iam-identity")
    assert attempt()["create"] == 403
    assert world.bob.delete(one).status_code == 204
    world.unpolicy(operator)

    admin = world.policy(world.bob_id, "Administrator", serviceName="iam-identity")
    assert attempt()["create"] == 201
    world.unpolicy(admin)


def test_a_profile_is_the_subject_of_access_policies(world: World) -> None:
    owner = world.server.store.user_by_name("admin")
    assert owner is not None
    assumed = world.profile("acting")
    other = world.profile("target")
    r = world.admin.post(
        f"/v1/profiles/{assumed['id']}/identities/user",
        json={"identifier": owner.iam_id, "type": "user"},
    )
    assert r.status_code == 200, r.text
    auth = IAMAssumeAuthenticator(ADMIN_KEY, url=world.server.url, iam_profile_id=assumed["id"])
    as_profile = {"Authorization": f"Bearer {auth.token_manager.get_token()}"}
    target = f"/v1/profiles/{other['id']}"
    with world.server.client(headers=as_profile) as c:
        # Whoever assumed it, the profile has only its own access: none yet.
        assert c.get(target).status_code == 403
        granted = world.policy(assumed["iam_id"], "Viewer", serviceName="iam-identity")
        assert c.get(target).status_code == 200
        assert c.delete(target).status_code == 403
        listed = world.admin.get(
            "/v1/policies",
            params={"account_id": world.server.account_id, "iam_id": assumed["iam_id"]},
        )
        assert [p["id"] for p in listed.json()["policies"]] == [granted]
        world.unpolicy(granted)
        assert c.get(target).status_code == 403
