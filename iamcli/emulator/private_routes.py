"""The private (IBM Cloud Private / Cloud Pak) family: `/iam-token/*` and the identity
provider's password login (reference/icp-iam.md, seeds/004).

Where ICP's behaviour is unconfirmed, the choices are:
- list paging takes `currentPage` (1-based) and `pageSize` (1-100, default 20), the names the
  responses use; a page shorter than `pageSize` is the last one;
- `boundTo` is required to list API keys (as IBM's older API answered "boundTo is missing");
- creates answer 201, deletes 204; reads never return an API key's value, because only its
  hash is kept (the ICP 3.1 samples show `apiKey` on reads);
- PUT honours an `If-Match` entity tag when one is sent, and ignores its absence.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from . import formats, web
from .problems import Problem
from .store import ApiKey, Identity, ServiceId, Store, User
from .tokens import APIKEY_GRANT, Caller

router = APIRouter()

CurrentPage = Annotated[int, Query(alias="currentPage", ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(alias="pageSize", ge=1, le=100)]

_TOKEN_FORM = web.form_body_schema(
    {
        "grant_type": f"{APIKEY_GRANT} or refresh_token",
        "apikey": "the API key",
        "refresh_token": "a refresh token",
        "response_type": "cloud_iam",
    },
    ["grant_type"],
)
# Optional: an empty POST is an empty form, answered {"active": false} like any other.
_INTROSPECT_FORM = web.form_body_schema(
    {"token": "an access token", "apikey": "an API key"}, [], body_required=False
)
_PASSWORD_FORM = web.form_body_schema(
    {
        "grant_type": "password or refresh_token",
        "username": "user name",
        "password": "password",
        "refresh_token": "a refresh token",
        "scope": "openid",
    },
    ["grant_type"],
)


def _cluster(request: Request) -> str:
    name: str = request.app.state.settings.cluster_name
    return name


def _issuer(request: Request) -> str:
    return web.base_url(request) + "/iam-token/oidc/token"


# -- tokens --------------------------------------------------------------------------------


@router.post("/iam-token/oidc/token", openapi_extra=_TOKEN_FORM, tags=["private tokens"])
async def token(request: Request) -> Response:
    form = await web.read_form(request)
    tokens = web.tokens(request)
    grant = form.get("grant_type", "")
    identity: Identity
    api_key_id: str | None
    if grant == APIKEY_GRANT:
        identity, key = tokens.identity_for_api_key(form.get("apikey", ""))
        account_id, api_key_id, claim_grant = key.account_id, key.id, grant
    elif grant == "refresh_token":
        identity, refresh = tokens.identity_for_refresh_token(
            form.get("refresh_token", ""), client_id="default"
        )
        account_id, api_key_id, claim_grant = (
            refresh.account_id,
            refresh.api_key_id,
            refresh.grant_type,
        )
    else:
        raise Problem(
            400,
            f"Validation of property 'grant_type' with value '{grant[:100]}' "
            f"failed. Valid values: '{APIKEY_GRANT}, refresh_token'",
            code="BXNIM0106E",
        )
    minted = tokens.mint(
        identity,
        account_id,
        family="private",
        issuer=_issuer(request),
        grant_type=claim_grant,
        client_id="default",
    )
    # ICP clients read a refresh token from this endpoint without client credentials.
    refresh_token = tokens.new_refresh_token(
        identity, account_id, api_key_id=api_key_id, client_id="default", grant_type=claim_grant
    )
    return web.json_response(
        {
            "access_token": minted.access_token,
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "expires_in": minted.expires_at - minted.issued_at,
            "expiration": minted.expires_at,
            "scope": "openid",
        }
    )


@router.post("/iam-token/oidc/introspect", openapi_extra=_INTROSPECT_FORM, tags=["private tokens"])
async def introspect(request: Request) -> Response:
    # Always 200: ICP's clients tell a bad token from a good one by `active` alone.
    try:
        form = await web.read_form(request)
    except Problem:
        return web.json_response({"active": False})
    tokens = web.tokens(request)
    if form.get("token"):
        try:
            caller = tokens.caller("Bearer " + form["token"], allow_opaque=True)
        except Problem:
            return web.json_response({"active": False})
        claims = dict(caller.claims)
        claims.setdefault("iss", _issuer(request))
        claims.setdefault("account", {"bss": caller.account_id})
        if "realmid" in claims:
            # ICP's introspection spells it realmId (seeds/004), unlike the token.
            claims["realmId"] = claims.pop("realmid")
        return web.json_response({"active": True, **claims})
    if form.get("apikey"):
        try:
            identity, key = tokens.identity_for_api_key(form["apikey"])
        except Problem:
            return web.json_response({"active": False})
        sub = identity.username if isinstance(identity, User) else identity.id
        body: dict[str, Any] = {
            "active": True,
            "iss": _issuer(request),
            "sub": sub,
            "iam_id": identity.iam_id,
            "account": {"bss": key.account_id},
        }
        if isinstance(identity, ServiceId):
            body["sub_type"] = "ServiceId"
        return web.json_response(body)
    return web.json_response({"active": False})


@router.get("/iam-token/oidc/keys", tags=["private tokens"])
async def keys(request: Request) -> Response:
    return web.json_response(web.signer(request).jwks())


@router.post(
    "/idprovider/v1/auth/identitytoken", openapi_extra=_PASSWORD_FORM, tags=["private tokens"]
)
async def identity_token(request: Request) -> Response:
    """A user's password (or refresh token) for an opaque access token and an ID token."""
    form = await web.read_form(request, code="invalid_request")
    store, tokens = web.store(request), web.tokens(request)
    grant = form.get("grant_type", "")
    if grant == "password":
        user = store.check_password(form.get("username", ""), form.get("password", ""))
        if user is None:
            raise Problem(401, "The user name or password is incorrect", code="invalid_grant")
    elif grant == "refresh_token":
        grant_row = store.refresh_grant(form.get("refresh_token", ""))
        found = store.user(grant_row.iam_id) if grant_row else None
        if (
            grant_row is None
            or found is None
            or grant_row.client_id != "idprovider"
            or (grant_row.expires_at <= formats.now())
        ):
            raise Problem(400, "The refresh token is invalid or expired", code="invalid_grant")
        user = found
    else:
        raise Problem(
            400, "grant_type must be password or refresh_token", code="unsupported_grant_type"
        )
    access, expires_at = store.add_opaque_access_token(user.iam_id, user.account_id, tokens.ttl)
    refresh = tokens.new_refresh_token(
        user, user.account_id, api_key_id=None, client_id="idprovider", grant_type="password"
    )
    now = formats.now()
    id_token = tokens.signer.sign(
        {
            "iss": web.base_url(request) + "/oidc/endpoint/OP",
            "aud": "iamcli-serve",
            "sub": user.username,
            "uniqueSecurityName": user.username,
            "realmName": "customRealm",
            "iam_id": user.iam_id,
            "iat": now,
            "exp": expires_at,
        }
    )
    return web.json_response(
        {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": expires_at - now,
            "scope": "openid",
            "refresh_token": refresh,
            "id_token": id_token,
        }
    )


