"""The bodies the emulator answers with, as pydantic models, for its OpenAPI document only.

Routes build plain dicts and return them directly; nothing here validates a response at run
time (that would tax the token endpoint for no gain). The fuzz test checks the answers against
these models instead. A field that may be absent is typed `X | SkipJsonSchema[None]`: the
server leaves it out, it never sends null.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.json_schema import SkipJsonSchema

# -- errors, one shape per family (problems.py) ----------------------------------------------


class TokenErrorContext(BaseModel):
    requestId: str
    requestType: str
    userAgent: str
    url: str
    startTime: str
    locale: str
    clusterName: str


class TokenError(BaseModel):
    """An error of the token endpoints (`/identity/*`)."""

    context: TokenErrorContext
    errorCode: str = Field(description="BXNIM0106E and the like")
    errorMessage: str


class IdentityErrorContext(BaseModel):
    transaction_id: str
    operation: str
    user_agent: str
    url: str
    start_time: str
    cluster_name: str


class IdentityErrorItem(BaseModel):
    code: str
    message_code: str
    message: str


class IdentityError(BaseModel):
    """An error of the Identity API (`/v1/*`)."""

    context: IdentityErrorContext
    status_code: str = Field(description="the HTTP status, as a string")
    errors: list[IdentityErrorItem]
    trace: str


class PrivateError(BaseModel):
    """An error of the private API (`/iam-token/*`)."""

    errorCode: str
    errorMessage: str
    errorDetails: str
    context: TokenErrorContext


class OAuthError(BaseModel):
    """An error of the private identity provider (`/idprovider/*`), as RFC 6749 §5.2 has it."""

    error: str
    error_description: str


# -- tokens ----------------------------------------------------------------------------------


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str = Field(description="'not_supported' without the CLI's client")
    token_type: str
    expires_in: int
    expiration: int
    scope: str
    delegated_refresh_token: str | SkipJsonSchema[None] = Field(
        None, description="when response_type asks for one"
    )


class IdentityTokenResponse(BaseModel):
    access_token: str = Field(description="an opaque access token")
    token_type: str
    expires_in: int
    scope: str
    refresh_token: str
    id_token: str


class Introspection(BaseModel):
    """`active`, and for an active token its claims (an API key's: iss, sub, iam_id, account)."""

    model_config = ConfigDict(extra="allow")
    active: bool


class Jwk(BaseModel):
    kty: str
    n: str
    e: str
    kid: str
    alg: str


class Jwks(BaseModel):
    keys: list[Jwk]


class Discovery(BaseModel):
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    passcode_endpoint: str
    jwks_uri: str
    response_types_supported: list[str]
    grant_types_supported: list[str]
    subject_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    scopes_supported: list[str]
    claims_supported: list[str]


# -- the Identity API ------------------------------------------------------------------------


class Activity(BaseModel):
    last_authn: str | SkipJsonSchema[None] = None
    authn_count: int


class ApiKey(BaseModel):
    id: str
    entity_tag: str
    crn: str
    locked: bool
    disabled: bool
    created_at: str
    created_by: str
    modified_at: str
    name: str
    description: str | SkipJsonSchema[None] = None
    support_sessions: bool
    action_when_leaked: str
    iam_id: str
    account_id: str
    leaked: bool
    expires_at: str | SkipJsonSchema[None] = None
    apikey: str | SkipJsonSchema[None] = Field(
        None, description="on create; on reads only for a key made with store_value"
    )
    activity: Activity | SkipJsonSchema[None] = None


class ServiceId(BaseModel):
    id: str
    iam_id: str
    entity_tag: str
    crn: str
    locked: bool
    created_at: str
    modified_at: str
    account_id: str
    group_id: str | SkipJsonSchema[None] = Field(
        None, description="with show_group_id=true, for a service ID not in the default group"
    )
    name: str
    description: str | SkipJsonSchema[None] = None
    unique_instance_crns: list[str] | SkipJsonSchema[None] = None
    apikey: ApiKey | SkipJsonSchema[None] = Field(None, description="on create, when asked for")
    activity: Activity | SkipJsonSchema[None] = None


class _Paged(BaseModel):
    offset: int
    limit: int
    first: str
    previous: str | SkipJsonSchema[None] = None
    next: str | SkipJsonSchema[None] = None


class ServiceIdList(_Paged):
    serviceids: list[ServiceId]


class ApiKeyList(_Paged):
    apikeys: list[ApiKey]


# -- the private API -------------------------------------------------------------------------


class PrivateServiceIdMetadata(BaseModel):
    uuid: str
    iam_id: str
    crn: str
    createdAt: str
    modifiedAt: str
    version: str


class PrivateServiceIdEntity(BaseModel):
    boundTo: str
    name: str
    description: str | SkipJsonSchema[None] = None


class PrivateServiceId(BaseModel):
    metadata: PrivateServiceIdMetadata
    entity: PrivateServiceIdEntity


class PrivateApiKeyMetadata(BaseModel):
    uuid: str
    crn: str
    createdAt: str
    modifiedAt: str
    version: str


class PrivateApiKeyEntity(BaseModel):
    boundTo: str
    name: str
    description: str | SkipJsonSchema[None] = None
    format: str
    apiKey: str | SkipJsonSchema[None] = Field(None, description="on create only")


class PrivateApiKey(BaseModel):
    metadata: PrivateApiKeyMetadata
    entity: PrivateApiKeyEntity


class PrivateServiceIdList(BaseModel):
    currentPage: int
    pageSize: int
    items: list[PrivateServiceId]


class PrivateApiKeyList(BaseModel):
    currentPage: int
    pageSize: int
    items: list[PrivateApiKey]


# -- the Policy Management, User Management and PDP APIs -------------------------------------
# Loose models (extra fields allowed): their bodies echo what the client sent.


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class PolicyErrorItem(BaseModel):
    code: str
    message: str


class PolicyError(BaseModel):
    """An error of the Policy Management API (`/v1/policies`, `/v2/*`)."""

    trace: str
    errors: list[PolicyErrorItem]
    status_code: int


class _PolicyMetadata(_Open):
    id: str
    type: str
    href: str
    created_at: str
    created_by_id: str
    last_modified_at: str
    last_modified_by_id: str
    state: str


class V1Policy(_PolicyMetadata):
    subjects: list[dict[str, Any]]
    roles: list[dict[str, Any]]
    resources: list[dict[str, Any]]


class V2Policy(_PolicyMetadata):
    control: dict[str, Any]
    subject: dict[str, Any]
    resource: dict[str, Any]


class PolicyLink(BaseModel):
    href: str
    start: str | SkipJsonSchema[None] = None


class _PolicyPage(BaseModel):
    limit: int
    first: PolicyLink
    next: PolicyLink | SkipJsonSchema[None] = None
    previous: PolicyLink | SkipJsonSchema[None] = None


class V1PolicyList(_PolicyPage):
    policies: list[V1Policy]


class V2PolicyList(_PolicyPage):
    policies: list[V2Policy]


class Role(_Open):
    display_name: str
    actions: list[str]
    crn: str


class CustomRole(Role):
    id: str
    name: str
    account_id: str
    service_name: str
    href: str


class RoleList(BaseModel):
    custom_roles: list[CustomRole]
    service_roles: list[Role]
    system_roles: list[Role]


class InvitedUsers(_Open):
    resources: list[dict[str, Any]]


class UserProfile(_Open):
    id: str
    iam_id: str
    user_id: str
    state: str
    email: str
    account_id: str


class UserList(_Open):
    total_results: int
    limit: int
    resources: list[UserProfile]


class PrivatePolicy(_Open):
    id: str
    type: str
    subjects: list[dict[str, Any]]
    resources: list[dict[str, Any]]
    roles: list[dict[str, Any]]
    createdAt: str
    modifiedAt: str
    version: str


class PrivatePolicyList(RootModel[list[PrivatePolicy]]):
    pass


class PrivateRole(BaseModel):
    id: str
    name: str
    description: str


class PrivateRoleList(RootModel[list[PrivateRole]]):
    pass


class AuthzResponses(_Open):
    responses: list[dict[str, Any]]


class AuthzBulk(_Open):
    decisions: list[dict[str, Any]]


# -- service ID groups, account settings, preferences (cloud/serviceid_groups.py, ...) ------


class ServiceIdGroup(BaseModel):
    id: str
    entity_tag: str
    account_id: str
    crn: str
    name: str
    description: str | SkipJsonSchema[None] = None
    created_at: str
    created_by: str
    modified_at: str


class ServiceIdGroupList(BaseModel):
    serviceid_groups: list[ServiceIdGroup]


class HistoryRecord(BaseModel):
    timestamp: str
    iam_id: str
    iam_id_account: str
    action: str
    params: list[str]
    message: str


class UserMfa(BaseModel):
    iam_id: str
    mfa: str
    name: str | SkipJsonSchema[None] = None
    user_name: str | SkipJsonSchema[None] = None
    email: str | SkipJsonSchema[None] = None


class DomainRestriction(BaseModel):
    realm_id: str
    invitation_email_allow_patterns: list[str] | SkipJsonSchema[None] = None
    restrict_invitation: bool | SkipJsonSchema[None] = None


class _SettingsValues(BaseModel):
    restrict_create_service_id: str
    restrict_create_platform_apikey: str
    restrict_user_list_visibility: str
    allowed_ip_addresses: str
    mfa: str
    user_mfa: list[UserMfa]
    session_expiration_in_seconds: str
    session_invalidation_in_seconds: str
    max_sessions_per_identity: str
    system_access_token_expiration_in_seconds: str
    system_refresh_token_expiration_in_seconds: str


class AccountSettings(_SettingsValues):
    account_id: str
    entity_tag: str
    restrict_user_domains: list[DomainRestriction]
    history: list[HistoryRecord] = Field(description="Empty unless include_history=true")


class EffectiveAccountSettings(BaseModel):
    account_id: str
    effective: _SettingsValues
    account: AccountSettings
    assigned_templates: list[dict[str, Any]]


class IdentityPreference(BaseModel):
    service: str
    id: str
    account_id: str
    scope: str
    value_string: str | SkipJsonSchema[None] = None
    value_list_of_strings: list[str] | SkipJsonSchema[None] = None


class IdentityPreferenceList(BaseModel):
    preferences: list[IdentityPreference]


class _Template(BaseModel):
    """What a template version of every kind has; each kind adds its components."""

    id: str
    version: int
    account_id: str
    name: str
    description: str | SkipJsonSchema[None] = None
    committed: bool
    history: list[HistoryRecord] | SkipJsonSchema[None] = None
    entity_tag: str
    crn: str
    created_at: str
    created_by_id: str
    last_modified_at: str
    last_modified_by_id: str


class _TemplatePage(BaseModel):
    offset: int
    limit: int
    first: str
    previous: str | SkipJsonSchema[None] = None
    next: str | SkipJsonSchema[None] = None


class AccountSettingsTemplate(_Template):
    account_settings: dict[str, Any]


class AccountSettingsTemplateList(_TemplatePage):
    account_settings_templates: list[AccountSettingsTemplate]


class ProfileTemplate(_Template):
    profile: dict[str, Any] | SkipJsonSchema[None] = None
    policy_template_references: list[dict[str, str]] | SkipJsonSchema[None] = None
    action_controls: dict[str, Any] | SkipJsonSchema[None] = None


class ProfileTemplateList(_TemplatePage):
    profile_templates: list[ProfileTemplate]


class TemplateAssignment(BaseModel):
    id: str
    account_id: str
    template_id: str
    template_version: int
    target_type: str
    target: str
    status: str = Field(description="accepted, in_progress, succeeded or failed")
    resources: list[dict[str, Any]] | SkipJsonSchema[None] = Field(
        None, description="Only in the answer about one assignment"
    )
    history: list[HistoryRecord] | SkipJsonSchema[None] = None
    href: str
    created_at: str
    created_by_id: str
    last_modified_at: str
    last_modified_by_id: str
    entity_tag: str


class TemplateAssignmentList(_TemplatePage):
    assignments: list[TemplateAssignment]


class ReportReference(BaseModel):
    reference: str


class ActivityReport(BaseModel):
    created_by: str
    reference: str
    report_duration: str
    report_start_time: str
    report_end_time: str
    users: list[dict[str, Any]]
    apikeys: list[dict[str, Any]]
    serviceids: list[dict[str, Any]]
    profiles: list[dict[str, Any]]


class MfaEnrollment(BaseModel):
    iam_id: str
    effective_mfa_type: str
    id_based_mfa: dict[str, Any]
    account_based_mfa: dict[str, Any]


class MfaReport(BaseModel):
    created_by: str
    reference: str
    report_time: str
    account_id: str
    users: list[dict[str, Any]]


ERRORS: dict[str, type[BaseModel]] = {
    "token": TokenError,
    "identity": IdentityError,
    "private": PrivateError,
    "oauth": OAuthError,
    "policy": PolicyError,
}


def all_models() -> list[type[BaseModel]]:
    models: list[Any] = [*ERRORS.values()]
    models += [TokenResponse, IdentityTokenResponse, Introspection, Jwks, Discovery]
    models += [ApiKey, ServiceId, ServiceIdList, ApiKeyList]
    models += [PrivateServiceId, PrivateApiKey, PrivateServiceIdList, PrivateApiKeyList]
    models += [V1Policy, V2Policy, V1PolicyList, V2PolicyList, Role, CustomRole, RoleList]
    models += [InvitedUsers, UserProfile, UserList, AuthzResponses, AuthzBulk]
    models += [PrivatePolicy, PrivatePolicyList, PrivateRole, PrivateRoleList]
    models += [ServiceIdGroup, ServiceIdGroupList, AccountSettings, EffectiveAccountSettings]
    models += [IdentityPreference, IdentityPreferenceList]
    models += [AccountSettingsTemplate, AccountSettingsTemplateList]
    models += [ProfileTemplate, ProfileTemplateList]
    models += [TemplateAssignment, TemplateAssignmentList]
    from . import profile_schemas  # it builds on the models above

    models += profile_schemas.MODELS
    models += [ReportReference, ActivityReport, MfaEnrollment, MfaReport]
    return models


# -- identity limits (cloud/limits.py) -------------------------------------------------------


class LimitCount(BaseModel):
    limit: int
    count: int | SkipJsonSchema[None] = Field(None, description="when asked for")


class GroupCount(BaseModel):
    group_id: str
    count: int


class IdentityCount(BaseModel):
    iam_id: str
    count: int


class TemplateCount(BaseModel):
    template_id: str
    count: int


class ProfileCount(BaseModel):
    profile_id: str
    count: int


class ServiceIdsPerGroup(BaseModel):
    limit: int
    serviceid_groups: list[GroupCount] | SkipJsonSchema[None] = None


class ApiKeysPerIdentity(BaseModel):
    limit: int
    identities: list[IdentityCount] | SkipJsonSchema[None] = None


class VersionsPerTemplate(BaseModel):
    limit: int
    templates: list[TemplateCount] | SkipJsonSchema[None] = None


class ClaimRulesPerGroup(BaseModel):
    limit: int
    access_groups: list[GroupCount] | SkipJsonSchema[None] = None


class PerProfile(BaseModel):
    limit: int
    profiles: list[ProfileCount] | SkipJsonSchema[None] = None


class IdentityLimitsUsage(BaseModel):
    serviceid_groups: LimitCount
    serviceids_per_group: ServiceIdsPerGroup
    profiles: LimitCount
    apikeys_per_identity: ApiKeysPerIdentity
    profile_templates: LimitCount
    account_settings_templates: LimitCount
    template_versions_per_template: VersionsPerTemplate
    idps: LimitCount
    claim_rules_per_group: ClaimRulesPerGroup
    claim_rules_per_profile: PerProfile
    cr_links: LimitCount
    cr_links_per_profile: PerProfile
    cr_rules: LimitCount
    cr_rules_per_profile: PerProfile
