"""The public-cloud Identity API for service IDs: `/v1/serviceids`
(reference/ibmcloud-iam.md §3)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from .. import access, formats, web
from ..problems import Problem
from ..store import DEFAULT_GROUP, ServiceId, Store, StoreError
from .api_keys import api_key_json, parse_expiry
from .common import (
    PageSize,
    activity_json,
    caller_of,
    decode_page_token,
    etag,
    list_body,
    order_desc,
    own_account,
)

router = APIRouter()

# -- service IDs ---------------------------------------------------------------------------


class ApiKeyInsideCreate(BaseModel):
    name: str
    description: str | None = None
    apikey: str | None = None
    store_value: bool | None = None
    action_when_leaked: Literal["none", "disable", "delete"] | None = None
    expires_at: str | None = None


class CreateServiceId(BaseModel):
    account_id: str
    name: str
    description: str | None = None
    unique_instance_crns: list[Annotated[str, Field(max_length=1024)]] | None = Field(
        None, max_length=100
    )
    group_id: Annotated[str | None, Field(max_length=1024)] = None
    apikey: ApiKeyInsideCreate | None = None


class UpdateServiceId(BaseModel):
    name: str | None = None
    description: str | None = None
    unique_instance_crns: list[Annotated[str, Field(max_length=1024)]] | None = Field(
        None, max_length=100
    )


def with_group_ids(store: Store, bodies: list[dict[str, Any]]) -> None:
    """`show_group_id=true`: each service ID's group, where it is not the default group
    (whose ID IBM does not document: such a service ID shows no group_id)."""
    groups = store.serviceid_group_ids([b["id"] for b in bodies])
    for body in bodies:
        if body["id"] in groups:
            body["group_id"] = groups[body["id"]]


def service_id_json(s: ServiceId) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": s.id,
        "iam_id": s.iam_id,
        "entity_tag": s.entity_tag,
        "crn": formats.cloud_crn(s.account_id, "serviceid", s.id),
        "locked": s.locked,
        "created_at": formats.ibm_time(s.created_at),
        "modified_at": formats.ibm_time(s.modified_at),
        "account_id": s.account_id,
        "name": s.name,
    }
    if s.description is not None:
        body["description"] = s.description
    if s.unique_instance_crns:
        body["unique_instance_crns"] = list(s.unique_instance_crns)
    return body


@router.post("/v1/serviceids/", status_code=201, tags=["service IDs"])
@router.post("/v1/serviceids", include_in_schema=False)
def create_service_id(
    request: Request,
    body: CreateServiceId,
    entity_lock: Annotated[str | None, Header()] = None,
    show_group_id: bool = False,
) -> Response:
    caller = caller_of(request)
    account_id = own_account(caller, body.account_id)
    store = web.store(request)
    access.require_service_id_create(store, caller)
    locked = web.header_flag(request, "Entity-Lock")
    expires = parse_expiry(body.apikey.expires_at) if body.apikey else None
    created = store.create_service_id(
        account_id=account_id,
        name=body.name,
        description=body.description,
        locked=locked,
        unique_instance_crns=body.unique_instance_crns,
        created_by=caller.iam_id,
        # None or empty: IBM's default group. Who may create a service ID may put it in any
        # group of the account (IBM names no permission on the group for it); a group of
        # another account is answered as not found.
        group_id=body.group_id or None,
    )
    result = service_id_json(created)
    if show_group_id:
        with_group_ids(store, [result])
    if body.apikey is not None:
        try:
            key, value = store.create_api_key(
                account_id=account_id,
                iam_id=created.iam_id,
                name=body.apikey.name,
                description=body.apikey.description,
                value=body.apikey.apikey,
                store_value=bool(body.apikey.store_value),
                action_when_leaked=body.apikey.action_when_leaked or "disable",
                expires_at=expires,
                created_by=caller.iam_id,
            )
        except StoreError:
            # A refused key (a bad value, a limit) refuses the whole create: no service ID
            # is left behind for a request that answered 400.
            if locked:
                store.set_service_id_locked(created.id, False)
            store.delete_service_id(created.id)
            raise
        result["apikey"] = {**api_key_json(key), "apikey": value}
    access.grant_creator(store, caller, created)
    return web.json_response(result, 201, etag(created))


@router.get("/v1/serviceids/", tags=["service IDs"])
@router.get("/v1/serviceids", include_in_schema=False)
def list_service_ids(
    request: Request,
    account_id: str | None = None,
    group_id: Annotated[str | None, Query(max_length=1024)] = None,
    show_group_id: bool = False,
    name: Annotated[str | None, Query(max_length=1024)] = None,
    pagesize: PageSize = 20,
    pagetoken: str | None = None,
    sort: Literal["name", "description", "created_at", "modified_at"] | None = None,
    order: Literal["asc", "desc"] | None = None,
    filter: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response:
    caller = caller_of(request)
    offset, token_account = decode_page_token(pagetoken)
    if account_id is None and token_account is None:
        raise Problem(400, "Property missing or empty. Property: account_id")
    account = own_account(caller, account_id or token_account)
    store = web.store(request)
    page = store.list_service_ids(
        account,
        name=name,
        ids=access.visible_service_ids(store, caller),
        # IBM: "If this parameter is not provided the default group is applied."
        group_id=group_id or DEFAULT_GROUP,
        filter_expr=filter,
        sort=sort,
        descending=order_desc(order),
        offset=offset,
        limit=pagesize,
    )
    items = [service_id_json(s) for s in page.items]
    if show_group_id:
        with_group_ids(store, items)
    return web.json_response(list_body(request, "serviceids", page, pagesize, account, items))


@router.get("/v1/serviceids/{sid}", tags=["service IDs"])
def get_service_id(
    request: Request, sid: str, include_activity: bool = False, show_group_id: bool = False
) -> Response:
    caller = caller_of(request)
    found = web.owned_service_id(web.store(request), caller, sid)
    access.require(caller, "iam-identity.serviceid.get", found)
    body = service_id_json(found)
    if show_group_id:
        with_group_ids(web.store(request), [body])
    if include_activity:
        body["activity"] = activity_json(web.store(request), found.iam_id)
    return web.json_response(body, headers=etag(found))


@router.put("/v1/serviceids/{sid}", tags=["service IDs"])
def update_service_id(
    request: Request,
    sid: str,
    body: UpdateServiceId,
    if_match: Annotated[str, Header()],
    show_group_id: bool = False,
) -> Response:
    store = web.store(request)
    caller = caller_of(request)
    access.require(
        caller, "iam-identity.serviceid.update", web.owned_service_id(store, caller, sid)
    )
    updated = store.update_service_id(
        sid,
        if_match=if_match,
        name=body.name,
        description=body.description,
        unique_instance_crns=body.unique_instance_crns,
    )
    result = service_id_json(updated)
    if show_group_id:
        with_group_ids(store, [result])
    return web.json_response(result, headers=etag(updated))


@router.delete("/v1/serviceids/{sid}", status_code=204, tags=["service IDs"])
def delete_service_id(request: Request, sid: str) -> Response:
    store = web.store(request)
    caller = caller_of(request)
    access.require(
        caller, "iam-identity.serviceid.delete", web.owned_service_id(store, caller, sid)
    )
    store.delete_service_id(sid)
    return web.no_content()


@router.post("/v1/serviceids/{sid}/lock", status_code=204, tags=["service IDs"])
def lock_service_id(request: Request, sid: str) -> Response:
    store = web.store(request)
    caller = caller_of(request)
    access.require(caller, "iam-identity.serviceid.lock", web.owned_service_id(store, caller, sid))
    store.set_service_id_locked(sid, True)
    return web.no_content()


@router.delete("/v1/serviceids/{sid}/lock", status_code=204, tags=["service IDs"])
def unlock_service_id(request: Request, sid: str) -> Response:
    store = web.store(request)
    caller = caller_of(request)
    access.require(caller, "iam-identity.serviceid.lock", web.owned_service_id(store, caller, sid))
    store.set_service_id_locked(sid, False)
    return web.no_content()
