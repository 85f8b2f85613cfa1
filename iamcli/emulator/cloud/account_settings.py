"""An account's identity settings and its identities' preferences:
`/v1/accounts/{account_id}/settings/identity`, `.../effective_settings/identity` and
`/v1/preferences/accounts/{account_id}/identities/{iam_id}[/{service}/{preference_id}]`.

Values travel as strings, as IBM's `AccountSettingsResponse` has them ("86400", "NOT_SET").
Where IBM's reference is silent, the choices are:
- an account that never changed a setting answers version 1 of the defaults (every field,
  `NOT_SET` where the service default applies), and its ETag is stable until the first PUT;
- the effective settings resolve `NOT_SET` to this server's defaults: creation is not
  restricted, a session lasts 86400 s and idles out after 7200 s (IBM's documented defaults),
  and token lifetimes are the server's own (`--token-ttl`, `--refresh-token-ttl`);
  `max_sessions_per_identity` stays `NOT_SET` (no limit);
- a setting an enterprise's account settings template assigns (cloud/templates.py) overrides
  the account's own in the effective settings;
- preferences are the identity's own: others need `iam-identity.preference.*` through policy.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, BeforeValidator, Field
from starlette.responses import Response

from .. import authz, formats, web
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..store import AccountSettings, Preference, User
from .common import caller_of, etag, own_account

router = APIRouter(route_class=LazyRoute)
_TAGS: list[str | Any] = ["account settings"]

Restriction = Literal["RESTRICTED", "NOT_RESTRICTED", "NOT_SET"]
Mfa = Literal["NONE", "NONE_NO_ROPC", "TOTP", "TOTP4ALL", "LEVEL1", "LEVEL2", "LEVEL3"]
# (low, high) for the settings that are a number of seconds or a count, or NOT_SET.
_RANGES = {
    "session_expiration_in_seconds": (900, 86400),
    "session_invalidation_in_seconds": (900, 7200),
    "max_sessions_per_identity": (1, 1_000_000),
    "system_access_token_expiration_in_seconds": (900, 3600),
    "system_refresh_token_expiration_in_seconds": (900, 259200),
}


class UserMfa(BaseModel):
    iam_id: Annotated[str, Field(max_length=1024)]
    mfa: Mfa


class DomainRestriction(BaseModel):
    realm_id: Annotated[str, Field(max_length=1024)]
    invitation_email_allow_patterns: list[Annotated[str, Field(max_length=1024)]] | None = Field(
        None, max_length=100
    )
    restrict_invitation: bool | None = None


def _number_as_text(value: object) -> object:
    # IBM's model has these as strings ("86400", "NOT_SET"), but IBM's own Python example for a
    # template version sends JSON numbers, and the service takes them: so a whole number is
    # taken as its decimal text (then range-checked like any other value).
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


NumberText = Annotated[
    Annotated[str, Field(max_length=20)] | None, BeforeValidator(_number_as_text)
]


class UpdateSettings(BaseModel):
    restrict_create_service_id: Restriction | None = None
    restrict_create_platform_apikey: Restriction | None = None
    restrict_user_list_visibility: Literal["RESTRICTED", "NOT_RESTRICTED"] | None = None
    allowed_ip_addresses: Annotated[str | None, Field(max_length=10240)] = None
    mfa: Mfa | None = None
    user_mfa: list[UserMfa] | None = Field(None, max_length=1000)
    restrict_user_domains: list[DomainRestriction] | None = Field(None, max_length=100)
    session_expiration_in_seconds: NumberText = None
    session_invalidation_in_seconds: NumberText = None
    max_sessions_per_identity: NumberText = None
    system_access_token_expiration_in_seconds: NumberText = None
    system_refresh_token_expiration_in_seconds: NumberText = None


class TemplateDomains(BaseModel):
    account_sufficient: bool | None = None
    restrictions: list[DomainRestriction] | None = Field(None, max_length=100)


class TemplateSettings(UpdateSettings):
    """The settings of an account settings template: as an update, but for the domain
    restrictions, which a template gives with `account_sufficient`."""

    restrict_user_domains: TemplateDomains | None = None  # type: ignore[assignment]


def check_settings(changes: dict[str, Any]) -> None:
    """400 unless every setting in CHANGES has a value IBM accepts."""
    for name in _RANGES.keys() & changes.keys():
        _check_number(name, changes[name])
    if "allowed_ip_addresses" in changes:
        _check_ips(changes["allowed_ip_addresses"])


def _check_number(name: str, value: str) -> None:
    low, high = _RANGES[name]
    if value == "NOT_SET":
        return
    if formats.whole_number(value, low, high) is None:
        raise Problem(
            400,
            f"Validation of property '{name}' failed: expected a whole number from {low} to "
            f"{high}, or NOT_SET",
        )


def _check_ips(text: str) -> None:
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise Problem(
                400,
                f"Validation of property 'allowed_ip_addresses' failed: {part[:60]!r} is not "
                "an IP address or subnet",
            ) from None


def _resource(account_id: str) -> authz.Resource:
    return authz.Resource(account_id=account_id, resource_type="account")


def settings_json(
    request: Request, s: AccountSettings, *, history: bool, resolve_user_mfa: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {"account_id": s.account_id, "entity_tag": s.entity_tag}
    body.update({k: v for k, v in s.values.items() if k != "user_mfa"})
    body["user_mfa"] = [_user_mfa(request, m, resolve_user_mfa) for m in s.values["user_mfa"]]
    # Without include_history the records are left out but the field stays: IBM's Node
    # integration test reads settings with include_history=false and expects `history` there.
    body["history"] = list(s.history) if history else []
    return body


def _user_mfa(request: Request, entry: dict[str, Any], resolve: bool) -> dict[str, Any]:
    out = {"iam_id": entry["iam_id"], "mfa": entry["mfa"]}
    user = web.store(request).identity(entry["iam_id"]) if resolve else None
    if isinstance(user, User):
        out.update(name=user.name, user_name=user.username, email=user.email)
    return out


def _effective(request: Request, s: AccountSettings) -> dict[str, Any]:
    settings = request.app.state.settings
    defaults = {
        "restrict_create_service_id": "NOT_RESTRICTED",
        "restrict_create_platform_apikey": "NOT_RESTRICTED",
        "session_expiration_in_seconds": "86400",
        "session_invalidation_in_seconds": "7200",
        "system_access_token_expiration_in_seconds": str(settings.token_ttl),
        "system_refresh_token_expiration_in_seconds": str(settings.refresh_token_ttl),
    }
    values = {k: v for k, v in s.values.items() if k != "restrict_user_domains"}
    # A setting an enterprise template assigns wins over the account's own (IBM: enterprise-
    # managed settings); a later assignment wins over an earlier one.
    for _, template in web.store(request).assigned_templates("account_settings", s.account_id):
        values.update(
            {
                k: v
                for k, v in template.body.items()
                if k in values and v not in ("NOT_SET", None) and k != "user_mfa"
            }
        )
    resolved = {k: defaults.get(k, v) if v == "NOT_SET" else v for k, v in values.items()}
    resolved["user_mfa"] = [_user_mfa(request, m, False) for m in s.values["user_mfa"]]
    return resolved


def _assigned(request: Request, account_id: str) -> list[dict[str, Any]]:
    return [
        {
            "template_id": t.id,
            "template_version": t.version,
            "template_name": t.name,
            **{k: v for k, v in t.body.items() if k != "restrict_user_domains"},
        }
        for _, t in web.store(request).assigned_templates("account_settings", account_id)
    ]


def _readable(request: Request, account_id: str) -> AccountSettings:
    caller = caller_of(request)
    own_account(caller, account_id)
    authz.require(authz.subject_of(caller), "iam-identity.account.get", _resource(account_id))
    return web.store(request).account_settings(account_id)


@router.get("/v1/accounts/{account_id}/settings/identity", tags=_TAGS)
def get_settings(
    request: Request,
    account_id: str,
    include_history: bool = False,
    resolve_user_mfa: bool = False,
) -> Response:
    current = _readable(request, account_id)
    body = settings_json(
        request, current, history=include_history, resolve_user_mfa=resolve_user_mfa
    )
    return web.json_response(body, headers=etag(current))


@router.put("/v1/accounts/{account_id}/settings/identity", tags=_TAGS)
def update_settings(
    request: Request,
    account_id: str,
    body: UpdateSettings,
    if_match: Annotated[str, Header()],
) -> Response:
    caller = caller_of(request)
    own_account(caller, account_id)
    authz.require(authz.subject_of(caller), "iam-identity.account.update", _resource(account_id))
    changes = body.model_dump(exclude_none=True)
    check_settings(changes)
    if not changes:
        raise Problem(400, "The request body changes no setting")
    updated = web.store(request).update_account_settings(
        account_id, if_match=if_match, changes=changes, by=caller.iam_id
    )
    return web.json_response(settings_json(request, updated, history=True), headers=etag(updated))


@router.get("/v1/accounts/{account_id}/effective_settings/identity", tags=_TAGS)
def get_effective_settings(
    request: Request,
    account_id: str,
    include_history: bool = False,
    resolve_user_mfa: bool = False,
) -> Response:
    current = _readable(request, account_id)
    body = {
        "account_id": account_id,
        "effective": _effective(request, current),
        "account": settings_json(
            request, current, history=include_history, resolve_user_mfa=resolve_user_mfa
        ),
        "assigned_templates": _assigned(request, account_id),
    }
    return web.json_response(body)


# -- preferences --------------------------------------------------------------------------

_PREF_TAGS: list[str | Any] = ["identity preferences"]
_PREFIX = "/v1/preferences/accounts/{account_id}/identities/{iam_id}"


class UpdatePreference(BaseModel):
    value_string: Annotated[str | None, Field(max_length=10240)] = None
    value_list_of_strings: list[Annotated[str, Field(max_length=1024)]] | None = Field(
        None, max_length=100
    )


def _preference_json(p: Preference) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service": p.service,
        "id": p.preference_id,
        "account_id": p.account_id,
        "scope": "account",
    }
    if p.value_string is not None:
        body["value_string"] = p.value_string
    if p.value_list_of_strings is not None:
        body["value_list_of_strings"] = list(p.value_list_of_strings)
    return body


def _may_touch_preferences(request: Request, account_id: str, iam_id: str, verb: str) -> None:
    caller = caller_of(request)
    own_account(caller, account_id)
    authz.require(
        authz.subject_of(caller),
        f"iam-identity.preference.{verb}",
        authz.Resource(account_id=account_id, resource_type="preference", owner_iam_id=iam_id),
    )


@router.put(_PREFIX + "/{service}/{preference_id}", tags=_PREF_TAGS)
def update_preference(
    request: Request,
    account_id: str,
    iam_id: str,
    service: str,
    preference_id: str,
    body: UpdatePreference,
) -> Response:
    _may_touch_preferences(request, account_id, iam_id, "update")
    if (body.value_string is None) == (body.value_list_of_strings is None):
        raise Problem(
            400, "Exactly one of 'value_string' and 'value_list_of_strings' must be given"
        )
    saved = web.store(request).set_preference(
        Preference(
            account_id=account_id,
            iam_id=iam_id,
            service=service[:100],
            preference_id=preference_id[:100],
            value_string=body.value_string,
            value_list_of_strings=body.value_list_of_strings,
        )
    )
    return web.json_response(_preference_json(saved))


@router.get(_PREFIX + "/{service}/{preference_id}", tags=_PREF_TAGS)
def get_preference(
    request: Request, account_id: str, iam_id: str, service: str, preference_id: str
) -> Response:
    _may_touch_preferences(request, account_id, iam_id, "get")
    found = web.store(request).preference(account_id, iam_id, service, preference_id)
    if found is None:
        raise Problem(404, f"Preference {service[:50]}/{preference_id[:50]} not found")
    return web.json_response(_preference_json(found))


@router.delete(_PREFIX + "/{service}/{preference_id}", status_code=204, tags=_PREF_TAGS)
def delete_preference(
    request: Request, account_id: str, iam_id: str, service: str, preference_id: str
) -> Response:
    _may_touch_preferences(request, account_id, iam_id, "delete")
    web.store(request).delete_preference(account_id, iam_id, service, preference_id)
    return web.no_content()


@router.get(_PREFIX, tags=_PREF_TAGS)
def get_all_preferences(request: Request, account_id: str, iam_id: str) -> Response:
    _may_touch_preferences(request, account_id, iam_id, "get")
    found = web.store(request).preferences(account_id, iam_id)
    return web.json_response({"preferences": [_preference_json(p) for p in found]})
