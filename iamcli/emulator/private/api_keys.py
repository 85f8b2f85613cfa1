"""The private family's API keys: `/iam-token/apikeys` (reference/icp-iam.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel
from starlette.responses import Response

from .. import access, formats, web
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..store import ApiKey, Identity, Store, User
from ..tokens import Caller
from .common import CurrentPage, PageSize, caller_of, owner_crn, page_body

router = APIRouter(route_class=LazyRoute)

# -- API keys ------------------------------------------------------------------------------


class PrivateCreateApiKey(BaseModel):
    name: str
    description: str | None = None
    boundTo: str


class PrivateUpdateApiKey(BaseModel):
    name: str | None = None
    description: str | None = None


def api_key_json(request: Request, store: Store, k: ApiKey) -> dict[str, Any]:
    entity: dict[str, Any] = {"boundTo": owner_crn(request, store, k.iam_id), "name": k.name}
    if k.description is not None:
        entity["description"] = k.description
    entity["format"] = "APIKEY"
    return {
        "metadata": {
            "uuid": k.id,
            "crn": formats.private_api_key_crn(k.id),
            "createdAt": formats.ibm_time(k.created_at),
            "modifiedAt": formats.ibm_time(k.modified_at),
            "version": k.entity_tag,
        },
        "entity": entity,
    }


def _bound_owner(store: Store, caller: Caller, bound_to: str) -> Identity:
    """The identity a `boundTo` names: `self`, a service ID CRN (either ICP form) or the
    caller's own user CRN."""
    if bound_to == "self":
        return caller.identity
    parsed = formats.parse_private_owner_crn(bound_to)
    if parsed is None:
        raise Problem(400, "boundTo must be self, a service ID CRN or a user CRN")
    kind, ref = parsed
    if kind == "user":
        if isinstance(caller.identity, User) and caller.identity.username == ref:
            return caller.identity
        user = store.user_by_name(ref)
        if user is None:
            raise Problem(404, f"User {ref[:100]} not found")
        if user.account_id != caller.account_id:
            raise Problem(403, "You may only manage your own platform API keys")
        # The engine decides what else: no one but the user creates the user's keys.
        return user
    return web.owned_service_id(store, caller, ref)


@router.post("/iam-token/apikeys/", status_code=201, tags=["private API keys"])
@router.post("/iam-token/apikeys", include_in_schema=False)
def create_api_key(request: Request, body: PrivateCreateApiKey) -> Response:
    caller = caller_of(request)
    store = web.store(request)
    owner = _bound_owner(store, caller, body.boundTo)
    access.require_key_create(store, caller, owner)
    key, value = store.create_api_key(
        account_id=owner.account_id,
        iam_id=owner.iam_id,
        name=body.name,
        description=body.description,
        created_by=caller.iam_id,
    )
    body_json = api_key_json(request, store, key)
    body_json["entity"]["apiKey"] = value
    return web.json_response(body_json, 201)


@router.get("/iam-token/apikeys/", tags=["private API keys"])
@router.get("/iam-token/apikeys", include_in_schema=False)
def list_api_keys(
    request: Request,
    boundTo: str | None = None,
    current_page: CurrentPage = 1,
    page_size: PageSize = 20,
) -> Response:
    caller = caller_of(request)
    if not boundTo:
        raise Problem(400, "boundTo is missing")
    store = web.store(request)
    owner = _bound_owner(store, caller, boundTo)
    access.require(caller, "iam-identity.apikey.list", owner)
    page = store.list_api_keys(
        caller.account_id,
        iam_id=owner.iam_id,
        offset=(current_page - 1) * page_size,
        limit=page_size,
    )
    items = [api_key_json(request, store, k) for k in page.items]
    return web.json_response(page_body(items, current_page, page_size))


@router.get("/iam-token/apikeys/{kid}", tags=["private API keys"])
def get_api_key(request: Request, kid: str) -> Response:
    store = web.store(request)
    caller = caller_of(request)
    found = web.owned_api_key(store, caller, kid)
    access.require(caller, "iam-identity.apikey.get", found)
    return web.json_response(api_key_json(request, store, found))


@router.put("/iam-token/apikeys/{kid}", tags=["private API keys"])
def update_api_key(
    request: Request,
    kid: str,
    body: PrivateUpdateApiKey,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    store = web.store(request)
    caller = caller_of(request)
    access.require(caller, "iam-identity.apikey.update", web.owned_api_key(store, caller, kid))
    updated = store.update_api_key(
        kid, if_match=if_match, name=body.name, description=body.description
    )
    return web.json_response(api_key_json(request, store, updated))


@router.delete("/iam-token/apikeys/{kid}", status_code=204, tags=["private API keys"])
def delete_api_key(request: Request, kid: str) -> Response:
    store = web.store(request)
    caller = caller_of(request)
    access.require(caller, "iam-identity.apikey.delete", web.owned_api_key(store, caller, kid))
    store.delete_api_key(kid)
    return web.no_content()
