"""The token grants that give a trusted profile's token (reference/profiles-policies-authz.md
§2.1-§2.2, §2.6): `urn:ibm:params:oauth:grant-type:assume` (an identity the profile trusts
swaps its own token for the profile's) and `urn:ibm:params:oauth:grant-type:cr-token` (a
compute resource proves itself with a token of a trusted issuer). The token endpoint
(tokens.py) hands these grants here.

Choices where IBM's behaviour is UNCONFIRMED:
- Refusals: a missing or malformed field is a 400 BXNIM0106E; a profile that does not exist is
  a 400 (as IBM answers an unknown API key); a credential the profile does not trust is a 403.
- `assume` resolves `profile_id`/`profile_crn` in any account and then requires the caller in
  the profile's identities; a `user` identity may assume from the accounts its `accounts` list
  names, or from the profile's own account when it lists none.
- No refresh token is issued for a profile (`not_supported`); IBM's SDKs discard it anyway and
  ask again from the underlying credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from .. import formats, web
from ..compute_resources import UntrustedToken, Verifier
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..profile_match import ComputeResource, link_trusts, rule_trusts
from ..store import Profile, ServiceId, Store, User
from ..store.profiles import ProfileIdentity
from ..tokens import Caller
from . import delegated
from .profiles import profile_json

ASSUME_GRANT = "urn:ibm:params:oauth:grant-type:assume"
CR_TOKEN_GRANT = "urn:ibm:params:oauth:grant-type:cr-token"
GRANTS = (ASSUME_GRANT, CR_TOKEN_GRANT)

router = APIRouter(route_class=LazyRoute)
_PROFILES_FORM = web.form_body_schema(
    {"access_token": "an access token of the identity that would assume"}, ["access_token"]
)


def _missing(field: str) -> Problem:
    return Problem(400, f"Property missing or empty. Property: {field}", code="BXNIM0106E")


def _no_profile() -> Problem:
    return Problem(400, "The trusted profile was not found", code="BXNIM0106E")


def _untrusted(why: str) -> Problem:
    return Problem(403, f"Not allowed to apply the trusted profile: {why}")


def grant(request: Request, form: Mapping[str, str], *, cli: bool) -> dict[str, Any]:
    """The token body for one of GRANTS. It runs SQLite, signature checks and perhaps a JWKS
    fetch: call it off the event loop."""
    issuer = web.base_url(request) + "/identity"
    if form.get("grant_type") == ASSUME_GRANT:
        return _assume(request, dict(form), issuer, cli)
    return _cr_token(request, dict(form), issuer, cli)


# -- which profile -------------------------------------------------------------------------------


def named_profile(
    store: Store,
    *,
    profile_id: str | None,
    profile_crn: str | None,
    profile_name: str | None,
    account: str | None,
) -> Profile:
    """The one profile the fields name; if several are given they must name the same one."""
    found: list[Profile | None] = []
    if profile_id:
        found.append(store.profile(profile_id))
    if profile_crn:
        pid = profile_crn.rsplit(":", 1)[-1]
        by_crn = store.profile(pid)
        if by_crn is not None and formats.cloud_crn(by_crn.account_id, "profile", pid) != (
            profile_crn
        ):
            by_crn = None
        found.append(by_crn)
    if profile_name:
        if not account:
            raise _missing("account")
        found.append(store.profile_by_name(account, profile_name))
    if not found:
        raise _missing("profile_id")
    first = found[0]
    if first is None or any(f is None or f.id != first.id for f in found[1:]):
        raise _no_profile()
    return first


# -- assume --------------------------------------------------------------------------------------


def _assume(request: Request, form: dict[str, str], issuer: str, cli: bool) -> dict[str, Any]:
    tokens = web.tokens(request)
    store = web.store(request)
    caller: Caller
    if form.get("access_token"):
        try:
            caller = tokens.caller("Bearer " + form["access_token"])
        except Problem:
            raise Problem(400, "Provided access token is invalid", code="BXNIM0407E") from None
    elif form.get("refresh_token"):
        if not cli:
            raise Problem(400, "No authorization header found", code="BXNIM0308E")
        identity, grant = tokens.identity_for_refresh_token(form["refresh_token"], client_id="bx")
        caller = Caller(identity, grant.account_id, {}, tokens.engine)
    else:
        raise _missing("access_token")
    profile = named_profile(
        store,
        profile_id=form.get("profile_id"),
        profile_crn=form.get("profile_crn"),
        profile_name=form.get("profile_name"),
        account=form.get("account"),
    )
    identity = caller.identity
    if isinstance(identity, Profile):
        raise _untrusted("a trusted profile cannot assume another one")
    if not _trusted_identity(store, profile, caller):
        raise _untrusted(f"{profile.id} does not trust {caller.iam_id}")
    return mint(request, form, profile, _authn_of(identity), issuer, cli)


def _trusted_identity(store: Store, profile: Profile, caller: Caller) -> bool:
    return any(_admits(profile, e, caller) for e in store.trusts(profile.id, caller.iam_id))


def _admits(profile: Profile, entry: ProfileIdentity, caller: Caller) -> bool:
    if entry.iam_id != caller.iam_id or isinstance(caller.identity, Profile):
        return False
    if entry.type == "user":
        return caller.account_id in (entry.accounts or (profile.account_id,))
    return entry.type == "serviceid"


@router.post("/identity/profiles", openapi_extra=_PROFILES_FORM, tags=["token"])
async def assumable_profiles(request: Request) -> Response:
    """The profiles the bearer of `access_token` may assume, in every account (§2.5)."""
    form = await web.read_form(request)
    return web.json_response(await web.off_loop(request, _assumable, request, form))


def _assumable(request: Request, form: dict[str, str]) -> dict[str, Any]:
    if not form.get("access_token"):
        raise _missing("access_token")
    try:
        caller = web.tokens(request).caller("Bearer " + form["access_token"])
    except Problem:
        raise Problem(400, "Provided access token is invalid", code="BXNIM0407E") from None
    found = [
        profile_json(p)
        for p, entry in web.store(request).profiles_trusting(caller.iam_id)
        if _admits(p, entry, caller)
    ]
    return {"count": len(found), "profiles": found}


def _authn_of(identity: User | ServiceId) -> dict[str, Any]:
    if isinstance(identity, ServiceId):
        return {
            "sub": identity.id,
            "iam_id": identity.iam_id,
            "sub_type": "ServiceId",
            "name": identity.name,
        }
    return {"sub": identity.email, "iam_id": identity.iam_id, "name": identity.name}


# -- cr-token ------------------------------------------------------------------------------------


def verifier(request: Request) -> Verifier:
    v: Verifier = request.app.state.cr_verifier
    return v


def _cr_token(request: Request, form: dict[str, str], issuer: str, cli: bool) -> dict[str, Any]:
    value = form.get("cr_token", "")
    if not value:
        raise _missing("cr_token")
    if not any(form.get(f) for f in ("profile_id", "profile_crn", "profile_name")):
        raise _missing("profile_id")
    check = verifier(request)
    if not check.configured:
        raise Problem(
            400,
            "This server trusts no compute resource token issuer (iamcli serve "
            "--compute-resources FILE)",
            code="BXNIM0106E",
        )
    try:
        resource = check.verify(value)
    except UntrustedToken as exc:
        raise Problem(400, str(exc), code="BXNIM0106E") from None
    profile = named_profile(
        web.store(request),
        profile_id=form.get("profile_id"),
        profile_crn=form.get("profile_crn"),
        profile_name=form.get("profile_name"),
        # A profile name is looked up in the compute resource's account (TOKENAPI).
        account=resource.account_id,
    )
    require_trust(web.store(request), profile, resource)
    return mint(request, form, profile, resource_authn(resource), issuer, cli)


def require_trust(store: Store, profile: Profile, resource: ComputeResource) -> None:
    """A link to the resource trusts it from any account the link allows (links across
    accounts need is_cross_account when made); a claim rule only in the profile's account."""
    if any(link_trusts(link, resource) for link in store.links(profile.id)):
        return
    if resource.account_id == profile.account_id and any(
        rule_trusts(rule, resource) for rule in store.rules(profile.id)
    ):
        return
    raise _untrusted(f"no link or claim rule of {profile.id} matches the compute resource")


