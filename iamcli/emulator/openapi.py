"""The emulator's OpenAPI document, made to say what the server really answers.

FastAPI documents a 422 `HTTPValidationError` on every route with parameters, which this server
never sends (validation errors are 400s in IBM's shapes), and knows nothing of the bodies the
routes build by hand. This module replaces that with the real answers: each operation's success
body and its error statuses, each error in its API family's shape (problems.py), and the bearer
token as a security scheme. The table below is the contract; an operation missing from it
stops the document from being built, so a new route cannot go undocumented.

Any request whose body exceeds the size limit is answered 413, whatever its route; only routes
that take a body list it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from . import problems, profile_schemas, schemas

_REF = "#/components/schemas/{model}"
_DESCRIPTIONS = {
    400: "The request is malformed or fails validation, or a create would pass one of the "
    "account's identity limits (code limit_exceeded)",
    401: "No valid bearer token (or, on /idprovider, wrong credentials)",
    403: "The entity belongs to another account, or may not be managed by the caller",
    404: "No such entity",
    409: "The entity is locked, the value already exists, or the entity is still in use",
    412: "If-Match names a version that is no longer current",
    413: "The request body is too large",
    415: "The request body is not JSON",
}
_CHANGE = (400, 401, 403, 404, 409, 412, 413, 415)
_PAP = "/iam-pap/v1/scopes/{scope}/service_ids/{service_id}/policies"
_SETTINGS = "/v1/accounts/{account_id}/settings/identity"
_PREFERENCES = "/v1/preferences/accounts/{account_id}/identities/{iam_id}"
_PREFERENCE = _PREFERENCES + "/{service}/{preference_id}"
_AST = "/v1/account_settings_templates"
_AST_ONE = _AST + "/{template_id}"
_AST_VERSION = _AST_ONE + "/versions/{version}"
_ASA = "/v1/account_settings_assignments/"
_PT = "/v1/profile_templates"
_PT_ONE = _PT + "/{template_id}"
_PT_VERSION = _PT_ONE + "/versions/{version}"
_PA = "/v1/profile_assignments/"
_ACTIVITY = "/v1/activity/accounts/{account_id}/report"
_MFA = "/v1/mfa/accounts/{account_id}"
_LIMITS = "/v1/accounts/{account_id}/limits/identity"

# (method, path) → (success body or None, error statuses)
CONTRACT: dict[tuple[str, str], tuple[type[BaseModel] | None, tuple[int, ...]]] = {
    ("post", "/identity/token"): (schemas.TokenResponse, (400, 403, 413)),
    ("get", "/identity/keys"): (schemas.Jwks, ()),
    ("get", "/identity/.well-known/openid-configuration"): (schemas.Discovery, ()),
    ("post", "/v1/serviceids/"): (schemas.ServiceId, (400, 401, 403, 404, 409, 413, 415)),
    ("get", "/v1/serviceids/"): (schemas.ServiceIdList, (400, 401, 403)),
    ("get", "/v1/serviceids/{sid}"): (schemas.ServiceId, (400, 401, 403, 404)),
    ("put", "/v1/serviceids/{sid}"): (schemas.ServiceId, _CHANGE),
    ("delete", "/v1/serviceids/{sid}"): (None, (401, 403, 404, 409)),
    ("post", "/v1/serviceids/{sid}/lock"): (None, (401, 403, 404)),
    ("delete", "/v1/serviceids/{sid}/lock"): (None, (401, 403, 404)),
    ("post", "/v1/apikeys"): (schemas.ApiKey, (400, 401, 403, 404, 409, 413, 415)),
    ("get", "/v1/apikeys"): (schemas.ApiKeyList, (400, 401, 403, 404)),
    ("get", "/v1/apikeys/details"): (schemas.ApiKey, (400, 401, 403, 404)),
    ("get", "/v1/apikeys/{kid}"): (schemas.ApiKey, (400, 401, 403, 404)),
    ("put", "/v1/apikeys/{kid}"): (schemas.ApiKey, _CHANGE),
    ("delete", "/v1/apikeys/{kid}"): (None, (401, 403, 404, 409)),
    ("post", "/v1/apikeys/{kid}/lock"): (None, (401, 403, 404)),
    ("delete", "/v1/apikeys/{kid}/lock"): (None, (401, 403, 404)),
    ("post", "/v1/apikeys/{kid}/disable"): (None, (401, 403, 404, 409)),
    ("delete", "/v1/apikeys/{kid}/disable"): (None, (401, 403, 404, 409)),
    ("post", "/v1/serviceid_groups"): (schemas.ServiceIdGroup, (400, 401, 403, 409, 413, 415)),
    ("get", "/v1/serviceid_groups"): (schemas.ServiceIdGroupList, (400, 401, 403)),
    ("get", "/v1/serviceid_groups/{gid}"): (schemas.ServiceIdGroup, (401, 403, 404)),
    ("put", "/v1/serviceid_groups/{gid}"): (schemas.ServiceIdGroup, _CHANGE),
    ("delete", "/v1/serviceid_groups/{gid}"): (None, (401, 403, 404, 409)),
    # A path segment that no route matches (a newline in account_id, say) is a 404 like any
    # other unknown resource.
    ("get", _SETTINGS): (schemas.AccountSettings, (400, 401, 403, 404)),
    ("put", _SETTINGS): (schemas.AccountSettings, (400, 401, 403, 404, 412, 413, 415)),
    ("get", "/v1/accounts/{account_id}/effective_settings/identity"): (
        schemas.EffectiveAccountSettings,
        (400, 401, 403, 404),
    ),
    ("get", _PREFERENCES): (schemas.IdentityPreferenceList, (401, 403, 404)),
    ("get", _PREFERENCE): (schemas.IdentityPreference, (401, 403, 404)),
    ("put", _PREFERENCE): (schemas.IdentityPreference, (400, 401, 403, 404, 413, 415)),
    ("delete", _PREFERENCE): (None, (401, 403, 404)),
    ("post", _AST): (schemas.AccountSettingsTemplate, (400, 401, 403, 409, 413, 415)),
    ("get", _AST): (schemas.AccountSettingsTemplateList, (400, 401, 403)),
    ("get", _AST_ONE): (schemas.AccountSettingsTemplate, (400, 401, 403, 404)),
    ("delete", _AST_ONE): (None, (401, 403, 404, 409)),
    ("get", _AST_ONE + "/versions"): (schemas.AccountSettingsTemplateList, (400, 401, 403, 404)),
    ("post", _AST_ONE + "/versions"): (schemas.AccountSettingsTemplate, _CHANGE),
    ("get", _AST_VERSION): (schemas.AccountSettingsTemplate, (400, 401, 403, 404)),
    ("put", _AST_VERSION): (schemas.AccountSettingsTemplate, _CHANGE),
    ("delete", _AST_VERSION): (None, (400, 401, 403, 404, 409)),
    ("post", _AST_VERSION + "/commit"): (None, (400, 401, 403, 404)),
    ("post", _ASA): (schemas.TemplateAssignment, (400, 401, 403, 404, 409, 413, 415)),
    ("get", _ASA): (schemas.TemplateAssignmentList, (400, 401, 403)),
    ("get", _ASA + "{assignment_id}"): (schemas.TemplateAssignment, (400, 401, 403, 404)),
    ("patch", _ASA + "{assignment_id}"): (schemas.TemplateAssignment, _CHANGE),
    ("delete", _ASA + "{assignment_id}"): (schemas.TemplateAssignment, (401, 403, 404)),
    ("post", _PT): (schemas.ProfileTemplate, (400, 401, 403, 409, 413, 415)),
    ("get", _PT): (schemas.ProfileTemplateList, (400, 401, 403)),
    ("get", _PT_ONE): (schemas.ProfileTemplate, (400, 401, 403, 404)),
    ("delete", _PT_ONE): (None, (401, 403, 404, 409)),
    ("get", _PT_ONE + "/versions"): (schemas.ProfileTemplateList, (400, 401, 403, 404)),
    ("post", _PT_ONE + "/versions"): (schemas.ProfileTemplate, _CHANGE),
    ("get", _PT_VERSION): (schemas.ProfileTemplate, (400, 401, 403, 404)),
    ("put", _PT_VERSION): (schemas.ProfileTemplate, _CHANGE),
    ("delete", _PT_VERSION): (None, (400, 401, 403, 404, 409)),
    ("post", _PT_VERSION + "/commit"): (None, (400, 401, 403, 404)),
    ("post", _PA): (schemas.TemplateAssignment, (400, 401, 403, 404, 409, 413, 415)),
    ("get", _PA): (schemas.TemplateAssignmentList, (400, 401, 403)),
    ("get", _PA + "{assignment_id}"): (schemas.TemplateAssignment, (400, 401, 403, 404)),
    ("patch", _PA + "{assignment_id}"): (schemas.TemplateAssignment, _CHANGE),
    ("delete", _PA + "{assignment_id}"): (schemas.TemplateAssignment, (401, 403, 404)),
    # 204 (no body) while a report is being made; see cloud/reports.py.
    ("post", _ACTIVITY): (schemas.ReportReference, (400, 401, 403, 404)),
    ("get", _ACTIVITY + "/{reference}"): (schemas.ActivityReport, (401, 403, 404)),
    ("get", _MFA + "/status"): (schemas.MfaEnrollment, (400, 401, 403, 404)),
    ("post", _MFA + "/report"): (schemas.ReportReference, (400, 401, 403, 404)),
    ("get", _MFA + "/report/{reference}"): (schemas.MfaReport, (401, 403, 404)),
    ("get", _LIMITS): (schemas.IdentityLimitsUsage, (400, 401, 403, 404)),
    ("post", _LIMITS): (schemas.IdentityLimitsUsage, (400, 401, 403, 404, 413, 415)),
    ("post", "/iam-token/oidc/token"): (schemas.TokenResponse, (400, 413)),
    # Always 200 otherwise: ICP's clients tell a bad token from a good one by `active` alone.
    ("post", "/iam-token/oidc/introspect"): (schemas.Introspection, (413,)),
    ("get", "/iam-token/oidc/keys"): (schemas.Jwks, ()),
    ("post", "/idprovider/v1/auth/identitytoken"): (
        schemas.IdentityTokenResponse,
        (400, 401, 413),
    ),
    ("post", "/iam-token/serviceids/"): (schemas.PrivateServiceId, (400, 401, 413, 415)),
    ("get", "/iam-token/serviceids/"): (schemas.PrivateServiceIdList, (400, 401)),
    ("get", "/iam-token/serviceids/{sid}"): (schemas.PrivateServiceId, (401, 403, 404)),
    ("put", "/iam-token/serviceids/{sid}"): (schemas.PrivateServiceId, _CHANGE),
    ("delete", "/iam-token/serviceids/{sid}"): (None, (401, 403, 404, 409)),
    ("post", "/iam-token/apikeys/"): (schemas.PrivateApiKey, (400, 401, 403, 404, 413, 415)),
    ("get", "/iam-token/apikeys/"): (schemas.PrivateApiKeyList, (400, 401, 403, 404)),
    ("get", "/iam-token/apikeys/{kid}"): (schemas.PrivateApiKey, (401, 403, 404)),
    ("put", "/iam-token/apikeys/{kid}"): (schemas.PrivateApiKey, _CHANGE),
    ("delete", "/iam-token/apikeys/{kid}"): (None, (401, 403, 404, 409)),
    **profile_schemas.CONTRACT,
    # The Policy Management API (cloud/policies.py, cloud/roles.py)
    ("get", "/v1/policies"): (schemas.V1PolicyList, (400, 401)),
    ("post", "/v1/policies"): (schemas.V1Policy, (400, 401, 403, 413, 415)),
    ("get", "/v1/policies/{policy_id}"): (schemas.V1Policy, (401, 403, 404)),
    ("put", "/v1/policies/{policy_id}"): (schemas.V1Policy, _CHANGE),
    ("patch", "/v1/policies/{policy_id}"): (schemas.V1Policy, _CHANGE),
    ("delete", "/v1/policies/{policy_id}"): (None, (400, 401, 403, 404)),
    ("get", "/v2/policies"): (schemas.V2PolicyList, (400, 401)),
    ("post", "/v2/policies"): (schemas.V2Policy, (400, 401, 403, 413, 415)),
    ("get", "/v2/policies/{policy_id}"): (schemas.V2Policy, (400, 401, 403, 404)),
    ("put", "/v2/policies/{policy_id}"): (schemas.V2Policy, _CHANGE),
    ("delete", "/v2/policies/{policy_id}"): (None, (400, 401, 403, 404)),
    ("get", "/v2/roles"): (schemas.RoleList, (400, 401)),
    ("post", "/v2/roles"): (schemas.CustomRole, (400, 401, 403, 409, 413, 415)),
    ("get", "/v2/roles/{role_id}"): (schemas.CustomRole, (401, 403, 404)),
    ("put", "/v2/roles/{role_id}"): (schemas.CustomRole, _CHANGE),
    ("delete", "/v2/roles/{role_id}"): (None, (401, 403, 404)),
    # iam-pap's service-ID policies (private/policies.py)
    ("get", "/iam-pap/v1/roles"): (schemas.PrivateRoleList, (401,)),
    ("post", _PAP): (schemas.PrivatePolicy, (400, 401, 403, 404, 413, 415)),
    ("get", _PAP): (schemas.PrivatePolicyList, (401, 403, 404)),
    ("get", _PAP + "/{policy_id}"): (schemas.PrivatePolicy, (401, 403, 404)),
    ("put", _PAP + "/{policy_id}"): (schemas.PrivatePolicy, _CHANGE),
    ("delete", _PAP + "/{policy_id}"): (None, (401, 403, 404)),
    # The PDP (cloud/pdp.py)
    ("post", "/v2/authz"): (schemas.AuthzResponses, (400, 401, 413, 415)),
    ("post", "/v2/authz/bulk"): (schemas.AuthzBulk, (400, 401, 413, 415)),
    # User Management (cloud/users.py)
    ("post", "/v2/accounts/{account_id}/users"): (
        schemas.InvitedUsers,
        (400, 401, 403, 404, 413, 415),
    ),
    ("get", "/v2/accounts/{account_id}/users"): (schemas.UserList, (401, 403, 404)),
    ("get", "/v2/accounts/{account_id}/users/{iam_id}"): (schemas.UserProfile, (401, 403, 404)),
    ("delete", "/v2/accounts/{account_id}/users/{iam_id}"): (None, (400, 401, 403, 404)),
}
_UNAUTHENTICATED = ("/identity/", "/iam-token/oidc/", "/idprovider/", "/instance_identity/")


def honest(doc: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's document for this app, with the contract above in place of its guesses."""
    components = doc.setdefault("components", {})
    found = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        found.pop(name, None)
    _, defs = models_json_schema(
        [(model, "serialization") for model in schemas.all_models()], ref_template=_REF
    )
    found.update(defs["$defs"])
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An access token of this server (a JWT; the private family also "
            "takes the opaque token of /idprovider/v1/auth/identitytoken)",
        }
    }
    transaction_id = {
        "Transaction-Id": {
            "description": "The request's X-Request-ID when it sent a sane one, else a new ID",
            "schema": {"type": "string"},
        }
    }
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            try:
                model, statuses = CONTRACT[(method, path)]
            except KeyError:
                raise KeyError(
                    f"{method.upper()} {path} is missing from openapi.CONTRACT"
                ) from None
            responses: dict[str, Any] = operation["responses"]
            responses.pop("422", None)
            # The route's own status first; others (a report's 204) are declared on the route.
            success = next(code for code in responses if code.startswith("2"))
            if model is not None:
                responses[success]["content"] = {"application/json": {"schema": _ref(model)}}
            error = _ref(
                profile_schemas.error_model(path) or schemas.ERRORS[problems.family_of(path)]
            )
            for status in statuses:
                responses[str(status)] = {
                    "description": _DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": error}},
                }
            for response in responses.values():
                response["headers"] = dict(transaction_id)
            if not path.startswith(_UNAUTHENTICATED):
                operation["security"] = [{"bearer": []}]
    return doc


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}
