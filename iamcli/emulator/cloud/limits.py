"""An account's identity limits and what it uses of them: `GET` and `POST
/v1/accounts/{account_id}/limits/identity` (the SDK's `get_account_limits` and
`bulk_list_account_entity_consumption`; store/limits.py has the maxima and the counts).

Both take the same choices, as query parameters (lists comma-separated) or as a JSON body
(lists as arrays), and answer IBM's `IdentityLimitsUsageResponse`. Where IBM's reference is
silent, the choices are:
- every maximum is always in the answer; a count only when asked for (an account-wide flag
  such as `profiles=true`, or the IDs of a per-entity list), as the parameters' names say
  ("to include ... consumption"); `templates` asks for both kinds of template;
- an ID of nothing, or of another account, counts 0 rather than answering 404, so the answer
  tells nothing of other accounts and IBM's own tests, which ask about made-up IDs, pass;
- reading them is `iam-identity.account.get` on the account, as reading its settings is (the
  owner, or Viewer and above on IAM Identity); only the caller's own account.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from .. import authz, web
from ..problems import Problem
from ..store import Store
from .common import caller_of, own_account

router = APIRouter()
_TAGS: list[str | Any] = ["identity limits"]
_PATH = "/v1/accounts/{account_id}/limits/identity"
MAX_IDS = 100

# (the account-wide entry, the flag that asks for its count)
_ACCOUNT_WIDE = (
    ("serviceid_groups", "serviceid_groups"),
    ("profiles", "profiles"),
    ("profile_templates", "templates"),
    ("account_settings_templates", "templates"),
    ("idps", "idps"),
    ("cr_links", "cr_links"),
    ("cr_rules", "cr_rules"),
)
# (the per-entity entry, the key of its list, the key of an ID in that list)
_PER_ENTITY = (
    ("serviceids_per_group", "serviceid_groups", "group_id"),
    ("apikeys_per_identity", "identities", "iam_id"),
    ("template_versions_per_template", "templates", "template_id"),
    ("claim_rules_per_group", "access_groups", "group_id"),
    ("claim_rules_per_profile", "profiles", "profile_id"),
    ("cr_links_per_profile", "profiles", "profile_id"),
    ("cr_rules_per_profile", "profiles", "profile_id"),
)

Ids = list[Annotated[str, Field(max_length=1024)]] | None


class ConsumptionRequest(BaseModel):
    serviceid_groups: bool | None = None
    serviceids_per_group: Ids = Field(None, max_length=MAX_IDS)
    profiles: bool | None = None
    apikeys_per_identity: Ids = Field(None, max_length=MAX_IDS)
    templates: bool | None = None
    template_versions_per_template: Ids = Field(None, max_length=MAX_IDS)
    idps: bool | None = None
    claim_rules_per_group: Ids = Field(None, max_length=MAX_IDS)
    claim_rules_per_profile: Ids = Field(None, max_length=MAX_IDS)
    cr_links: bool | None = None
    cr_links_per_profile: Ids = Field(None, max_length=MAX_IDS)
    cr_rules: bool | None = None
    cr_rules_per_profile: Ids = Field(None, max_length=MAX_IDS)


def _ids(name: str, value: str | None) -> list[str] | None:
    """A comma-separated query parameter as IDs, without blanks or repeats."""
    if value is None:
        return None
    ids = list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    if len(ids) > MAX_IDS:
        raise Problem(400, f"Validation of property '{name}' failed: at most {MAX_IDS} IDs")
    if any(len(i) > 1024 for i in ids):
        raise Problem(400, f"Validation of property '{name}' failed: an ID is too long")
    return ids


def usage_json(store: Store, account_id: str, asked: ConsumptionRequest) -> dict[str, Any]:
    limits = store.identity_limits(account_id)
    flags = asked.model_dump()
    body: dict[str, Any] = {}
    for name, flag in _ACCOUNT_WIDE:
        entry: dict[str, Any] = {"limit": limits[name]}
        if flags[flag]:
            entry["count"] = store.account_usage(account_id, name)
        body[name] = entry
    for name, key, id_key in _PER_ENTITY:
        entry = {"limit": limits[name]}
        ids = flags[name]
        if ids is not None:
            entry[key] = [
                {id_key: i, "count": store.entity_usage(account_id, name, i)}
                for i in dict.fromkeys(ids)
            ]
        body[name] = entry
    return body


def _allowed(request: Request, account_id: str) -> str:
    caller = caller_of(request)
    account = own_account(caller, account_id)
    authz.require(
        authz.subject_of(caller),
        "iam-identity.account.get",
        authz.Resource(account_id=account, resource_type="account"),
    )
    return account


Flag = Annotated[bool | None, Query()]
# A URL has room for a few IDs per list; more go in the POST's body, which is why IBM has it.
IdList = Annotated[str | None, Query(max_length=2048)]


@router.get(_PATH, tags=_TAGS)
def get_account_limits(
    request: Request,
    account_id: str,
    serviceid_groups: Flag = None,
    serviceids_per_group: IdList = None,
    profiles: Flag = None,
    apikeys_per_identity: IdList = None,
    templates: Flag = None,
    template_versions_per_template: IdList = None,
    idps: Flag = None,
    claim_rules_per_group: IdList = None,
    claim_rules_per_profile: IdList = None,
    cr_links: Flag = None,
    cr_links_per_profile: IdList = None,
    cr_rules: Flag = None,
    cr_rules_per_profile: IdList = None,
) -> Response:
    account = _allowed(request, account_id)
    asked = ConsumptionRequest(
        serviceid_groups=serviceid_groups,
        serviceids_per_group=_ids("serviceids_per_group", serviceids_per_group),
        profiles=profiles,
        apikeys_per_identity=_ids("apikeys_per_identity", apikeys_per_identity),
        templates=templates,
        template_versions_per_template=_ids(
            "template_versions_per_template", template_versions_per_template
        ),
        idps=idps,
        claim_rules_per_group=_ids("claim_rules_per_group", claim_rules_per_group),
        claim_rules_per_profile=_ids("claim_rules_per_profile", claim_rules_per_profile),
        cr_links=cr_links,
        cr_links_per_profile=_ids("cr_links_per_profile", cr_links_per_profile),
        cr_rules=cr_rules,
        cr_rules_per_profile=_ids("cr_rules_per_profile", cr_rules_per_profile),
    )
    return web.json_response(usage_json(web.store(request), account, asked))


@router.post(_PATH, tags=_TAGS)
def bulk_list_account_entity_consumption(
    request: Request, account_id: str, body: ConsumptionRequest
) -> Response:
    account = _allowed(request, account_id)
    return web.json_response(usage_json(web.store(request), account, body))
