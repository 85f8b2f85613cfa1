"""IBM's User Management API, the part that makes an account's member users:
`/v2/accounts/{account_id}/users` (as `UserManagementV1` of ibm-platform-services sends it).

An invited user exists at once (state ACTIVE: there is no one to accept an invitation offline),
with no credential; `iamcli serve --user <email>` gives it an API key. Its user name is its
email. `iam_policy` items of the invitation become access policies of the new user, checked as
any policy create is. Inviting and removing users needs the owner or a role holding
`user-management.user.create` / `.delete` on `user-management` (Editor or Administrator by the
generic convention of authz/catalog.py); any member may list and read the account's users.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from starlette.responses import Response

from .. import authz, formats, web
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..store import User
from . import policy_bodies as bodies
from .common import caller_of
from .policies import create_policy_body

router = APIRouter(route_class=LazyRoute)
JsonBody = Annotated[dict[str, Any], Body()]
_SERVICE = "user-management"


def user_json(u: User, owner: str | None) -> dict[str, Any]:
    return {
        "id": u.iam_id.removeprefix("IBMid-"),
        "iam_id": u.iam_id,
        "realm": "IBMid",
        "user_id": u.username,
        "firstname": u.given_name,
        "lastname": u.family_name,
        "state": "ACTIVE",
        "email": u.email,
        "account_id": u.account_id,
        "added_on": formats.ibm_time(u.created_at),
        "is_owner": u.iam_id == owner,
    }


def _account(request: Request, account_id: str, action: str) -> authz.Subject:
    subject = authz.subject_of(caller_of(request))
    if account_id != subject.account_id:
        raise Problem(403, "You are not allowed to manage this account's users")
    if action:
        authz.require(subject, action, authz.Resource(account_id, service_name=_SERVICE))
    return subject


@router.post("/v2/accounts/{account_id}/users", status_code=202, tags=["users"])
def invite_users(request: Request, account_id: str, body: JsonBody) -> Response:
    subject = _account(request, account_id, "user-management.user.create")
    store = web.store(request)
    users = body.get("users")
    if not isinstance(users, list) or not 1 <= len(users) <= 100:
        raise bodies.invalid("Invalid body: 'users' must be a list of 1-100 users")
    emails = []
    for i, u in enumerate(users):
        email = u.get("email") if isinstance(u, dict) else None
        if not isinstance(email, str) or not 3 <= len(email) <= 256 or "@" not in email:
            raise bodies.invalid(f"Invalid body: 'users[{i}].email' must be an email address")
        emails.append(email)
    policies = body.get("iam_policy") or []
    if not isinstance(policies, list) or len(policies) > 20:
        raise bodies.invalid("Invalid body: 'iam_policy' must be a list of at most 20 policies")
    invited = []
    for email in emails:
        user, _, _ = store.add_member(account_id, email, email=email)
        for i, p in enumerate(policies):
            if not isinstance(p, dict):
                raise bodies.invalid(f"Invalid body: 'iam_policy[{i}]' must be an object")
            v1 = {
                "type": p.get("type", "access"),
                "subjects": [{"attributes": [{"name": "iam_id", "value": user.iam_id}]}],
                "roles": p.get("roles"),
                "resources": p.get("resources"),
            }
            create_policy_body(store, subject, "v1", v1)
        invited.append({"email": email, "id": user.iam_id, "state": "ACTIVE"})
    return web.json_response({"resources": invited}, 202)


@router.get("/v2/accounts/{account_id}/users", tags=["users"])
def list_users(request: Request, account_id: str) -> Response:
    _account(request, account_id, "")
    store = web.store(request)
    owner = store.account_owner(account_id)
    users = [user_json(u, owner) for u in store.users_of(account_id)]
    return web.json_response({"total_results": len(users), "limit": 100, "resources": users})


def _user(request: Request, account_id: str, iam_id: str, action: str) -> User:
    _account(request, account_id, action)
    user = web.store(request).user(iam_id)
    if user is None or user.account_id != account_id:
        raise Problem(404, f"User {iam_id[:100]} not found", code="not_found")
    return user


@router.get("/v2/accounts/{account_id}/users/{iam_id}", tags=["users"])
def get_user(request: Request, account_id: str, iam_id: str) -> Response:
    user = _user(request, account_id, iam_id, "")
    return web.json_response(user_json(user, web.store(request).account_owner(account_id)))


@router.delete("/v2/accounts/{account_id}/users/{iam_id}", status_code=204, tags=["users"])
def remove_user(request: Request, account_id: str, iam_id: str) -> Response:
    user = _user(request, account_id, iam_id, "user-management.user.delete")
    store = web.store(request)
    if user.iam_id == store.account_owner(account_id):
        raise Problem(400, "The account owner cannot be removed", code="invalid_body")
    store.remove_user(user.iam_id)
    return web.no_content()
