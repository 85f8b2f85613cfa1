"""The private family's token endpoints: `/iam-token/oidc/*` and the identity provider's
password login (reference/icp-iam.md, seeds/004)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from .. import formats, web
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..store import Identity, ServiceId, User
from ..tokens import APIKEY_GRANT
from .common import issuer_of

router = APIRouter(route_class=LazyRoute)

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


# -- tokens --------------------------------------------------------------------------------


@router.post("/iam-token/oidc/token", openapi_extra=_TOKEN_FORM, tags=["private tokens"])
async def token(request: Request) -> Response:
    form = await web.read_form(request)
    return await web.off_loop(request, _grant, request, form)


def _grant(request: Request, form: dict[str, str]) -> Response:
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
        issuer=issuer_of(request),
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
    return await web.off_loop(request, _introspect, request, form)


def _introspect(request: Request, form: dict[str, str]) -> Response:
    tokens = web.tokens(request)
    if form.get("token"):
        try:
            caller = tokens.caller("Bearer " + form["token"], allow_opaque=True)
        except Problem:
            return web.json_response({"active": False})
        claims = dict(caller.claims)
        claims.setdefault("iss", issuer_of(request))
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
            "iss": issuer_of(request),
            "sub": sub,
            "iam_id": identity.iam_id,
            "account": {"bss": key.account_id},
        }
        if isinstance(identity, ServiceId):
            body["sub_type"] = "ServiceId"
        return web.json_response(body)
    return web.json_response({"active": False})


# Built from memory: served on the event loop, without a thread hop.
@router.get("/iam-token/oidc/keys", tags=["private tokens"])
async def keys(request: Request) -> Response:
    return web.json_response(web.signer(request).jwks())


@router.post(
    "/idprovider/v1/auth/identitytoken", openapi_extra=_PASSWORD_FORM, tags=["private tokens"]
)
async def identity_token(request: Request) -> Response:
    """A user's password (or refresh token) for an opaque access token and an ID token."""
    form = await web.read_form(request, code="invalid_request")
    password = form.get("grant_type") == "password"
    return await web.off_loop(request, _identity_token, request, form, password=password)


def _identity_token(request: Request, form: dict[str, str]) -> Response:
    store, tokens = web.store(request), web.tokens(request)
    grant = form.get("grant_type", "")
    if grant == "password":
        user = web.check_password(request, form, locked_status=401, code="invalid_grant")
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