def resource_authn(resource: ComputeResource) -> dict[str, Any]:
    return {"sub": resource.crn, "iam_id": resource.iam_id, "name": resource.name}


# -- the profile's token -------------------------------------------------------------------------


def mint(
    request: Request,
    form: Mapping[str, str],
    profile: Profile,
    authn: dict[str, Any],
    issuer: str,
    cli: bool,
) -> dict[str, Any]:
    """A profile token with IBM's claims (§2.6), and the token endpoint's body for it (with a
    delegated refresh token when FORM asks for one)."""
    tokens = web.tokens(request)
    # The profile's activity (include_activity), as every grant records its identity's.
    web.store(request).note_authentication(profile.account_id, profile.iam_id)
    iat = formats.now()
    # The profile's account's access-token lifetime setting, as for every other token.
    exp = iat + tokens.lifetimes(profile.account_id)[0]
    claims: dict[str, Any] = {
        "iam_id": profile.iam_id,
        "id": profile.iam_id,
        "realmid": "iam",
        "identifier": profile.id,
        "name": profile.name,
        "sub": profile.id,
        "sub_type": "Profile",
        "authn": authn,
        "account": {"valid": True, "bss": profile.account_id, "boundary": "global"},
        "iat": iat,
        "exp": exp,
        "iss": issuer,
        "grant_type": form.get("grant_type", ""),
        "scope": "ibm openid",
        "client_id": "bx" if cli else "default",
    }
    body: dict[str, Any] = {
        "access_token": web.signer(request).sign(claims),
        "refresh_token": "not_supported",
        "token_type": "Bearer",
        "expires_in": exp - iat,
        "expiration": exp,
        "scope": "ibm openid",
    }
    if delegated.requested(form.get("response_type", "")):
        delegated.add(body, web.store(request), form, profile.iam_id, profile.account_id)
    return body
