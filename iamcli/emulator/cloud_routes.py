"""The public-cloud family: `/identity/*` (tokens, keys, discovery) and the Identity API
`/v1/serviceids`, `/v1/apikeys` (reference/ibmcloud-iam.md §1-3)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from . import formats, web
from .problems import Problem
from .store import ApiKey, Identity, Page, ServiceId, Store
from .tokens import APIKEY_GRANT, Caller, basic_client, is_cli_client

router = APIRouter()

_RESPONSE_TYPES = {"cloud_iam", "delegated_refresh_token"}
_TOKEN_FORM = web.form_body_schema(
    {
        "grant_type": f"{APIKEY_GRANT}, refresh_token or password",
        "apikey": "the API key (apikey grant)",
        "refresh_token": "a refresh token (refresh_token grant; needs Basic bx:bx)",
        "username": "user name (password grant; needs Basic bx:bx)",
        "password": "password (password grant)",
        "response_type": "cloud_iam",
        "account": "account ID (refresh_token grant, optional)",
    },
    ["grant_type"],
)


# -- tokens --------------------------------------------------------------------------------


@router.post("/identity/token", openapi_extra=_TOKEN_FORM, tags=["token"])
async def token(request: Request) -> Response:
    form = await web.read_form(request)
    _check_response_type(form.get("response_type", "cloud_iam"))
    client = basic_client(request.headers.get("authorization"))
    if client is not None and not is_cli_client(client):
        raise Problem(400, "Validation of the client credentials failed", code="BXNIM0106E")
    cli = client is not None
    tokens = web.tokens(request)
    grant = form.get("grant_type", "")
    api_key_id = None
    identity: Identity
    if grant == APIKEY_GRANT:
        identity, key = tokens.identity_for_api_key(form.get("apikey", ""))
        account_id, api_key_id, claim_grant = key.account_id, key.id, grant
    elif grant == "refresh_token":
        if not cli:
            raise Problem(400, "No authorization header found", code="BXNIM0308E")
        identity, refresh = tokens.identity_for_refresh_token(
            form.get("refresh_token", ""), client_id="bx"
        )
        if form.get("account") not in (None, "", refresh.account_id):
            raise Problem(
                400,
                "Validation of property 'account' failed: not the token's account",
                code="BXNIM0106E",
            )
        account_id, api_key_id, claim_grant = (
            refresh.account_id,
            refresh.api_key_id,
            refresh.grant_type,
        )
    elif grant == "password":
        if not cli:
            raise Problem(400, "No authorization header found", code="BXNIM0308E")
        user = web.store(request).check_password(form.get("username", ""), form.get("password", ""))
        if user is None:
            raise Problem(
                400, "The credentials you entered for the user are incorrect", code="BXNIM0602E"
            )
        identity, account_id, claim_grant = user, user.account_id, grant
    else:
        raise Problem(
            400,
            f"Validation of property 'grant_type' with value '{grant[:100]}' failed. "
            f"Valid values: '{APIKEY_GRANT}, refresh_token, password'",
            code="BXNIM0106E",
        )
    minted = tokens.mint(
        identity,
        account_id,
        family="cloud",
        issuer=web.base_url(request) + "/identity",
        grant_type=claim_grant,
        client_id="bx" if cli else "default",
    )
    refresh_token = (
        tokens.new_refresh_token(
            identity, account_id, api_key_id=api_key_id, client_id="bx", grant_type=claim_grant
        )
        if cli
        # Without the CLI's client credentials IBM answers with this literal, not a token.
        else "not_supported"
    )
    return web.json_response(
        {
            "access_token": minted.access_token,
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "expires_in": minted.expires_at - minted.issued_at,
            "expiration": minted.expires_at,
            "scope": "ibm openid",
        }
    )


def _check_response_type(value: str) -> None:
    requested = {v for v in value.replace(",", " ").split() if v}
    if not requested or not requested <= _RESPONSE_TYPES:
        shown = ", ".join(sorted(requested)) if requested else ""
        raise Problem(
            400,
            f"Validation of property 'response_type' with value '[{shown[:100]}]' failed. "
            "Valid values: 'cloud_iam, delegated_refresh_token'",
            code="BXNIM0106E",
        )
    if "delegated_refresh_token" in requested:
        raise Problem(
            400, "delegated_refresh_token is not supported by iamcli serve", code="BXNIM0106E"
        )


@router.get("/identity/keys", tags=["token"])
async def keys(request: Request) -> Response:
    return web.json_response(web.signer(request).jwks())


@router.get("/identity/.well-known/openid-configuration", tags=["token"])
async def discovery(request: Request) -> Response:
    base = web.base_url(request)
    return web.json_response(
        {
            "issuer": f"{base}/identity",
            "authorization_endpoint": f"{base}/identity/authorize",
            "token_endpoint": f"{base}/identity/token",
            "passcode_endpoint": f"{base}/identity/passcode",
            "jwks_uri": f"{base}/identity/keys",
            "response_types_supported": ["cloud_iam"],
            "grant_types_supported": [APIKEY_GRANT, "refresh_token", "password"],
            "subject_types_supported": ["public"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
            "claims_supported": [
                "iam_id",
                "id",
                "realmid",
                "identifier",
                "sub",
                "sub_type",
                "account",
                "iat",
                "exp",
                "iss",
                "grant_type",
                "scope",
                "client_id",
            ],
        }
    )


# -- shared pieces of /v1 ------------------------------------------------------------------

PageSize = Annotated[int, Query(ge=1, le=100)]


def _caller(request: Request) -> Caller:
    # Read here rather than declared as a parameter: the bearer token is documented as a
    # security scheme (see openapi.py), and FastAPI's parameter machinery costs on every call.
    return web.tokens(request).caller(request.headers.get("authorization"))


def _own_account(caller: Caller, account_id: str | None) -> str:
    if account_id not in (None, caller.account_id):
        raise Problem(403, "You are not allowed to access this account's identities")
    return caller.account_id


def _decode_page_token(token: str | None) -> tuple[int, str | None]:
    if token is None:
        return 0, None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, account = int(data["o"]), data.get("a")
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise Problem(400, "Validation of property 'pagetoken' failed: not a page token") from None
    if offset < 0:
        raise Problem(400, "Validation of property 'pagetoken' failed: not a page token")
    return offset, account


def _page_token(offset: int, account_id: str) -> str:
    raw = json.dumps({"o": offset, "a": account_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _list_body(
    request: Request,
    key: str,
    page: Page,
    pagesize: int,
    account_id: str,
    items: list[dict[str, Any]],
) -> dict[str, Any]:
    params = {k: v for k, v in request.query_params.items() if k != "pagetoken"}
    url = web.base_url(request) + request.url.path

    def link(offset: int | None) -> str:
        query = dict(params)
        if offset:
            query["pagetoken"] = _page_token(offset, account_id)
        return f"{url}?{urlencode(query)}" if query else url

    body: dict[str, Any] = {"offset": page.offset, "limit": pagesize, "first": link(None)}
    if page.offset > 0:
        body["previous"] = link(max(0, page.offset - pagesize))
    if page.has_more:
        body["next"] = link(page.offset + pagesize)
    body[key] = items
    return body


def _order(order: str | None) -> bool:
    return order == "desc"


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
    group_id: str | None = None
    apikey: ApiKeyInsideCreate | None = None


class UpdateServiceId(BaseModel):
    name: str | None = None
    description: str | None = None
    unique_instance_crns: list[Annotated[str, Field(max_length=1024)]] | None = Field(
        None, max_length=100
    )


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


def _etag(entity: ServiceId | ApiKey) -> dict[str, str]:
    return {"ETag": entity.entity_tag}


@router.post("/v1/serviceids/", status_code=201, tags=["service IDs"])
@router.post("/v1/serviceids", include_in_schema=False)
async def create_service_id(
    request: Request,
    body: CreateServiceId,
    entity_lock: Annotated[str | None, Header()] = None,
) -> Response:
    caller = _caller(request)
    account_id = _own_account(caller, body.account_id)
    store = web.store(request)
    locked = web.header_flag(request, "Entity-Lock")
    expires = _parse_expiry(body.apikey.expires_at) if body.apikey else None
    created = store.create_service_id(
        account_id=account_id,
        name=body.name,
        description=body.description,
        locked=locked,
        unique_instance_crns=body.unique_instance_crns,
        created_by=caller.iam_id,
    )
    result = service_id_json(created)
    if body.apikey is not None:
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
        result["apikey"] = {**api_key_json(key), "apikey": value}
    return web.json_response(result, 201, _etag(created))


@router.get("/v1/serviceids/", tags=["service IDs"])
@router.get("/v1/serviceids", include_in_schema=False)
async def list_service_ids(
    request: Request,
    account_id: str | None = None,
    name: Annotated[str | None, Query(max_length=1024)] = None,
    pagesize: PageSize = 20,
    pagetoken: str | None = None,
    sort: Literal["name", "description", "created_at", "modified_at"] | None = None,
    order: Literal["asc", "desc"] | None = None,
    filter: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response:
    caller = _caller(request)
    offset, token_account = _decode_page_token(pagetoken)
    if account_id is None and token_account is None:
        raise Problem(400, "Property missing or empty. Property: account_id")
    account = _own_account(caller, account_id or token_account)
    page = web.store(request).list_service_ids(
        account,
        name=name,
        filter_expr=filter,
        sort=sort,
        descending=_order(order),
        offset=offset,
        limit=pagesize,
    )
    items = [service_id_json(s) for s in page.items]
    return web.json_response(_list_body(request, "serviceids", page, pagesize, account, items))


@router.get("/v1/serviceids/{sid}", tags=["service IDs"])
async def get_service_id(request: Request, sid: str) -> Response:
    found = web.owned_service_id(web.store(request), _caller(request), sid)
    return web.json_response(service_id_json(found), headers=_etag(found))


@router.put("/v1/serviceids/{sid}", tags=["service IDs"])
async def update_service_id(
    request: Request,
    sid: str,
    body: UpdateServiceId,
    if_match: Annotated[str, Header()],
) -> Response:
    store = web.store(request)
    web.owned_service_id(store, _caller(request), sid)
    updated = store.update_service_id(
        sid,
        if_match=if_match,
        name=body.name,
        description=body.description,
        unique_instance_crns=body.unique_instance_crns,
    )
    return web.json_response(service_id_json(updated), headers=_etag(updated))


@router.delete("/v1/serviceids/{sid}", status_code=204, tags=["service IDs"])
async def delete_service_id(request: Request, sid: str) -> Response:
    store = web.store(request)
    web.owned_service_id(store, _caller(request), sid)
    store.delete_service_id(sid)
    return web.no_content()


@router.post("/v1/serviceids/{sid}/lock", status_code=204, tags=["service IDs"])
async def lock_service_id(request: Request, sid: str) -> Response:
    store = web.store(request)
    web.owned_service_id(store, _caller(request), sid)
    store.set_service_id_locked(sid, True)
    return web.no_content()


@router.delete("/v1/serviceids/{sid}/lock", status_code=204, tags=["service IDs"])
async def unlock_service_id(request: Request, sid: str) -> Response:
    store = web.store(request)
    web.owned_service_id(store, _caller(request), sid)
    store.set_service_id_locked(sid, False)
    return web.no_content()


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


def _parse_expiry(text: str | None) -> int | None:
    if text is None:
        return None
    parsed = formats.parse_ibm_time(text)
    if parsed is None:
        raise Problem(
            400, "Validation of property 'expires_at' failed: expected yyyy-MM-ddTHH:mm+0000"
        )
    if parsed <= formats.now():
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
async def create_api_key(
    request: Request,
    body: CreateApiKey,
    entity_lock: Annotated[str | None, Header()] = None,
    entity_disable: Annotated[str | None, Header()] = None,
) -> Response:
    caller = _caller(request)
    store = web.store(request)
    owner = _owner(store, caller, body.iam_id)
    _own_account(caller, body.account_id)
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
        expires_at=_parse_expiry(body.expires_at),
        created_by=caller.iam_id,
    )
    return web.json_response({**api_key_json(key), "apikey": value}, 201, _etag(key))


@router.get("/v1/apikeys", tags=["API keys"])
@router.get("/v1/apikeys/", include_in_schema=False)
async def list_api_keys(
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
) -> Response:
    caller = _caller(request)
    offset, token_account = _decode_page_token(pagetoken)
    account = _own_account(caller, account_id or token_account)
    store = web.store(request)
    owner = None
    if iam_id is not None:
        owner = _owner(store, caller, iam_id).iam_id
    elif scope == "entity":
        owner = caller.iam_id
    page = store.list_api_keys(
        account,
        iam_id=owner,
        owner_kind=type,
        filter_expr=filter,
        sort=sort,
        descending=_order(order),
        offset=offset,
        limit=pagesize,
    )
    items = [api_key_json(k) for k in page.items]
    return web.json_response(_list_body(request, "apikeys", page, pagesize, account, items))


@router.get("/v1/apikeys/details", tags=["API keys"])
async def api_key_details(
    request: Request,
    iam_apikey: Annotated[str, Header()],
) -> Response:
    caller = _caller(request)
    store = web.store(request)
    found = store.api_key_by_value(iam_apikey)
    if found is None:
        raise Problem(404, "API key not found")
    if found.account_id != caller.account_id:
        raise Problem(403, "You are not allowed to access this API key")
    return web.json_response(api_key_json(found), headers=_etag(found))


@router.get("/v1/apikeys/{kid}", tags=["API keys"])
async def get_api_key(request: Request, kid: str) -> Response:
    store = web.store(request)
    found = web.owned_api_key(store, _caller(request), kid)
    return web.json_response(_with_value(store, found), headers=_etag(found))


@router.put("/v1/apikeys/{kid}", tags=["API keys"])
async def update_api_key(
    request: Request,
    kid: str,
    body: UpdateApiKey,
    if_match: Annotated[str, Header()],
) -> Response:
    store = web.store(request)
    web.owned_api_key(store, _caller(request), kid)
    updated = store.update_api_key(
        kid,
        if_match=if_match,
        name=body.name,
        description=body.description,
        support_sessions=body.support_sessions,
        action_when_leaked=body.action_when_leaked,
        expires_at=_parse_expiry(body.expires_at),
    )
    return web.json_response(_with_value(store, updated), headers=_etag(updated))


@router.delete("/v1/apikeys/{kid}", status_code=204, tags=["API keys"])
async def delete_api_key(request: Request, kid: str) -> Response:
    store = web.store(request)
    web.owned_api_key(store, _caller(request), kid)
    store.delete_api_key(kid)
    return web.no_content()


def _flag_route(flag: str, value: bool) -> Any:
    async def handler(request: Request, kid: str) -> Response:
        store = web.store(request)
        web.owned_api_key(store, _caller(request), kid)
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
