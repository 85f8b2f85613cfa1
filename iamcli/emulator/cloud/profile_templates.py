"""Trusted-profile templates and their assignments (`/v1/profile_templates`,
`/v1/profile_assignments/`): the kind's body and how it is stored; template_routes.py makes
the routes, as for every kind. What an assignment creates in the child account is
store/profile_templates.py's.

IBM's templates establish trust with federated users only, so a template's claim rules are
`Profile-SAML` rules (a `Profile-CR` rule is 400). Identities are checked and resolved to
their IAM IDs when the template version is written, as `/v1/profiles/{id}/identities` does.
A new version that sends none of `profile`, `policy_template_references` and `action_controls`
copies the latest version's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request
from pydantic import BaseModel, Field

from .. import web
from ..problems import Problem
from ..store.profiles import DEFAULT_RULE_EXPIRATION
from .profile_trust import RuleBody, rule_fields
from .profiles import Description, Email, IdentityRequest, identity_json, resolve_identity
from .template_routes import Kind, TemplateBody


class ProfileComponent(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=1024)]
    description: Description | None = None
    email: Email | None = None
    rules: list[RuleBody] | None = Field(None, max_length=20)
    identities: list[IdentityRequest] | None = Field(None, max_length=100)


class PolicyTemplateReference(BaseModel):
    id: Annotated[str, Field(min_length=1, max_length=200)]
    version: Annotated[str, Field(min_length=1, max_length=20)]


class AddRemove(BaseModel):
    add: bool
    remove: bool


class ActionControls(BaseModel):
    identities: AddRemove | None = None
    rules: AddRemove
    policies: AddRemove


class ProfileTemplateBody(TemplateBody):
    profile: ProfileComponent | None = None
    policy_template_references: list[PolicyTemplateReference] | None = Field(None, max_length=100)
    action_controls: ActionControls | None = None


def _rule(body: RuleBody) -> dict[str, Any]:
    if body.type != "Profile-SAML":
        raise Problem(400, "A trusted profile template's rules are Profile-SAML rules")
    fields = rule_fields(body)
    rule: dict[str, Any] = {
        "type": fields.type,
        "realm_name": fields.realm_name,
        "expiration": DEFAULT_RULE_EXPIRATION if fields.expiration is None else fields.expiration,
        "conditions": [
            {"claim": c.claim, "operator": c.operator, "value": c.value} for c in fields.conditions
        ],
    }
    if fields.name is not None:
        rule["name"] = fields.name
    return rule


def _components(request: Request, body: TemplateBody) -> dict[str, Any] | None:
    assert isinstance(body, ProfileTemplateBody)
    parts: dict[str, Any] = {}
    if body.profile is not None:
        profile = body.profile
        store = web.store(request)
        component: dict[str, Any] = {"name": profile.name}
        if profile.description is not None:
            component["description"] = profile.description
        if profile.email is not None:
            component["email"] = profile.email
        component["rules"] = [_rule(r) for r in profile.rules or []]
        identities = [resolve_identity(store, i) for i in profile.identities or []]
        if len({(i.type, i.identifier) for i in identities}) != len(identities):
            raise Problem(400, "An identity is listed twice")
        component["identities"] = [identity_json(i) for i in identities]
        parts["profile"] = component
    if body.policy_template_references is not None:
        parts["policy_template_references"] = [
            r.model_dump() for r in body.policy_template_references
        ]
    if body.action_controls is not None:
        parts["action_controls"] = body.action_controls.model_dump(exclude_none=True)
    return parts or None


PROFILE = Kind(
    name="profile",
    templates="/v1/profile_templates",
    assignments="/v1/profile_assignments/",
    list_key="profile_templates",
    crn_kind="profiletemplate",
    tag="trusted profile templates",
    body=ProfileTemplateBody,
    components=_components,
    render=dict,
)
