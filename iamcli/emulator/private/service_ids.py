"""The private family's service IDs: `/iam-token/serviceids` (reference/icp-iam.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel
from starlette.responses import Response

from .. import access, formats, web
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..store import ServiceId
from .common import CurrentPage, PageSize, caller_of, cluster_of, page_body

router = APIRouter(route_class=LazyRoute)

# -- service IDs ---------------------------------------------------------------------------


class PrivateCreateServiceId(BaseModel):
    name: str
    description: str | None = None
    boundTo: str | None = None


class PrivateUpdateServiceId(BaseModel):
    name: str | None = None
    description: str | None = None


def service_id_json(request: Request, s: ServiceId) -> dict[str, Any]:
    cluster = cluster_of(request)
    entity: dict[str, Any] = {
        "boundTo": formats.private_namespace_crn(cluster, s.namespace),
        "name": s.name,
    }
    if s.description is not None:
        entity["description"] = s.description
    return {
        "metadata": {
            "uuid": s.id,
            "iam_id": s.iam_id,
            "crn": formats.private_service_id_crn(cluster, s.namespace, s.id),
            "createdAt": formats.ibm_time(s.created_at),
            "modifiedAt": formats.ibm_time(s.modified_at),
            "version": s.entity_tag,
        },
        "entity": entity,
    }


def _namespace(bound_to: str | None) -> str:
    if bound_to is None:
        return "default"
    namespace = formats.parse_private_namespace_crn(bound_to)
    if namespace is None:
        raise Problem(
            400,
            "boundTo must be a namespace CRN such as crn:v1:icp:private:k8:mycluster:n/default:::",
        )
    return namespace


@router.post("/iam-token/serviceids/", status_code=201, tags=["private service IDs"])
@router.post("/iam-token/serviceids", include_in_schema=False)
def create_service_id(request: Request, body: PrivateCreateServiceId) -> Response:
    caller = caller_of(request)
    store = web.store(request)
    access.require_service_id_create(store, caller)
    created = store.create_service_id(
        account_id=caller.account_id,
        name=body.name,
        description=body.description,
        namespace=_namespace(body.boundTo),
        created_by=caller.iam_id,
    )
    access.grant_creator(store, caller, created)
    return web.json_response(service_id_json(request, created), 201)


@router.get("/iam-token/serviceids/", tags=["private service IDs"])
@router.get("/iam-token/serviceids", include_in_schema=False)
def list_service_ids(
    request: Request,
    boundTo: str | None = None,
    current_page: CurrentPage = 1,
    page_size: PageSize = 20,
) -> Response:
    caller = caller_of(request)
    namespace = None if boundTo is None else _namespace(boundTo)
    store = web.store(request)
    page = store.list_service_ids(
        caller.account_id,
        namespace=namespace,
        ids=access.visible_service_ids(store, caller),
        offset=(current_page - 1) * page_size,
        limit=page_size,
    )
    items = [service_id_json(request, s) for s in page.items]
    return web.json_response(page_body(items, current_page, page_size))


@router.get("/iam-token/serviceids/{sid}", tags=["private service IDs"])
def get_service_id(request: Request, sid: str) -> Response:
    caller = caller_of(request)
    found = web.owned_service_id(web.store(request), caller, sid)
    access.require(caller, "iam-identity.serviceid.get", found)
    return web.json_response(service_id_json(request, found))


@router.put("/iam-token/serviceids/{sid}", tags=["private service IDs"])
def update_service_id(
    request: Request,
    sid: str,
    body: PrivateUpdateServiceId,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    store = web.store(request)
    caller = caller_of(request)
    access.require(
        caller, "iam-identity.serviceid.update", web.owned_service_id(store, caller, sid)
    )
    updated = store.update_service_id(
        sid, if_match=if_match, name=body.name, description=body.description
    )
    return web.json_response(service_id_json(request, updated))


@router.delete("/iam-token/serviceids/{sid}", status_code=204, tags=["private service IDs"])
def delete_service_id(request: Request, sid: str) -> Response:
    store = web.store(request)
    caller = caller_of(request)
    access.require(
        caller, "iam-identity.serviceid.delete", web.owned_service_id(store, caller, sid)
    )
    store.delete_service_id(sid)
    return web.no_content()
