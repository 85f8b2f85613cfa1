"""What makes a compute resource or a federated user trusted by a profile: its claim rules
(`/v1/profiles/{id}/rules`) and its links to single compute resources (`/v1/profiles/{id}/links`)
(reference/profiles-policies-authz.md §1.4-§1.5).

Bodies are checked before the profile is looked up, as IBM does (a bad rule on an unknown
profile is a 400, a good one a 404; PSGOIT, PSIT).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from .. import formats, web
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..store.profiles import ClaimRule, Condition, LinkFields, ProfileLink, RuleFields
from .common import caller_of
from .profiles import permitted_profile

router = APIRouter(route_class=LazyRoute)

CrType = Literal["VSI", "PVS", "BMS", "IKS_SA", "ROKS_SA", "CE"]
Operator = Literal[
    "EQUALS", "NOT_EQUALS", "EQUALS_IGNORE_CASE", "NOT_EQUALS_IGNORE_CASE", "CONTAINS", "IN"
]
Text = Annotated[str, Field(max_length=1024)]
_KUBERNETES = {"IKS_SA", "ROKS_SA"}


class RuleCondition(BaseModel):
    claim: Annotated[str, Field(min_length=1, max_length=256)]
    operator: Operator
    value: Annotated[str, Field(min_length=1, max_length=4096)]


class RuleBody(BaseModel):
    type: Literal["Profile-SAML", "Profile-CR"]
    conditions: list[RuleCondition] = Field(min_length=1, max_length=50)
    context: dict[str, Any] | None = None
    name: Text | None = None
    realm_name: Text | None = None
    cr_type: CrType | None = None
    expiration: Annotated[int, Field(ge=0, le=86400 * 365)] | None = None


class LinkTarget(BaseModel):
    crn: Annotated[str, Field(min_length=1, max_length=1024)]
    namespace: Text | None = None
    name: Text | None = None
    component_type: Text | None = None
    component_name: Text | None = None


class LinkBody(BaseModel):
    cr_type: CrType
    link: LinkTarget
    name: Text | None = None
    is_cross_account: bool | None = None


def rule_fields(body: RuleBody) -> RuleFields:
    if body.type == "Profile-SAML" and not body.realm_name:
        raise Problem(400, "Property missing or empty. Property: realm_name")
    if body.type == "Profile-CR" and body.cr_type is None:
        raise Problem(400, "Property missing or empty. Property: cr_type")
    for c in body.conditions:
        try:
            json.loads(c.value)
        except ValueError:
            raise Problem(
                400,
                f"Validation of property 'conditions.value' failed: the value of claim "
                f"{c.claim[:100]!r} is not a stringified JSON value (a string is '\"text\"')",
            ) from None
    return RuleFields(
        type=body.type,
        conditions=tuple(Condition(c.claim, c.operator, c.value) for c in body.conditions),
        name=body.name,
        realm_name=body.realm_name if body.type == "Profile-SAML" else None,
        cr_type=body.cr_type if body.type == "Profile-CR" else None,
        expiration=body.expiration,
    )


def rule_json(r: ClaimRule) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": r.id,
        "entity_tag": r.entity_tag,
        "created_at": formats.ibm_time(r.created_at),
        "modified_at": formats.ibm_time(r.modified_at),
        "type": r.type,
        "expiration": r.expiration,
        "conditions": [
            {"claim": c.claim, "operator": c.operator, "value": c.value} for c in r.conditions
        ],
    }
    for key in ("name", "realm_name", "cr_type"):
        value = getattr(r, key)
        if value is not None:
            body[key] = value
    return body


def link_json(link: ProfileLink) -> dict[str, Any]:
    target: dict[str, Any] = {"crn": link.crn}
    for key, value in (
        ("namespace", link.namespace),
        ("name", link.link_name),
        ("component_type", link.component_type),
        ("component_name", link.component_name),
    ):
        if value is not None:
            target[key] = value
    body: dict[str, Any] = {
        "id": link.id,
        "entity_tag": link.entity_tag,
        "created_at": formats.ibm_time(link.created_at),
        "modified_at": formats.ibm_time(link.modified_at),
        "cr_type": link.cr_type,
        "is_cross_account": link.is_cross_account,
        "link": target,
    }
    if link.name is not None:
        body["name"] = link.name
    return body


# -- claim rules -------------------------------------------------------------------------------


@router.post("/v1/profiles/{profile_id}/rules", status_code=201, tags=["trusted profiles"])
def create_rule(request: Request, profile_id: str, body: RuleBody) -> Response:
    caller = caller_of(request)  # a stranger learns nothing, not even what is malformed
    fields = rule_fields(body)
    permitted_profile(
        request,
        profile_id,
        caller=caller,
        action="iam-identity.profile.update",
        touches=lambda m: not m.may_add("rules"),
    )
    created = web.store(request).create_rule(profile_id, fields)
    return web.json_response(rule_json(created), 201, {"ETag": created.entity_tag})


@router.get("/v1/profiles/{profile_id}/rules", tags=["trusted profiles"])
def list_rules(request: Request, profile_id: str) -> Response:
    permitted_profile(request, profile_id, "iam-identity.profile.get")
    rules = web.store(request).rules(profile_id)
    return web.json_response({"rules": [rule_json(r) for r in rules]})


@router.get("/v1/profiles/{profile_id}/rules/{rule_id}", tags=["trusted profiles"])
def get_rule(request: Request, profile_id: str, rule_id: str) -> Response:
    permitted_profile(request, profile_id, "iam-identity.profile.get")
    found = web.store(request).rule(profile_id, rule_id)
    if found is None:
        raise Problem(404, f"Claim rule {rule_id[:100]} not found")
    return web.json_response(rule_json(found), headers={"ETag": found.entity_tag})


@router.put("/v1/profiles/{profile_id}/rules/{rule_id}", tags=["trusted profiles"])
def update_rule(
    request: Request,
    profile_id: str,
    rule_id: str,
    body: RuleBody,
    if_match: Annotated[str, Header(max_length=256)],
) -> Response:
    caller = caller_of(request)  # a stranger learns nothing, not even what is malformed
    fields = rule_fields(body)
    permitted_profile(
        request,
        profile_id,
        caller=caller,
        action="iam-identity.profile.update",
        touches=lambda m: rule_id in m.rules,
    )
    updated = web.store(request).update_rule(profile_id, rule_id, fields, if_match=if_match)
    return web.json_response(rule_json(updated), headers={"ETag": updated.entity_tag})


@router.delete(
    "/v1/profiles/{profile_id}/rules/{rule_id}", status_code=204, tags=["trusted profiles"]
)
def delete_rule(request: Request, profile_id: str, rule_id: str) -> Response:
    permitted_profile(
        request,
        profile_id,
        "iam-identity.profile.update",
        touches=lambda m: rule_id in m.rules and not m.may_remove("rules"),
    )
    web.store(request).delete_rule(profile_id, rule_id)
    return web.no_content()


# -- links -------------------------------------------------------------------------------------


def _link_fields(body: LinkBody) -> LinkFields:
    target = body.link
    if body.cr_type in _KUBERNETES and not (target.namespace and target.name):
        raise Problem(400, f"A link of type {body.cr_type} needs link.namespace and link.name")
    if body.cr_type == "CE" and not (target.component_type and target.component_name):
        raise Problem(400, "A link of type CE needs link.component_type and link.component_name")
    kubernetes, code_engine = body.cr_type in _KUBERNETES, body.cr_type == "CE"
    return LinkFields(
        cr_type=body.cr_type,
        crn=target.crn,
        name=body.name,
        is_cross_account=bool(body.is_cross_account),
        namespace=target.namespace if kubernetes else None,
        link_name=target.name if kubernetes else None,
        component_type=target.component_type if code_engine else None,
        component_name=target.component_name if code_engine else None,
    )


@router.post("/v1/profiles/{profile_id}/links", status_code=201, tags=["trusted profiles"])
def create_link(request: Request, profile_id: str, body: LinkBody) -> Response:
    caller = caller_of(request)  # a stranger learns nothing, not even what is malformed
    fields = _link_fields(body)
    permitted_profile(
        request,
        profile_id,
        caller=caller,
        action="iam-identity.profile.linkToResource",
        # A link trusts compute resources as a Profile-CR rule does: a template that lets the
        # child add no rules lets it add no links either.
        touches=lambda m: not m.may_add("rules"),
    )
    created = web.store(request).create_link(profile_id, fields)
    return web.json_response(link_json(created), 201, {"ETag": created.entity_tag})


@router.get("/v1/profiles/{profile_id}/links", tags=["trusted profiles"])
def list_links(request: Request, profile_id: str) -> Response:
    permitted_profile(request, profile_id, "iam-identity.profile.get")
    links = web.store(request).links(profile_id)
    return web.json_response({"links": [link_json(link) for link in links]})


@router.delete("/v1/profiles/{profile_id}/links", status_code=204, tags=["trusted profiles"])
def delete_links_by_parameters(
    request: Request,
    profile_id: str,
    type: CrType,
    crn: Annotated[str | None, Query(max_length=1024)] = None,
    namespace: Annotated[str | None, Query(max_length=1024)] = None,
    name: Annotated[str | None, Query(max_length=1024)] = None,
    component_type: Annotated[str | None, Query(max_length=1024)] = None,
    component_name: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response:
    caller = caller_of(request)
    if crn is None:
        # Without the CRN every link of the type would go; IBM's SDK documents crn as the
        # resource to unlink, so it is required here (UNCONFIRMED whether IBM requires it).
        raise Problem(400, "Property missing or empty. Property: crn")
    permitted_profile(request, profile_id, "iam-identity.profile.linkToResource", caller)
    given = {
        "crn": crn,
        "namespace": namespace,
        "link_name": name,
        "component_type": component_type,
        "component_name": component_name,
    }
    match = {k: v for k, v in given.items() if v is not None}
    web.store(request).delete_links_matching(profile_id, type, match)
    return web.no_content()


@router.get("/v1/profiles/{profile_id}/links/{link_id}", tags=["trusted profiles"])
def get_link(request: Request, profile_id: str, link_id: str) -> Response:
    permitted_profile(request, profile_id, "iam-identity.profile.get")
    found = web.store(request).link(profile_id, link_id)
    if found is None:
        raise Problem(404, f"Link {link_id[:100]} not found")
    return web.json_response(link_json(found), headers={"ETag": found.entity_tag})


@router.delete(
    "/v1/profiles/{profile_id}/links/{link_id}", status_code=204, tags=["trusted profiles"]
)
def delete_link(request: Request, profile_id: str, link_id: str) -> Response:
    permitted_profile(request, profile_id, "iam-identity.profile.linkToResource")
    web.store(request).delete_link(profile_id, link_id)
    return web.no_content()
