"""The public-cloud token endpoints: `/identity/token`, `/identity/keys`, discovery
(reference/ibmcloud-iam.md §1-2)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from .. import web
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..store import Identity
from ..tokens import APIKEY_GRANT, basic_client, is_cli_client
from . import delegated, profile_grants

router = APIRouter(route_class=LazyRoute)

_RESPONSE_TYPES = {"cloud_iam", "delegated_refresh_token"}
_TOKEN_FORM = web.form_body_schema(
    {
        "grant_type": f"{APIKEY_GRANT}, refresh_token, password, or a profile grant "
        "(urn:ibm:params:oauth:grant-type:assume, …:cr-token)",
        "apikey": "the API key (apikey grant)",
        "refresh_token": "a refresh token (refresh_token grant; needs Basic bx:bx)",
        "username": "user name (password grant; needs Basic bx:bx)",
        "password": "password (password grant)",
        "response_type": "cloud_iam and/or delegated_refresh_token",
        "account": "account ID (refresh_token grant, optional; assume grant with profile_name)",
        "access_token": "the caller's access token (assume grant)",
        "profile_id": "the trusted profile's ID (assume and cr-token grants)",
        "profile_crn": "the trusted profile's CRN (assume and cr-token grants)",
        "profile_name": "the trusted profile's name (assume grant with account; cr-token grant)",
        "cr_token": "a compute resource's token (cr-token grant)",
        "receiver_client_ids": "clients a delegated refresh token is for, comma-separated",
        "delegated_refresh_token_expiry": "seconds a delegated refresh token lives",
    },
    ["grant_type"],
)


# -- tokens --------------------------------------------------------------------------------


@router.post("/identity/token", openapi_extra=_TOKEN_FORM, tags=["token"])
async def token(request: Request) -> Response:
    form = await web.read_form(request)
    password = form.get("grant_type") == "password"
    return await web.off_loop(request, _grant, request, form, password=password)


def _grant(request: Request, form: dict[str, str]) -> Response:
    _check_response_type(form.get("response_type", "cloud_iam"))
    client = basic_client(request.headers.get("authorization"))
    if client is not None and not is_cli_client(client):
        raise Problem(400, "Validation of the client credentials failed", code="BXNIM0106E")
    cli = client is not None
    tokens = web.tokens(request)
    grant = form.get("grant_type", "")
    if grant in profile_grants.GRANTS:
        return web.json_response(profile_grants.grant(request, form, cli=cli))
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
        user = web.check_password(request, form, locked_status=403)
        if user is None:
            raise Problem(
                400, "The credentials you entered for the user are incorrect", code="BXNIM0602E"
            )
        identity, account_id, claim_grant = user, user.account_id, grant
    else:
        raise Problem(
            400,
            f"Validation of property 'grant_type' with value '{grant[:100]}' failed. "
            f"Valid values: '{APIKEY_GRANT}, refresh_token, password, "
            f"{', '.join(profile_grants.GRANTS)}'",
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
    body = {
        "access_token": minted.access_token,
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": minted.expires_at - minted.issued_at,
        "expiration": minted.expires_at,
        "scope": "ibm openid",
    }
    if delegated.requested(form.get("response_type", "")):
        delegated.add(body, web.store(request), form, identity.iam_id, account_id)
    return web.json_response(body)


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


# The key set and the discovery document are built from memory: served on the event loop,
# without a thread hop.
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
            "response_types_supported": ["cloud_iam", "delegated_refresh_token"],
            "grant_types_supported": [
                APIKEY_GRANT,
                "refresh_token",
                "password",
                *profile_grants.GRANTS,
            ],
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
