"""IBM's roles API: `/v2/roles` (reference §3.3): built-in roles and the account's custom roles.

Any member of an account may list and read its roles (they are definitions, not access);
creating, replacing and deleting custom roles needs Administrator on `iam-access-management`
(the owner may). A custom role's actions must belong to its service (`<service_name>.`…), and a
policy naming it grants exactly those actions. Its CRN is
`crn:v1:bluemix:public:iam-access-management::a/<account>::customRole:<name>` (the SDK's example;
IBM's real cname is unconfirmed).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request
from starlette.responses import Response

from .. import authz, formats, web
from ..authz import catalog
from ..authz.engine import IAM_SERVICES
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..store import CustomRoleRow, Store
from .common import caller_of
from .policy_bodies import invalid

router = APIRouter(route_class=LazyRoute)

ROLE_NAME = re.compile(r"^[A-Z][a-zA-Z0-9]{0,29}$")
ACTION = re.compile(r"^[a-z0-9][a-zA-Z0-9_.-]{0,199}$")
JsonBody = Annotated[dict[str, Any], Body()]
ROLE_SERVICE = "iam-access-management"


def role_json(base: str, r: CustomRoleRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.id,
        "display_name": r.display_name,
        "actions": list(r.actions),
        "crn": r.crn,
        "name": r.name,
        "account_id": r.account_id,
        "service_name": r.service_name,
        "created_at": formats.ms_time(r.created_at),
        "created_by_id": r.created_by,
        "last_modified_at": formats.ms_time(r.modified_at),
        "last_modified_by_id": r.modified_by,
        "href": f"{base}/v2/roles/{r.id}",
    }
    if r.description is not None:
        out["description"] = r.description
    return out


def _etag(r: CustomRoleRow) -> dict[str, str]:
    return {"ETag": r.entity_tag}


def _text(body: dict[str, Any], name: str, limit: int, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise invalid(f"Invalid body: '{name}' must be a string of 1-{limit} characters")
    return value


def _actions(body: dict[str, Any], service_name: str) -> list[str]:
    actions = body.get("actions")
    if not isinstance(actions, list) or not 1 <= len(actions) <= 100:
        raise invalid("Invalid body: 'actions' must be a list of 1-100 actions")
    for a in actions:
        if not isinstance(a, str) or not ACTION.match(a) or not a.startswith(service_name + "."):
            raise invalid(f"Invalid body: every action must be an action of {service_name}")
    return list(dict.fromkeys(actions))


def _require_admin(request: Request, account_id: str, verb: str) -> tuple[Store, str]:
    caller = caller_of(request)
    subject = authz.subject_of(caller)
    if account_id != caller.account_id:
        raise Problem(403, "You are not allowed to manage this account's roles")
    resource = authz.Resource(account_id, service_name=ROLE_SERVICE)
    authz.require(
        subject,
        f"iam-access-management.role.{verb}",
        resource,
        message="You need Administrator on IAM Access Management to manage custom roles",
    )
    return web.store(request), caller.iam_id


def _found(request: Request, role_id: str) -> tuple[Store, CustomRoleRow]:
    caller = caller_of(request)
    store = web.store(request)
    role = store.custom_role(role_id)
    if role is None:
        raise Problem(404, f"Role with ID {role_id[:100]} not found", code="role_not_found")
    if role.account_id != caller.account_id:
        raise Problem(403, "You are not allowed to access this account's roles")
    return store, role


@router.get("/v2/roles", tags=["roles"])
def list_roles(
    request: Request,
    account_id: str | None = None,
    service_name: str | None = None,
    source_service_name: str | None = None,
    policy_type: str | None = None,
    service_group_id: str | None = None,
) -> Response:
    caller = caller_of(request)
    if service_name and service_group_id:
        raise invalid("Only one of service_name and service_group_id may be given")
    services: list[str | None]
    if service_group_id is not None:
        services = [*sorted(IAM_SERVICES)] if service_group_id == "IAM" else []
    elif service_name in (None, "", "alliamserviceroles", "allacctmgmtroles"):
        services = [None]
    else:
        services = [service_name]
    system: dict[str, dict[str, Any]] = {}
    service: dict[str, dict[str, Any]] = {}
    for s in services:
        for role in catalog.system_roles(s):
            entry = system.setdefault(role.crn, role.to_json())
            entry["actions"] = list(dict.fromkeys([*entry["actions"], *role.actions]))
        for role in catalog.service_roles(s):
            if role.actions or s is None:
                entry = service.setdefault(role.crn, role.to_json())
                entry["actions"] = list(dict.fromkeys([*entry["actions"], *role.actions]))
    custom: list[dict[str, Any]] = []
    if account_id == caller.account_id:
        store, base = web.store(request), web.base_url(request)
        custom_service = service_name if len(services) == 1 and services[0] else None
        custom = [
            role_json(base, r)
            for r in store.list_custom_roles(account_id, service_name=custom_service)
            if service_group_id is None or r.service_name in services
        ]
    return web.json_response(
        {
            "custom_roles": custom,
            "service_roles": list(service.values()),
            "system_roles": list(system.values()),
        }
    )


@router.post("/v2/roles", status_code=201, tags=["roles"])
def create_role(request: Request, body: JsonBody) -> Response:
    caller_of(request)  # a missing token is a 401 before anything else
    account_id = _text(body, "account_id", 64)
    assert account_id is not None
    store, by = _require_admin(request, account_id, "create")
    name = _text(body, "name", 30)
    if name is None or not ROLE_NAME.match(name):
        raise invalid("Invalid body: 'name' must be alphanumeric, start with a capital letter")
    service_name = _text(body, "service_name", 100)
    display_name = _text(body, "display_name", 50)
    assert service_name is not None and display_name is not None
    if service_name == "iam":
        # `iam.policy.*` and `iam.role.assign` are Administrator's; no custom role holds them.
        raise invalid("Invalid body: 'service_name' iam is not a service of custom roles")
    role = store.create_custom_role(
        account_id=account_id,
        name=name,
        display_name=display_name,
        description=_text(body, "description", 250, required=False),
        service_name=service_name,
        actions=_actions(body, service_name),
        created_by=by,
    )
    return web.json_response(role_json(web.base_url(request), role), 201, _etag(role))


@router.get("/v2/roles/{role_id}", tags=["roles"])
def get_role(request: Request, role_id: str) -> Response:
    _, role = _found(request, role_id)
    return web.json_response(role_json(web.base_url(request), role), headers=_etag(role))


@router.put("/v2/roles/{role_id}", tags=["roles"])
def replace_role(
    request: Request,
    role_id: str,
    body: JsonBody,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    _, role = _found(request, role_id)
    if not if_match:
        raise Problem(400, "The If-Match header is required", code="invalid_body")
    store, by = _require_admin(request, role.account_id, "update")
    display_name = _text(body, "display_name", 50)
    assert display_name is not None
    updated = store.replace_custom_role(
        role_id,
        if_match=if_match,
        display_name=display_name,
        description=_text(body, "description", 250, required=False),
        actions=_actions(body, role.service_name),
        modified_by=by,
    )
    return web.json_response(role_json(web.base_url(request), updated), headers=_etag(updated))


@router.delete("/v2/roles/{role_id}", status_code=204, tags=["roles"])
def delete_role(request: Request, role_id: str) -> Response:
    _, role = _found(request, role_id)
    store, _ = _require_admin(request, role.account_id, "delete")
    store.delete_custom_role(role_id)
    return web.no_content()
