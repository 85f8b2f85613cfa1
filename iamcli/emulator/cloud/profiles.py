"""The public-cloud Identity API for trusted profiles and the identities that may assume them:
`/v1/profiles`, `/v1/profiles/{id}/identities` (reference/profiles-policies-authz.md §1.1-§1.3,
§1.6). Claim rules and links are in profile_trust.py.

Every route asks the decision engine (authz) with IBM's action names; IBM's roles give
`iam-identity.profile.create` to Administrator, `update` to Editor and up, `delete` to Operator
and up (§4.1). Handlers are plain functions: FastAPI runs them in its thread pool, so the
SQLite calls never hold up the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from .. import formats, web
from ..authz import Resource, decide, require, subject_of
from ..authz.engine import TEMPLATE_MANAGED
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..store import ManagedProfile, Profile, Store, User
from ..store.profiles import ProfileIdentity, account_of_crn
from ..tokens import Caller
from .common import (
    PageSize,
    activity_json,
    caller_of,
    decode_page_token,
    list_body,
    order_desc,
)

router = APIRouter(route_class=LazyRoute)

Name = Annotated[str, Field(max_length=1024)]
Description = Annotated[str, Field(max_length=4096)]
Email = Annotated[str, Field(max_length=320)]
IdentityType = Literal["user", "serviceid", "crn"]
GET = "iam-identity.profile.get"


class CreateProfile(BaseModel):
    name: Name
    account_id: Annotated[str, Field(max_length=256)]
    description: Description | None = None
    email: Email | None = None


class UpdateProfile(BaseModel):
    name: Name | None = None
    description: Description | None = None
    email: Email | None = None


class IdentityRequest(BaseModel):
    identifier: Annotated[str, Field(min_length=1, max_length=1024)]
    type: IdentityType
    accounts: list[Annotated[str, Field(max_length=256)]] | None = Field(None, max_length=100)
    description: Description | None = None


class SetIdentities(BaseModel):
    identities: list[IdentityRequest] = Field(default_factory=list, max_length=100)


# -- shared with profile_trust.py and the token grants ---------------------------------------


def profile_resource(
    account_id: str, profile_id: str | None = None, *, managed: bool = False
) -> Resource:
    attributes = {TEMPLATE_MANAGED: "true"} if managed else {}
    return Resource(
        account_id=account_id, resource_type="profile", resource=profile_id, attributes=attributes
    )


# Whether a change touches what an enterprise template owns of a profile it made.
Touches = Callable[[ManagedProfile], bool]


def permitted_profile(
    request: Request,
    profile_id: str,
    action: str,
    caller: Caller | None = None,
    *,
    touches: Touches | None = None,
) -> Profile:
    """The profile, if it exists (else 404) and the caller may do ACTION on it (else 403);
    TOUCHES says whether the change is one to what a template owns, which the engine refuses."""
    subject = subject_of(caller or caller_of(request))
    store = web.store(request)
    found = store.profile(profile_id)
    if found is None:
        raise Problem(404, f"Trusted profile {profile_id[:100]} not found")
    managed = store.managed_profile(found.id) if touches is not None else None
    resource = profile_resource(
        found.account_id,
        found.id,
        managed=managed is not None and touches is not None and touches(managed),
    )
    require(subject, action, resource)
    return found


def the_whole_profile(managed: ManagedProfile) -> bool:
    return True


def profile_json(p: Profile, managed: ManagedProfile | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": p.id,
        "entity_tag": p.entity_tag,
        "crn": formats.cloud_crn(p.account_id, "profile", p.id),
        "name": p.name,
        "created_at": formats.ibm_time(p.created_at),
        "modified_at": formats.ibm_time(p.modified_at),
        "iam_id": p.iam_id,
        "account_id": p.account_id,
    }
    if p.description is not None:
        body["description"] = p.description
    if p.email is not None:
        body["email"] = p.email
    if managed is not None:
        body["template_id"] = managed.template_id
        body["assignment_id"] = managed.assignment_id
    return body


def identity_json(i: ProfileIdentity) -> dict[str, Any]:
    body: dict[str, Any] = {"iam_id": i.iam_id, "identifier": i.identifier, "type": i.type}
    if i.accounts is not None:
        body["accounts"] = list(i.accounts)
    if i.description is not None:
        body["description"] = i.description
    return body


# -- profiles ----------------------------------------------------------------------------------


@router.post("/v1/profiles", status_code=201, tags=["trusted profiles"])
def create_profile(request: Request, body: CreateProfile) -> Response:
    caller = caller_of(request)
    store = web.store(request)
    # IBM answers 400 for an account that does not exist (PSIT `account_id: "invalid"`);
    # another existing account is the engine's to refuse.
    if body.account_id != caller.account_id and not store.account_exists(body.account_id):
        raise Problem(400, "Validation of property 'account_id' failed: no such account")
    require(subject_of(caller), "iam-identity.profile.create", profile_resource(body.account_id))
    created = store.create_profile(
        account_id=body.account_id,
        name=body.name,
        description=body.description,
        email=body.email,
        created_by=caller.iam_id,
    )
    return web.json_response(profile_json(created), 201, {"ETag": created.entity_tag})


@router.get("/v1/profiles", tags=["trusted profiles"])
def list_profiles(
    request: Request,
    account_id: Annotated[str | None, Query(max_length=256)] = None,
    name: Annotated[str | None, Query(max_length=1024)] = None,
    pagesize: PageSize = 20,
    sort: Literal["name", "description", "created_at", "modified_at"] | None = None,
    order: Literal["asc", "desc"] | None = None,
    include_history: bool = False,
    pagetoken: Annotated[str | None, Query(max_length=1024)] = None,
    filter: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response:
    caller = caller_of(request)
    start = decode_page_token(request, pagetoken)
    offset, token_account = start.offset, start.account
    account = account_id or token_account
    if account is None:
        raise Problem(400, "Property missing or empty. Property: account_id")
    subject = subject_of(caller)
    if subject.account_id != account:
        raise Problem(403, "You are not allowed to list this account's trusted profiles")
    everything = decide(subject, GET, profile_resource(account)).permitted
    page = web.store(request).list_profiles(
        account,
        name=name,
        filter_expr=filter,
        sort=sort,
        descending=order_desc(order),
        offset=offset,
        limit=pagesize,
        after=start.after,
    )
    # A caller who may not read every profile sees those it may read: IBM lists only what
    # the caller can see. A page can then hold fewer than pagesize items (UNCONFIRMED whether
    # IBM fills it up).
    store = web.store(request)
    items = [
        profile_json(p, store.managed_profile(p.id))
        for p in page.items
        if everything or decide(subject, GET, profile_resource(p.account_id, p.id)).permitted
    ]
    if include_history:
        # UNCONFIRMED what IBM records; this server keeps no history of profiles.
        for item in items:
            item["history"] = []
    return web.json_response(list_body(request, "profiles", page, pagesize, account, items))


@router.get("/v1/profiles/{profile_id}", tags=["trusted profiles"])
def get_profile(request: Request, profile_id: str, include_activity: bool = False) -> Response:
    found = permitted_profile(request, profile_id, "iam-identity.profile.get")
    store = web.store(request)
    body = profile_json(found, store.managed_profile(found.id))
    if include_activity:
        body["activity"] = activity_json(store, found.iam_id)
    return web.json_response(body, headers={"ETag": found.entity_tag})


@router.put("/v1/profiles/{profile_id}", tags=["trusted profiles"])
def update_profile(
    request: Request,
    profile_id: str,
    body: UpdateProfile,
    if_match: Annotated[str, Header(max_length=256)],
) -> Response:
    permitted_profile(request, profile_id, "iam-identity.profile.update", touches=the_whole_profile)
    updated = web.store(request).update_profile(
        profile_id,
        if_match=if_match,
        name=body.name,
        description=body.description,
        email=body.email,
    )
    return web.json_response(profile_json(updated), headers={"ETag": updated.entity_tag})


@router.delete("/v1/profiles/{profile_id}", status_code=204, tags=["trusted profiles"])
def delete_profile(request: Request, profile_id: str) -> Response:
    permitted_profile(request, profile_id, "iam-identity.profile.delete", touches=the_whole_profile)
    web.store(request).delete_profile(profile_id)
    return web.no_content()


# -- identities --------------------------------------------------------------------------------


def _identities_body(store: Store, p: Profile) -> dict[str, Any]:
    return {
        "entity_tag": p.identities_tag,
        "identities": [identity_json(i) for i in store.identities(p.id)],
    }


def resolve_identity(store: Store, req: IdentityRequest) -> ProfileIdentity:
    """The identity as stored: its IAM ID worked out, and checked to exist.

    UNCONFIRMED: the IAM ID IBM computes for `serviceid` and `crn` identities; we use the
    service ID's own (`iam-ServiceId-…`) and `crn-<CRN>`, the form IBM's tokens give a
    compute resource (§2.6).
    """
    if req.type != "user" and req.accounts is not None:
        raise Problem(400, "accounts is only valid for identities of type user")
    if req.type == "user":
        user = store.identity(req.identifier)
        if not isinstance(user, User):
            raise Problem(400, f"No user with IAM ID {req.identifier[:100]}")
        return ProfileIdentity(
            "user",
            user.iam_id,
            user.iam_id,
            None if req.accounts is None else tuple(req.accounts),
            req.description,
        )
    if req.type == "serviceid":
        sid = store.service_id(req.identifier)
        if sid is None:
            raise Problem(400, f"No service ID {req.identifier[:100]}")
        # A service ID without a description of its own is described by the service ID's.
        return ProfileIdentity(
            "serviceid", sid.id, sid.iam_id, None, req.description or sid.description
        )
    if account_of_crn(req.identifier) is None:
        raise Problem(400, "identifier must be a CRN with an account (crn:v1:…:a/<account>:…)")
    return ProfileIdentity("crn", req.identifier, "crn-" + req.identifier, None, req.description)


@router.get("/v1/profiles/{profile_id}/identities", tags=["trusted profiles"])
def get_identities(request: Request, profile_id: str) -> Response:
    found = permitted_profile(request, profile_id, "iam-identity.profile.get")
    body = _identities_body(web.store(request), found)
    return web.json_response(body, headers={"ETag": found.identities_tag})


@router.put("/v1/profiles/{profile_id}/identities", tags=["trusted profiles"])
def set_identities(
    request: Request,
    profile_id: str,
    body: SetIdentities,
    if_match: Annotated[str, Header(max_length=256)],
) -> Response:
    store = web.store(request)
    # Who may change the profile is settled before the identities are looked up, so that a
    # stranger cannot learn from the answer which service IDs and users exist.
    permitted_profile(request, profile_id, "iam-identity.profile.update")
    wanted = [resolve_identity(store, i) for i in body.identities]
    keys = {(i.type, i.identifier) for i in wanted}

    def touches(m: ManagedProfile) -> bool:
        dropped = not m.identities <= keys and not m.may_remove("identities")
        if not m.may_remove("identities"):
            # Keeping a template's identity under its key but with other accounts or another
            # description is changing it, too.
            current = {(i.type, i.identifier): i for i in store.identities(profile_id)}
            dropped = dropped or any(
                (i.type, i.identifier) in m.identities
                and current.get((i.type, i.identifier)) not in (None, i)
                for i in wanted
            )
        return dropped or (not keys <= m.identities and not m.may_add("identities"))

    permitted_profile(request, profile_id, "iam-identity.profile.update", touches=touches)
    updated = store.set_identities(profile_id, wanted, if_match=if_match)
    return web.json_response(
        _identities_body(store, updated), headers={"ETag": updated.identities_tag}
    )


@router.post("/v1/profiles/{profile_id}/identities/{identity_type}", tags=["trusted profiles"])
def add_identity(
    request: Request, profile_id: str, identity_type: IdentityType, body: IdentityRequest
) -> Response:
    caller = caller_of(request)
    if body.type != identity_type:
        raise Problem(400, "The identity's type differs from the identity type of the path")
    permitted_profile(
        request,
        profile_id,
        "iam-identity.profile.update",
        caller,
        touches=lambda m: not m.may_add("identities"),
    )
    store = web.store(request)
    added = store.add_identity(profile_id, resolve_identity(store, body))
    # 200, not 201: what IBM's own integration test expects (PSIT test_set_identity).
    return web.json_response(identity_json(added))


@router.get(
    "/v1/profiles/{profile_id}/identities/{identity_type}/{identifier_id:path}",
    tags=["trusted profiles"],
)
def get_identity(
    request: Request, profile_id: str, identity_type: IdentityType, identifier_id: str
) -> Response:
    permitted_profile(request, profile_id, "iam-identity.profile.get")
    found = web.store(request).profile_identity(profile_id, identity_type, identifier_id)
    if found is None:
        raise Problem(404, f"The trusted profile does not trust {identifier_id[:100]}")
    return web.json_response(identity_json(found))


@router.delete(
    "/v1/profiles/{profile_id}/identities/{identity_type}/{identifier_id:path}",
    status_code=204,
    tags=["trusted profiles"],
)
def delete_identity(
    request: Request, profile_id: str, identity_type: IdentityType, identifier_id: str
) -> Response:
    key = (identity_type, identifier_id)
    permitted_profile(
        request,
        profile_id,
        "iam-identity.profile.update",
        touches=lambda m: key in m.identities and not m.may_remove("identities"),
    )
    web.store(request).remove_identity(profile_id, identity_type, identifier_id)
    return web.no_content()
