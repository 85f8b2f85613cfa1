"""Service ID groups: `/v1/serviceid_groups` (IBM's IAM Identity API; the SDK's
`create/get/list/update/delete_service_id_group`).

Choices where IBM's reference is silent: names are unique per account (IBM's model says so)
and a clash is 409; the list is not paged (IBM's `ServiceIdGroupList` has no paging fields).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from .. import authz, formats, web
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..store import ServiceIdGroup
from .common import caller_of, etag, own_account

router = APIRouter(route_class=LazyRoute)
_TAGS: list[str | Any] = ["service ID groups"]


class CreateGroup(BaseModel):
    account_id: str
    name: Annotated[str, Field(max_length=1024)]
    description: Annotated[str | None, Field(max_length=10240)] = None


class UpdateGroup(BaseModel):
    name: Annotated[str, Field(max_length=1024)]
    description: Annotated[str | None, Field(max_length=10240)] = None


def group_json(g: ServiceIdGroup) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": g.id,
        "entity_tag": g.entity_tag,
        "account_id": g.account_id,
        "crn": formats.cloud_crn(g.account_id, "serviceidgroup", g.id),
        "name": g.name,
        "created_at": formats.ibm_time(g.created_at),
        "created_by": g.created_by,
        "modified_at": formats.ibm_time(g.modified_at),
    }
    if g.description is not None:
        body["description"] = g.description
    return body


def _resource(account_id: str, gid: str | None = None) -> authz.Resource:
    return authz.Resource(account_id=account_id, resource_type="serviceid-group", resource=gid)


def _found(request: Request, gid: str, action: str) -> ServiceIdGroup:
    caller = caller_of(request)
    group = web.store(request).serviceid_group(gid)
    if group is None:
        raise Problem(404, f"Service ID group {gid[:100]} not found")
    if group.account_id != caller.account_id:
        raise Problem(403, "You are not allowed to access this service ID group")
    authz.require(authz.subject_of(caller), action, _resource(group.account_id, group.id))
    return group


@router.post("/v1/serviceid_groups", status_code=201, tags=_TAGS)
def create_group(request: Request, body: CreateGroup) -> Response:
    caller = caller_of(request)
    account_id = own_account(caller, body.account_id)
    authz.require(
        authz.subject_of(caller), "iam-identity.serviceid-group.create", _resource(account_id)
    )
    group = web.store(request).create_serviceid_group(
        account_id=account_id,
        name=body.name,
        description=body.description,
        created_by=caller.iam_id,
    )
    return web.json_response(group_json(group), 201, etag(group))


@router.get("/v1/serviceid_groups", tags=_TAGS)
def list_groups(request: Request, account_id: str | None = None) -> Response:
    caller = caller_of(request)
    account = own_account(caller, account_id)
    authz.require(authz.subject_of(caller), "iam-identity.serviceid-group.list", _resource(account))
    groups = web.store(request).list_serviceid_groups(account)
    return web.json_response({"serviceid_groups": [group_json(g) for g in groups]})


@router.get("/v1/serviceid_groups/{gid}", tags=_TAGS)
def get_group(request: Request, gid: str) -> Response:
    group = _found(request, gid, "iam-identity.serviceid-group.get")
    return web.json_response(group_json(group), headers=etag(group))


@router.put("/v1/serviceid_groups/{gid}", tags=_TAGS)
def update_group(
    request: Request, gid: str, body: UpdateGroup, if_match: Annotated[str, Header()]
) -> Response:
    _found(request, gid, "iam-identity.serviceid-group.update")
    updated = web.store(request).update_serviceid_group(
        gid, if_match=if_match, name=body.name, description=body.description
    )
    return web.json_response(group_json(updated), headers=etag(updated))


@router.delete("/v1/serviceid_groups/{gid}", status_code=204, tags=_TAGS)
def delete_group(request: Request, gid: str) -> Response:
    _found(request, gid, "iam-identity.serviceid-group.delete")
    web.store(request).delete_serviceid_group(gid)
    return web.no_content()