# -- shared pieces -------------------------------------------------------------------------


def _caller(request: Request) -> Caller:
    # Read here rather than declared as a parameter: the bearer token is documented as a
    # security scheme (see openapi.py), and FastAPI's parameter machinery costs on every call.
    return web.tokens(request).caller(request.headers.get("authorization"), allow_opaque=True)


def _page_body(items: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
    return {"currentPage": page, "pageSize": size, "items": items}


def _owner_crn(request: Request, store: Store, iam_id: str) -> str:
    identity = store.identity(iam_id)
    if isinstance(identity, ServiceId):
        return formats.private_service_id_crn(_cluster(request), identity.namespace, identity.id)
    if isinstance(identity, User):
        return formats.private_user_crn(identity.username)
    return ""


# -- service IDs ---------------------------------------------------------------------------


class PrivateCreateServiceId(BaseModel):
    name: str
    description: str | None = None
    boundTo: str | None = None


class PrivateUpdateServiceId(BaseModel):
    name: str | None = None
    description: str | None = None


def service_id_json(request: Request, s: ServiceId) -> dict[str, Any]:
    cluster = _cluster(request)
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
async def create_service_id(request: Request, body: PrivateCreateServiceId) -> Response:
    caller = _caller(request)
    created = web.store(request).create_service_id(
        account_id=caller.account_id,
        name=body.name,
        description=body.description,
        namespace=_namespace(body.boundTo),
        created_by=caller.iam_id,
    )
    return web.json_response(service_id_json(request, created), 201)


@router.get("/iam-token/serviceids/", tags=["private service IDs"])
@router.get("/iam-token/serviceids", include_in_schema=False)
async def list_service_ids(
    request: Request,
    boundTo: str | None = None,
    current_page: CurrentPage = 1,
    page_size: PageSize = 20,
) -> Response:
    caller = _caller(request)
    namespace = None if boundTo is None else _namespace(boundTo)
    page = web.store(request).list_service_ids(
        caller.account_id,
        namespace=namespace,
        offset=(current_page - 1) * page_size,
        limit=page_size,
    )
    items = [service_id_json(request, s) for s in page.items]
    return web.json_response(_page_body(items, current_page, page_size))


@router.get("/iam-token/serviceids/{sid}", tags=["private service IDs"])
async def get_service_id(request: Request, sid: str) -> Response:
    found = web.owned_service_id(web.store(request), _caller(request), sid)
    return web.json_response(service_id_json(request, found))


@router.put("/iam-token/serviceids/{sid}", tags=["private service IDs"])
async def update_service_id(
    request: Request,
    sid: str,
    body: PrivateUpdateServiceId,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    store = web.store(request)
    web.owned_service_id(store, _caller(request), sid)
    updated = store.update_service_id(
        sid, if_match=if_match, name=body.name, description=body.description
    )
    return web.json_response(service_id_json(request, updated))


@router.delete("/iam-token/serviceids/{sid}", status_code=204, tags=["private service IDs"])
async def delete_service_id(request: Request, sid: str) -> Response:
    store = web.store(request)
    web.owned_service_id(store, _caller(request), sid)
    store.delete_service_id(sid)
    return web.no_content()


# -- API keys ------------------------------------------------------------------------------


class PrivateCreateApiKey(BaseModel):
    name: str
    description: str | None = None
    boundTo: str


class PrivateUpdateApiKey(BaseModel):
    name: str | None = None
    description: str | None = None


def api_key_json(request: Request, store: Store, k: ApiKey) -> dict[str, Any]:
    entity: dict[str, Any] = {"boundTo": _owner_crn(request, store, k.iam_id), "name": k.name}
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
        raise Problem(403, "You may only manage your own platform API keys")
    return web.owned_service_id(store, caller, ref)


@router.post("/iam-token/apikeys/", status_code=201, tags=["private API keys"])
@router.post("/iam-token/apikeys", include_in_schema=False)
async def create_api_key(request: Request, body: PrivateCreateApiKey) -> Response:
    caller = _caller(request)
    store = web.store(request)
    owner = _bound_owner(store, caller, body.boundTo)
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
async def list_api_keys(
    request: Request,
    boundTo: str | None = None,
    current_page: CurrentPage = 1,
    page_size: PageSize = 20,
) -> Response:
    caller = _caller(request)
    if not boundTo:
        raise Problem(400, "boundTo is missing")
    store = web.store(request)
    owner = _bound_owner(store, caller, boundTo)
    page = store.list_api_keys(
        caller.account_id,
        iam_id=owner.iam_id,
        offset=(current_page - 1) * page_size,
        limit=page_size,
    )
    items = [api_key_json(request, store, k) for k in page.items]
    return web.json_response(_page_body(items, current_page, page_size))


@router.get("/iam-token/apikeys/{kid}", tags=["private API keys"])
async def get_api_key(request: Request, kid: str) -> Response:
    store = web.store(request)
    found = web.owned_api_key(store, _caller(request), kid)
    return web.json_response(api_key_json(request, store, found))


@router.put("/iam-token/apikeys/{kid}", tags=["private API keys"])
async def update_api_key(
    request: Request,
    kid: str,
    body: PrivateUpdateApiKey,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    store = web.store(request)
    web.owned_api_key(store, _caller(request), kid)
    updated = store.update_api_key(
        kid, if_match=if_match, name=body.name, description=body.description
    )
    return web.json_response(api_key_json(request, store, updated))


@router.delete("/iam-token/apikeys/{kid}", status_code=204, tags=["private API keys"])
async def delete_api_key(request: Request, kid: str) -> Response:
    store = web.store(request)
    web.owned_api_key(store, _caller(request), kid)
    store.delete_api_key(kid)
    return web.no_content()
