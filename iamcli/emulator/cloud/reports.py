"""Reports on an account's identities, built from this server's own records:
the inactive-identity report (`/v1/activity/accounts/{account_id}/report`), MFA enrollment
(`/v1/mfa/accounts/{account_id}/status`, `.../report`).

A report is asked for with a POST (202 and a `reference`) and read with a GET, which answers
204 while the report is being made: here the first read of a new report is that 204, and every
later read has it (`reference=latest` names the newest finished one, or while none is
finished the newest one being made). Users of this server enroll in no MFA factor, so a user
complies exactly when the MFA trait in force for them asks for none (`NONE`, `NONE_NO_ROPC`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from .. import authz, formats, web
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..store import User
from .common import caller_of, own_account

router = APIRouter(route_class=LazyRoute)
_TAGS: list[Any] = ["reports"]
_NO_FACTOR = ("NONE", "NONE_NO_ROPC")
_TOTP = ("TOTP", "TOTP4ALL", "LEVEL2")


def _allowed(request: Request, account_id: str, action: str) -> str:
    caller = caller_of(request)
    own_account(caller, account_id)
    authz.require(
        authz.subject_of(caller),
        action,
        authz.Resource(account_id=account_id, resource_type="report"),
    )
    return caller.iam_id


def _when(t: int | None) -> dict[str, str]:
    return {} if t is None else {"last_authn": formats.ibm_time(t)}


def _user_fields(u: User) -> dict[str, Any]:
    return {"iam_id": u.iam_id, "name": u.name, "username": u.username, "email": u.email}


# -- inactive identities -------------------------------------------------------------------


@router.post("/v1/activity/accounts/{account_id}/report", status_code=202, tags=_TAGS)
def create_activity_report(
    request: Request,
    account_id: str,
    type: Annotated[str, Query(max_length=20)] = "inactive",
    duration: Annotated[str, Query(max_length=10)] = "720",
) -> Response:
    by = _allowed(request, account_id, "iam-identity.report.create")
    if type != "inactive":
        raise Problem(400, "Validation of property 'type' failed: the only type is 'inactive'")
    hours = formats.whole_number(duration, 1, 24 * 366)
    if hours is None:
        raise Problem(400, "Validation of property 'duration' failed: hours, 1 to 8784")
    store = web.store(request)
    end = formats.now()
    start = end - hours * 3600
    seen = store.account_activity(account_id)

    def inactive(entity_id: str) -> bool:
        return seen.get(entity_id, 0) < start

    users = [u for u in store.account_users(account_id) if inactive(u.iam_id)]
    service_ids = [s for s in store.account_service_ids(account_id) if inactive(s.iam_id)]
    names = {s.iam_id: s for s in store.account_service_ids(account_id)}
    people = {u.iam_id: u for u in store.account_users(account_id)}
    apikeys = []
    for k in store.account_api_keys(account_id):
        if not inactive(k.id):
            continue
        item: dict[str, Any] = {"id": k.id, "name": k.name, "type": k.owner_kind}
        if k.owner_kind == "serviceid" and k.iam_id in names:
            item["serviceid"] = {"id": names[k.iam_id].id, "name": names[k.iam_id].name}
        elif k.iam_id in people:
            item["user"] = _user_fields(people[k.iam_id])
        apikeys.append({**item, **_when(seen.get(k.id))})
    body = {
        "created_by": by,
        "report_duration": str(hours),
        "report_start_time": formats.ibm_time(start),
        "report_end_time": formats.ibm_time(end),
        "users": [{**_user_fields(u), **_when(seen.get(u.iam_id))} for u in users],
        "apikeys": apikeys,
        "serviceids": [
            {"id": s.id, "name": s.name, **_when(seen.get(s.iam_id))} for s in service_ids
        ],
        "profiles": [],
    }
    reference = store.add_report(account_id, "inactive", body)
    return web.json_response({"reference": reference}, 202)


_NOT_YET: dict[int | str, dict[str, Any]] = {204: {"description": "The report is being made"}}


@router.get("/v1/activity/accounts/{account_id}/report/{reference}", tags=_TAGS, responses=_NOT_YET)
def get_activity_report(request: Request, account_id: str, reference: str) -> Response:
    _allowed(request, account_id, "iam-identity.report.get")
    return _stored(request, account_id, "inactive", reference)


def _stored(request: Request, account_id: str, kind: str, reference: str) -> Response:
    found = web.store(request).read_report(account_id, kind, reference)
    if found is None:
        raise Problem(404, f"Report {reference[:64]} not found")
    if not found.ready:
        return web.no_content()
    return web.json_response(found.body)


# -- MFA enrollment ------------------------------------------------------------------------


def _enrollment(trait_default: str, trait_user: str | None) -> dict[str, Any]:
    effective = trait_user or trait_default
    complies = effective in _NO_FACTOR
    id_based: dict[str, Any] = {
        "trait_account_default": trait_default,
        "trait_effective": effective,
        "complies": complies,
    }
    if trait_user is not None:
        id_based["trait_user_specific"] = trait_user
    totp_required = effective in _TOTP
    return {
        "effective_mfa_type": "id_based_mfa",
        "id_based_mfa": id_based,
        "account_based_mfa": {
            "security_questions": {"required": False, "enrolled": False},
            "totp": {"required": totp_required, "enrolled": False},
            "verisign": {"required": False, "enrolled": False},
            "complies": not totp_required,
        },
    }


def _traits(request: Request, account_id: str) -> tuple[str, dict[str, str]]:
    values = web.store(request).account_settings(account_id).values
    return values["mfa"], {m["iam_id"]: m["mfa"] for m in values["user_mfa"]}


@router.get("/v1/mfa/accounts/{account_id}/status", tags=_TAGS)
def get_mfa_status(
    request: Request, account_id: str, iam_id: Annotated[str, Query(max_length=200)]
) -> Response:
    _allowed(request, account_id, "iam-identity.mfa-status.get")
    user = web.store(request).identity(iam_id)
    if not isinstance(user, User) or user.account_id != account_id:
        raise Problem(404, f"User {iam_id[:100]} not found in the account")
    default, per_user = _traits(request, account_id)
    return web.json_response({"iam_id": iam_id, **_enrollment(default, per_user.get(iam_id))})


@router.post("/v1/mfa/accounts/{account_id}/report", status_code=202, tags=_TAGS)
def create_mfa_report(
    request: Request,
    account_id: str,
    type: Annotated[str, Query(max_length=20)] = "mfa_status",
) -> Response:
    by = _allowed(request, account_id, "iam-identity.mfa-status.create")
    if type != "mfa_status":
        raise Problem(400, "Validation of property 'type' failed: the only type is 'mfa_status'")
    store = web.store(request)
    default, per_user = _traits(request, account_id)
    body = {
        "created_by": by,
        "report_time": formats.ibm_time(formats.now()),
        "account_id": account_id,
        "users": [
            {**_user_fields(u), **_enrollment(default, per_user.get(u.iam_id))}
            for u in store.account_users(account_id)
        ],
    }
    return web.json_response({"reference": store.add_report(account_id, "mfa_status", body)}, 202)


@router.get("/v1/mfa/accounts/{account_id}/report/{reference}", tags=_TAGS, responses=_NOT_YET)
def get_mfa_report(request: Request, account_id: str, reference: str) -> Response:
    _allowed(request, account_id, "iam-identity.mfa-status.get")
    return _stored(request, account_id, "mfa_status", reference)
