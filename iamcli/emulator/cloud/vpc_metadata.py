"""The VPC instance metadata service's identity operations, answered on the server's own port
when `iamcli serve --vpc-instance CRN[,attr=value…]` names the instance to play
(reference/profiles-policies-authz.md §2.3):

1. `PUT /instance_identity/v1/token?version=2022-03-01` (or `PUT /identity/v1/token` from
   version 2025-08-26) with `Metadata-Flavor: ibm` and `{"expires_in": N}` gives an instance
   identity token;
2. `POST /instance_identity/v1/iam_token` (or `POST /identity/v1/iam_tokens`) with that token as
   bearer, and optionally `{"trusted_profile": {"id"|"crn"|"name": …}}`, gives an IAM token of a
   profile that is linked to the instance or whose VSI claim rules it meets.

On a real instance the service is link-local; here anyone who can reach the port can ask, so
the server warns when it listens beyond loopback with an instance configured.

Choices where IBM's behaviour is UNCONFIRMED: with no trusted_profile the instance's default
profile is the oldest profile linked to it (IBM keeps a default per instance), else the only
profile whose rules it meets; errors use the VPC API's shape `{"errors": [{"code", "message"}],
"trace"}` with codes of our choosing; both token operations answer 201 (IBM's SDKs take any
2xx). A body is read as JSON whatever its Content-Type, as IBM's own `curl -d '{}'` examples send
it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from .. import formats, web
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..profile_match import ComputeResource, link_trusts, rule_trusts
from ..signer import InvalidToken
from ..store import Profile, Store
from ..store.profiles import account_of_crn
from . import profile_grants

router = APIRouter(route_class=LazyRoute)

IDENTITY_TOKEN_TYPE = "instance_identity"
MIN_LIFETIME, MAX_LIFETIME, DEFAULT_LIFETIME = 5, 3600, 300
_ATTRIBUTES = (
    "name",
    "resource",
    "resource_group_id",
    "resource_group_name",
    "instance_group_name",
    "region",
    "zone",
    "subnet_id",
    "vpc_id",
)


@dataclass(frozen=True)
class VpcInstance:
    crn: str
    attributes: tuple[tuple[str, str], ...]

    def resource(self) -> ComputeResource:
        claims = dict(self.attributes)
        claims["crn"] = self.crn
        return ComputeResource("VSI", self.crn, claims, claims["name"])


def parse_vpc_instance(text: str) -> VpcInstance:
    """`CRN[,attr=value…]`; ValueError with a one-line reason otherwise.

    The instance ID (`resource`), `region` and `zone` default from the CRN
    (`crn:v1:bluemix:public:is:<zone>:a/<account>::instance:<id>`)."""
    crn, *pairs = text.split(",")
    parts = crn.split(":")
    if account_of_crn(crn) is None or len(parts) != 10 or not parts[9]:
        raise ValueError(
            "--vpc-instance needs an instance CRN with an account: "
            "crn:v1:bluemix:public:is:<zone>:a/<account>::instance:<id>"
        )
    attrs: dict[str, str] = {"resource": parts[9], "name": parts[9]}
    if parts[5]:
        attrs["zone"] = parts[5]
        attrs["region"] = parts[5].rsplit("-", 1)[0] if parts[5].count("-") > 1 else parts[5]
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in _ATTRIBUTES or not value:
            raise ValueError(
                f"--vpc-instance attribute {pair[:100]!r} is not one of "
                f"{', '.join(_ATTRIBUTES)} given as attr=value"
            )
        attrs[key] = value
    return VpcInstance(crn, tuple(sorted(attrs.items())))


def _error(status: int, code: str, message: str, request: Request) -> Response:
    body = {"errors": [{"code": code, "message": message}], "trace": web.request_id(request)}
    return Response(json.dumps(body), status_code=status, media_type="application/json")


def _instance(request: Request) -> VpcInstance | Response:
    instance: VpcInstance | None = request.app.state.settings.vpc_instance
    if instance is None:
        return _error(
            404, "not_found", "This server plays no VPC instance (--vpc-instance)", request
        )
    if request.headers.get("metadata-flavor", "").lower() != "ibm":
        return _error(
            400, "missing_metadata_flavor", "Header Metadata-Flavor: ibm is required", request
        )
    if not request.query_params.get("version"):
        return _error(400, "missing_version", "Query parameter version is required", request)
    return instance


async def _json_body(request: Request) -> dict[str, Any] | None:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        return {"_invalid": True}
    return body if isinstance(body, dict) else {"_invalid": True}


def _stamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _token_body(token: str, iat: int, exp: int) -> dict[str, Any]:
    return {
        "access_token": token,
        "created_at": _stamp(iat),
        "expires_at": _stamp(exp),
        "expires_in": exp - iat,
    }


@router.put("/instance_identity/v1/token", tags=["VPC instance metadata"])
@router.put("/identity/v1/token", tags=["VPC instance metadata"])
async def instance_identity_token(request: Request) -> Response:
    instance = _instance(request)
    if isinstance(instance, Response):
        return instance
    body = await _json_body(request) or {}
    lifetime = body.get("expires_in", DEFAULT_LIFETIME)
    if (
        body.get("_invalid")
        or not isinstance(lifetime, int)
        or isinstance(lifetime, bool)
        or not MIN_LIFETIME <= lifetime <= MAX_LIFETIME
    ):
        return _error(
            400,
            "invalid_request",
            f"expires_in must be a number of seconds from {MIN_LIFETIME} to {MAX_LIFETIME}",
            request,
        )
    iat = formats.now()
    claims = {
        # An IAM ID no identity has, so that the token is never a bearer token of the API.
        "iam_id": "crn-" + instance.crn,
        "sub": instance.crn,
        "token_type": IDENTITY_TOKEN_TYPE,
        "account": {"bss": account_of_crn(instance.crn)},
        "iat": iat,
        "exp": iat + lifetime,
        "iss": web.base_url(request) + "/instance_identity",
    }
    token = await web.off_loop(request, web.signer(request).sign, claims)
    return web.json_response(_token_body(token, iat, iat + lifetime), 201)


@router.post("/instance_identity/v1/iam_token", tags=["VPC instance metadata"])
@router.post("/identity/v1/iam_tokens", tags=["VPC instance metadata"])
async def instance_iam_token(request: Request) -> Response:
    instance = _instance(request)
    if isinstance(instance, Response):
        return instance
    body = await _json_body(request) or {}
    wanted = body.get("trusted_profile")
    if body.get("_invalid") or (wanted is not None and not isinstance(wanted, dict)):
        return _error(400, "invalid_request", "The body is not a trusted_profile request", request)
    try:
        answer = await web.off_loop(request, _profile_token, request, instance, wanted or {})
    except Problem as problem:
        code = {401: "invalid_token", 403: "forbidden"}.get(problem.status, "invalid_request")
        return _error(problem.status, code, problem.message, request)
    return web.json_response(answer, 201)


def _check_identity_token(request: Request, instance: VpcInstance) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        claims = web.signer(request).verify(token.strip()) if scheme.lower() == "bearer" else {}
    except InvalidToken:
        claims = {}
    if claims.get("token_type") != IDENTITY_TOKEN_TYPE or claims.get("sub") != instance.crn:
        raise Problem(401, "An instance identity token is required")


def _profile_token(
    request: Request, instance: VpcInstance, wanted: dict[str, Any]
) -> dict[str, Any]:
    _check_identity_token(request, instance)
    store = web.store(request)
    resource = instance.resource()
    fields = {k: wanted.get(k) for k in ("id", "crn", "name")}
    if sum(1 for v in fields.values() if v) > 1:
        raise Problem(400, "Give one of trusted_profile id, crn or name")
    if any(v is not None and not isinstance(v, str) for v in fields.values()):
        raise Problem(400, "trusted_profile id, crn and name are strings")
    if any(fields.values()):
        profile = profile_grants.named_profile(
            store,
            profile_id=fields["id"],
            profile_crn=fields["crn"],
            profile_name=fields["name"],
            account=resource.account_id,
        )
        profile_grants.require_trust(store, profile, resource)
    else:
        profile = _default_profile(store, resource)
    issuer = web.base_url(request) + "/identity"
    form = {"grant_type": profile_grants.CR_TOKEN_GRANT}
    minted = profile_grants.mint(
        request, form, profile, profile_grants.resource_authn(resource), issuer, False
    )
    iat = minted["expiration"] - minted["expires_in"]
    return _token_body(minted["access_token"], iat, minted["expiration"])


def _default_profile(store: Store, resource: ComputeResource) -> Profile:
    for link in store.links_to(resource.crn):
        if link_trusts(link, resource):
            found = store.profile(link.profile_id)
            if found is not None:
                return found
    account = resource.account_id or ""
    matching: list[Profile] = [
        p
        for p in store.list_profiles(account, limit=1000).items
        if any(rule_trusts(r, resource) for r in store.rules(p.id))
    ]
    if len(matching) == 1:
        return matching[0]
    raise Problem(
        400 if not matching else 409,
        "No trusted profile is linked to the instance"
        if not matching
        else "Several trusted profiles match the instance: name one with trusted_profile",
    )
