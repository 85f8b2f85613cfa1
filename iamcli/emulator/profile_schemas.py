"""The bodies of the trusted-profile routes and the VPC metadata flow, for the OpenAPI document
only (see schemas.py), and their lines of the document's contract (openapi.py)."""

from __future__ import annotations

from pydantic import BaseModel
from pydantic.json_schema import SkipJsonSchema

from .schemas import _Paged


class TrustedProfile(BaseModel):
    id: str
    entity_tag: str
    crn: str
    name: str
    description: str | SkipJsonSchema[None] = None
    email: str | SkipJsonSchema[None] = None
    created_at: str
    modified_at: str
    iam_id: str
    account_id: str
    history: list[dict[str, str]] | SkipJsonSchema[None] = None
    activity: dict[str, str | int] | SkipJsonSchema[None] = None


class TrustedProfilesList(_Paged):
    profiles: list[TrustedProfile]


class RuleConditionBody(BaseModel):
    claim: str
    operator: str
    value: str


class ProfileClaimRule(BaseModel):
    id: str
    entity_tag: str
    created_at: str
    modified_at: str
    name: str | SkipJsonSchema[None] = None
    type: str
    realm_name: str | SkipJsonSchema[None] = None
    expiration: int
    cr_type: str | SkipJsonSchema[None] = None
    conditions: list[RuleConditionBody]


class AssumableProfiles(BaseModel):
    count: int
    profiles: list[TrustedProfile]


class ProfileClaimRuleList(BaseModel):
    rules: list[ProfileClaimRule]


class ProfileLinkLink(BaseModel):
    crn: str
    namespace: str | SkipJsonSchema[None] = None
    name: str | SkipJsonSchema[None] = None
    component_type: str | SkipJsonSchema[None] = None
    component_name: str | SkipJsonSchema[None] = None


class ProfileLink(BaseModel):
    id: str
    entity_tag: str
    created_at: str
    modified_at: str
    name: str | SkipJsonSchema[None] = None
    cr_type: str
    is_cross_account: bool
    link: ProfileLinkLink


class ProfileLinkList(BaseModel):
    links: list[ProfileLink]


class ProfileIdentity(BaseModel):
    iam_id: str
    identifier: str
    type: str
    accounts: list[str] | SkipJsonSchema[None] = None
    description: str | SkipJsonSchema[None] = None


class ProfileIdentities(BaseModel):
    entity_tag: str
    identities: list[ProfileIdentity]


class InstanceToken(BaseModel):
    """An answer of the VPC instance metadata service's token operations."""

    access_token: str
    created_at: str
    expires_at: str
    expires_in: int


class VpcErrorItem(BaseModel):
    code: str
    message: str


class VpcError(BaseModel):
    """An error of the VPC instance metadata operations, in the VPC API's shape."""

    errors: list[VpcErrorItem]
    trace: str


VPC_PATHS = ("/instance_identity/", "/identity/v1/")


def error_model(path: str) -> type[BaseModel] | None:
    """The error body of PATH where it is not its API family's (problems.py)."""
    return VpcError if path.startswith(VPC_PATHS) else None


MODELS: list[type[BaseModel]] = [
    TrustedProfile,
    TrustedProfilesList,
    AssumableProfiles,
    ProfileClaimRule,
    ProfileClaimRuleList,
    ProfileLink,
    ProfileLinkList,
    ProfileIdentity,
    ProfileIdentities,
    InstanceToken,
    VpcError,
]

_CHANGE = (400, 401, 403, 404, 409, 412, 413, 415)
_READ = (401, 403, 404)
_DELETE = (401, 403, 404)
_PROFILE = "/v1/profiles/{profile_id}"
_IDENTITY = _PROFILE + "/identities/{identity_type}/{identifier_id}"

CONTRACT: dict[tuple[str, str], tuple[type[BaseModel] | None, tuple[int, ...]]] = {
    ("post", "/v1/profiles"): (TrustedProfile, (400, 401, 403, 409, 413, 415)),
    ("get", "/v1/profiles"): (TrustedProfilesList, (400, 401, 403)),
    ("get", _PROFILE): (TrustedProfile, (400, *_READ)),
    ("put", _PROFILE): (TrustedProfile, _CHANGE),
    ("delete", _PROFILE): (None, _DELETE),
    ("post", _PROFILE + "/rules"): (ProfileClaimRule, (400, 401, 403, 404, 413, 415)),
    ("get", _PROFILE + "/rules"): (ProfileClaimRuleList, _READ),
    ("get", _PROFILE + "/rules/{rule_id}"): (ProfileClaimRule, _READ),
    ("put", _PROFILE + "/rules/{rule_id}"): (ProfileClaimRule, _CHANGE),
    ("delete", _PROFILE + "/rules/{rule_id}"): (None, _DELETE),
    ("post", _PROFILE + "/links"): (ProfileLink, (400, 401, 403, 404, 413, 415)),
    ("get", _PROFILE + "/links"): (ProfileLinkList, _READ),
    ("delete", _PROFILE + "/links"): (None, (400, *_DELETE)),
    ("get", _PROFILE + "/links/{link_id}"): (ProfileLink, _READ),
    ("delete", _PROFILE + "/links/{link_id}"): (None, _DELETE),
    ("get", _PROFILE + "/identities"): (ProfileIdentities, _READ),
    ("put", _PROFILE + "/identities"): (ProfileIdentities, _CHANGE),
    ("post", _PROFILE + "/identities/{identity_type}"): (ProfileIdentity, _CHANGE),
    ("get", _IDENTITY): (ProfileIdentity, (400, *_READ)),
    ("delete", _IDENTITY): (None, (400, 401, 403, 404, 409)),
    ("post", "/identity/profiles"): (AssumableProfiles, (400, 413)),
    ("put", "/instance_identity/v1/token"): (InstanceToken, (400, 404)),
    ("put", "/identity/v1/token"): (InstanceToken, (400, 404)),
    ("post", "/instance_identity/v1/iam_token"): (InstanceToken, (400, 401, 403, 404, 409)),
    ("post", "/identity/v1/iam_tokens"): (InstanceToken, (400, 401, 403, 404, 409)),
}
