"""The public-cloud Identity API for API keys: `/v1/apikeys` (reference/ibmcloud-iam.md §3)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from .. import access, formats, web
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..store import DEFAULT_GROUP, ApiKey, Identity, Store
from ..tokens import Caller
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

router = APIRouter(route_class=LazyRoute)

# -- API keys ------------------------------------------------------------------------------


class CreateApiKey(BaseModel):
    name: str
    iam_id: str
    description: str | None = None
    account_id: str | None = None
    apikey: str | None = None
    store_value: bool | None = None
    support_sessions: bool | None = None
    action_when_leaked: Literal["none", "disable", "delete"] | None = None
    expires_at: str | None = None


class UpdateApiKey(BaseModel):
    name: str | None = None
    description: str | None = None
    support_sessions: bool | None = None
    action_when_leaked: Literal["none", "disable", "delete"] | None = None
    expires_at: str | None = None


def api_key_json(k: ApiKey) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": k.id,
        "entity_tag": k.entity_tag,
        "crn": formats.cloud_crn(k.account_id, "apikey", k.id),
        "locked": k.locked,
        "disabled": k.disabled,
        "created_at": formats.ibm_time(k.created_at),
        "created_by": k.created_by,
        "modified_at": formats.ibm_time(k.modified_at),
        "name": k.name,
        "support_sessions": k.support_sessions,
        "action_when_leaked": k.action_when_leaked,
        "iam_id": k.iam_id,
        "account_id": k.account_id,
        "leaked": False,
    }
    if k.description is not None:
        body["description"] = k.description
    if k.expires_at is not None:
        body["expires_at"] = formats.ibm_time(k.expires_at)
    return body


def parse_expiry(text: str | None, *, past_ok: bool = False) -> int | None:
    """The expiry time; a past one is refused unless PAST_OK (an update: IBM's own Node
    integration test sets a key's expiry to a date already past when the test was written,
    and IBM's service takes it; the key is expired from then on)."""
    if text is None:
        return None
    parsed = formats.parse_ibm_time(text)
    if parsed is None:
        raise Problem(
            400, "Validation of property 'expires_at' failed: expected yyyy-MM-ddTHH:mm+0000"
        )
    if parsed <= formats.now() and not past_ok:
        raise Problem(400, "Validation of property 'expires_at' failed: it is in the past")
    return parsed


def _with_value(store: Store, key: ApiKey) -> dict[str, Any]:
    body = api_key_json(key)
    if key.has_sealed_value:
        body["apikey"] = store.stored_value(key)
    return body


def _owner(store: Store, caller: Caller, iam_id: str) -> Identity:
    if iam_id == caller.iam_id:
        return caller.identity
    owner = store.identity(iam_id)
    if owner is None:
        raise Problem(404, f"Identity {iam_id[:100]} not found")
    if owner.account_id != caller.account_id:
        raise Problem(403, "You are not allowed to create API keys for this identity")
    return owner


@router.post("/v1/apikeys", status_code=201, tags=["API keys"])
@router.post("/v1/apikeys/", include_in_schema=False)
def create_api_key(
    request: Request,
    body: CreateApiKey,
    entity_lock: Annotated[str | None, Header()] = None,
    entity_disable: Annotated[str | None, Header()] = None,
) -> Response:
    caller = caller_of(request)
    store = web.store(request)
    owner = _owner(store, caller, body.iam_id)
    own_account(caller, body.account_id)
    access.require_key_create(store, caller, owner)
    key, value = store.create_api_key(
        account_id=owner.account_id,
        iam_id=owner.iam_id,
        name=body.name,
        description=body.description,
        value=body.apikey,
        store_value=bool(body.store_value),
        locked=web.header_flag(request, "Entity-Lock"),
        disabled=web.header_flag(request, "Entity-Disable"),
        support_sessions=bool(body.support_sessions),
        action_when_leaked=body.action_when_leaked or "disable",
        expires_at=parse_expiry(body.expires_at),
        created_by=caller.iam_id,
    )
    return web.json_response({**api_key_json(key), "apikey": value}, 201, etag(key))


@router.get("/v1/apikeys", tags=["API keys"])
@router.get("/v1/apikeys/", include_in_schema=False)
def list_api_keys(
    request: Request,
    account_id: str | None = None,
    iam_id: str | None = None,
    pagesize: PageSize = 20,
    pagetoken: str | None = None,
    scope: Literal["entity", "account"] = "entity",
    type: Literal["user", "serviceid"] | None = None,
    sort: Literal["name", "description", "created_at", "created_by"] | None = None,
    order: Literal["asc", "desc"] | None = None,
    filter: Annotated[str | None, Query(max_length=1024)] = None,
    group_id: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response:
    caller = caller_of(request)
    start = decode_page_token(request, pagetoken)
    offset, token_account = start.offset, start.account
    account = own_account(caller, account_id or token_account)
    store = web.store(request)
    owner = owners = None
    if iam_id is not None:
        found = _owner(store, caller, iam_id)
        access.require(caller, "iam-identity.apikey.list", found)
        owner = found.iam_id
    elif scope == "entity":
        owner = caller.iam_id
    else:
        owners = access.visible_key_owners(store, caller)
    page = store.list_api_keys(
        account,
        iam_id=owner,
        owners=owners,
        owner_kind=type,
        # IBM applies the default group to service-ID keys when no group is named; here only
        # to an account-wide list, so that the keys of one named identity are all listed.
        group_id=group_id or (DEFAULT_GROUP if iam_id is None and scope == "account" else None),
        filter_expr=filter,
        sort=sort,
        descending=order_desc(order),
        offset=offset,
        limit=pagesize,
        after=start.after,
    )
    items = [api_key_json(k) for k in page.items]
    return web.json_response(list_body(request, "apikeys", page, pagesize, account, items))


@router.get("/v1/apikeys/details", tags=["API keys"])
def api_key_details(
    request: Request,
    iam_apikey: Annotated[str, Header()],
) -> Response:
    caller = caller_of(request)
    store = web.store(request)
    found = store.api_key_by_value(iam_apikey)
    if found is None:
        raise Problem(404, "API key not found")
    if found.account_id != caller.account_id:
        raise Problem(403, "You are not allowed to access this API key")
    return web.json_response(api_key_json(found), headers=etag(found))


@router.get("/v1/apikeys/{kid}", tags=["API keys"])
def get_api_key(request: Request, kid: str, include_activity: bool = False) -> Response:
    store = web.store(request)
    caller = caller_of(request)
    found = web.owned_api_key(store, caller, kid)
    access.require(caller, "iam-identity.apikey.get", found)
    body = _with_value(store, found)
    if include_activity:
        body["activity"] = activity_json(store, found.id)
    return web.json_response(body, headers=etag(found))


@router.put("/v1/apikeys/{kid}", tags=["API keys"])
def update_api_key(
    request: Request,
    kid: str,
    body: UpdateApiKey,
    if_match: Annotated[str, Header()],
) -> Response:
    store = web.store(request)
    caller = caller_of(request)
    access.require(caller, "iam-identity.apikey.update", web.owned_api_key(store, caller, kid))
    updated = store.update_api_key(
        kid,
        if_match=if_match,
        name=body.name,
        description=body.description,
        support_sessions=body.support_sessions,
        action_when_leaked=body.action_when_leaked,
        expires_at=parse_expiry(body.expires_at, past_ok=True),
    )
    return web.json_response(_with_value(store, updated), headers=etag(updated))


@router.delete("/v1/apikeys/{kid}", status_code=204, tags=["API keys"])
def delete_api_key(request: Request, kid: str) -> Response:
    store = web.store(request)
    caller = caller_of(request)
    access.require(caller, "iam-identity.apikey.delete", web.owned_api_key(store, caller, kid))
    store.delete_api_key(kid)
    return web.no_content()


def _flag_route(flag: str, value: bool) -> Any:
    # Locking needs Editor or Administrator (reference §4.2); disabling is an update.
    action = "iam-identity.apikey.lock" if flag == "locked" else "iam-identity.apikey.update"

    def handler(request: Request, kid: str) -> Response:
        store = web.store(request)
        caller = caller_of(request)
        access.require(caller, action, web.owned_api_key(store, caller, kid))
        store.set_api_key_flag(kid, flag, value)
        return web.no_content()

    return handler


for _path, _flag in (("lock", "locked"), ("disable", "disabled")):
    router.add_api_route(
        f"/v1/apikeys/{{kid}}/{_path}",
        _flag_route(_flag, True),
        methods=["POST"],
        status_code=204,
        tags=["API keys"],
        name=f"{_path}_api_key",
    )
    router.add_api_route(
        f"/v1/apikeys/{{kid}}/{_path}",
        _flag_route(_flag, False),
        methods=["DELETE"],
        status_code=204,
        tags=["API keys"],
        name=f"un{_path}_api_key",
    )
