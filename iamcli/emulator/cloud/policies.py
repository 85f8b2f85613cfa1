"""IBM's Policy Management API: `/v1/policies` and `/v2/policies` (reference §3.1-§3.2).

Choices where IBM is unconfirmed (README, "Access policies"):
- DELETE soft-deletes: the policy leaves the active list, `state=deleted` lists it, and a GET of
  it answers 200 with `"state": "deleted"` and its ETag, since restoring it (`PATCH` with
  `If-Match`) needs that ETag; replacing a deleted policy is a 404 until it is restored.
- The v1 list shows each v2 policy as IBM's placeholder (role `UnsupportedVersion`, subject
  `unsupported version`, `href` under /v2/policies); the v2 list shows v1 policies in v2 form,
  and `PUT /v2/policies/{v1 id}` upgrades one. A v1 `PUT` of a v2 policy is refused.
- A caller sees the policies whose subject it is, and those on resources where it may manage
  access (`iam.policy.read`: Administrator); another account's list is empty, not a 403.
- A policy whose subject is a locked service ID cannot be created, replaced or deleted: 400.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from starlette.responses import Response

from .. import authz, web
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..store import PolicyRow, Store
from ..tokens import Caller
from . import policy_bodies as bodies
from .common import caller_of
from .profiles import profile_resource

router = APIRouter(route_class=LazyRoute)

Limit = Annotated[int, Query(ge=1, le=100)]
_SORTS = (
    "id",
    "type",
    "href",
    "created_at",
    "created_by_id",
    "last_modified_at",
    "last_modified_by_id",
    "state",
)
_SORT_COLUMNS = {
    "created_at": "created_at",
    "created_by_id": "created_by",
    "last_modified_at": "modified_at",
    "last_modified_by_id": "modified_by",
    "href": "id",
}
JsonBody = Annotated[dict[str, Any], Body()]


def not_found(pid: str) -> Problem:
    return Problem(404, f"Policy with ID {pid[:100]} not found", code="policy_not_found")


def _etag(row: PolicyRow) -> dict[str, str]:
    return {"ETag": row.entity_tag}


def _who(request: Request) -> tuple[Store, Caller, authz.Subject]:
    caller = caller_of(request)
    return web.store(request), caller, authz.subject_of(caller)


def readable(subject: authz.Subject, row: PolicyRow) -> bool:
    if bodies.subject_iam_id(row.body) == subject.iam_id:
        return True
    return authz.decide(subject, "iam.policy.read", bodies.target_of(row.body)).permitted


def _found(store: Store, subject: authz.Subject, pid: str) -> PolicyRow:
    row = store.policy(pid)
    if row is None:
        raise not_found(pid)
    if row.account_id != subject.account_id:
        raise Problem(403, "You are not allowed to access this account's policies")
    if not readable(subject, row):
        raise Problem(403, "You are not allowed to view this policy")
    return row


def may_change(
    store: Store, subject: authz.Subject, action: str, body: dict[str, Any], *, grants: bool
) -> None:
    """Whether SUBJECT may do ACTION to a policy of BODY; GRANTS: whether BODY is what will be
    in force afterwards (a create, the new body of a replace, a restore), not what is replaced,
    deleted or revoked."""
    target = bodies.target_of(body)
    authz.require(
        subject,
        action,
        target,
        message=f"You need Administrator on the policy's target to {action.rsplit('.', 1)[1]} it",
    )
    iam_id = bodies.subject_iam_id(body)
    if grants and iam_id is not None and iam_id.startswith("iam-Profile-"):
        # A profile an enterprise template made takes new policies only if the template's
        # action_controls allow it (store/profile_templates.py), however the policy comes to
        # name it: created so, replaced to name it, or restored.
        managed = store.managed_profile(iam_id.removeprefix("iam-"))
        if managed is not None and not managed.may_add("policies"):
            authz.require(
                subject,
                action,
                profile_resource(subject.account_id, managed.profile_id, managed=True),
                message="The trusted profile's template does not allow more access policies",
            )
    if iam_id is not None and iam_id.startswith("iam-ServiceId-"):
        sid = store.service_id(iam_id.removeprefix("iam-"))
        if sid is not None and sid.locked:
            raise bodies.invalid(
                f"Service ID {sid.id} is locked: its access policies cannot change until it is "
                "unlocked"
            )


def _if_match(value: str | None) -> str:
    if not value:
        raise Problem(400, "The If-Match header is required", code="invalid_body")
    return value


# -- lists -----------------------------------------------------------------------------------


def _start(token: str | None) -> int:
    if token is None:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Problem(400, "Invalid query parameter 'start'", code="invalid_body") from None
    if not 0 <= offset < 2**31:
        raise Problem(400, "Invalid query parameter 'start'", code="invalid_body")
    return offset


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def _attr_values(body: dict[str, Any], key: str) -> list[Any]:
    v2 = bodies.as_v2(body)
    return [a["value"] for a in v2["resource"]["attributes"] if a["key"] == key]


def _matches(row: PolicyRow, filters: dict[str, str | None]) -> bool:
    body = bodies.as_v2(row.body)
    subject = {a["key"]: a["value"] for a in body["subject"]["attributes"]}
    for name in ("iam_id", "access_group_id"):
        if filters.get(name) is not None and subject.get(name) != filters[name]:
            return False
    if filters.get("type") is not None and row.type != filters["type"]:
        return False
    for query, key in (
        ("service_type", "serviceType"),
        ("service_name", "serviceName"),
        ("service_group_id", "service_group_id"),
    ):
        if filters.get(query) is not None and filters[query] not in _attr_values(row.body, key):
            return False
    if filters.get("tag_name") is not None or filters.get("tag_value") is not None:
        tags = body["resource"].get("tags") or []
        if not any(
            filters.get("tag_name") in (None, t["key"])
            and filters.get("tag_value") in (None, t["value"])
            for t in tags
        ):
            return False
    return True


def _listing(
    request: Request,
    api: str,
    account_id: str | None,
    state: str | None,
    sort: str | None,
    limit: int | None,
    start: str | None,
    filters: dict[str, str | None],
    render: Any,
) -> Response:
    store, _, subject = _who(request)  # a missing token is a 401 before anything else
    if not account_id:
        raise Problem(
            400,
            "Missing required query parameter 'account_id'",
            code="missing_required_query_parameter",
        )
    descending = bool(sort) and sort.startswith("-")  # type: ignore[union-attr]
    field = (sort or "created_at").lstrip("-")
    if field not in _SORTS:
        raise Problem(400, f"Invalid sort field; valid: {', '.join(_SORTS)}", code="invalid_body")
    rows: list[PolicyRow] = []
    if account_id == subject.account_id:
        rows = [
            r
            for r in store.list_policies(account_id, state=state or "active")
            if _matches(r, filters) and readable(subject, r)
        ]
    column = _SORT_COLUMNS.get(field, field)
    rows.sort(key=lambda r: str(getattr(r, column)).zfill(20), reverse=descending)
    size = limit or 50
    offset = _start(start)
    page = rows[offset : offset + size]
    base = web.base_url(request)
    params = {k: v for k, v in request.query_params.items() if k != "start"}
    url = f"{base}/{api}/policies"

    def link(at: int | None) -> dict[str, str]:
        query = dict(params)
        out: dict[str, str] = {}
        if at:
            query["start"] = out["start"] = _token(at)
        return {"href": f"{url}?{urlencode(query)}", **out}

    body: dict[str, Any] = {"limit": size, "first": link(None)}
    if offset > 0:
        body["previous"] = link(max(0, offset - size))
    if offset + size < len(rows):
        body["next"] = link(offset + size)
    body["policies"] = [render(store, base, r) for r in page]
    return web.json_response(body)


@dataclass
class PolicyQuery:
    """The list query both API versions take (reference §3.1); FastAPI reads it as parameters."""

    account_id: str | None = None
    iam_id: str | None = None
    access_group_id: str | None = None
    type: Literal["access", "authorization"] | None = None
    service_type: Literal["service", "platform_service"] | None = None
    sort: str | None = None
    format: Literal["include_last_permit", "display"] | None = None
    state: Literal["active", "deleted"] | None = None
    limit: Limit | None = None
    start: str | None = None

    def filters(self, **more: str | None) -> dict[str, str | None]:
        return {
            "iam_id": self.iam_id,
            "access_group_id": self.access_group_id,
            "type": self.type,
            "service_type": self.service_type,
            **more,
        }


Listing = Annotated[PolicyQuery, Depends()]


@router.get("/v1/policies", tags=["policies"])
def list_policies(
    request: Request, q: Listing, tag_name: str | None = None, tag_value: str | None = None
) -> Response:
    filters = q.filters(tag_name=tag_name, tag_value=tag_value)
    return _listing(
        request, "v1", q.account_id, q.state, q.sort, q.limit, q.start, filters, bodies.v1_json
    )


@router.get("/v2/policies", tags=["policies"])
def list_v2_policies(
    request: Request,
    q: Listing,
    service_name: str | None = None,
    service_group_id: str | None = None,
) -> Response:
    filters = q.filters(service_name=service_name, service_group_id=service_group_id)

    def render(store: Store, base: str, row: PolicyRow) -> dict[str, Any]:
        return bodies.v2_json(store, base, row, display=q.format == "display")

    return _listing(request, "v2", q.account_id, q.state, q.sort, q.limit, q.start, filters, render)


# -- v1 --------------------------------------------------------------------------------------


def create_policy_body(
    store: Store, subject: authz.Subject, api: str, raw: dict[str, Any]
) -> PolicyRow:
    """Validate RAW as a policy of API (v1 or v2), check SUBJECT may grant it, store it."""
    validate = bodies.v1_body if api == "v1" else bodies.v2_body
    body = validate(store, subject.account_id, raw)
    may_change(store, subject, "iam.policy.create", body, grants=True)
    return store.create_policy(
        account_id=subject.account_id, api=api, body=body, created_by=subject.iam_id
    )


def _create(request: Request, api: str, raw: dict[str, Any]) -> PolicyRow:
    store, _, subject = _who(request)
    return create_policy_body(store, subject, api, raw)


@router.post("/v1/policies", status_code=201, tags=["policies"])
def create_policy(request: Request, body: JsonBody) -> Response:
    row = _create(request, "v1", body)
    store = web.store(request)
    return web.json_response(bodies.v1_json(store, web.base_url(request), row), 201, _etag(row))


@router.get("/v1/policies/{policy_id}", tags=["policies"])
def get_policy(request: Request, policy_id: str) -> Response:
    store, _, subject = _who(request)
    row = _found(store, subject, policy_id)
    return web.json_response(bodies.v1_json(store, web.base_url(request), row), headers=_etag(row))


def _replace(
    request: Request, api: str, policy_id: str, raw: dict[str, Any], if_match: str | None
) -> PolicyRow:
    store, caller, subject = _who(request)
    tag = _if_match(if_match)
    row = _found(store, subject, policy_id)
    if api == "v1" and row.api == "v2":
        raise bodies.invalid("This is a v2 policy: replace it through /v2/policies")
    validate = bodies.v1_body if api == "v1" else bodies.v2_body
    body = validate(store, caller.account_id, raw, current_type=row.type)
    may_change(store, subject, "iam.policy.update", row.body, grants=False)
    may_change(store, subject, "iam.policy.update", body, grants=True)
    return store.replace_policy(
        policy_id, if_match=tag, api=api, body=body, modified_by=caller.iam_id
    )


@router.put("/v1/policies/{policy_id}", tags=["policies"])
def replace_policy(
    request: Request,
    policy_id: str,
    body: JsonBody,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    row = _replace(request, "v1", policy_id, body, if_match)
    store = web.store(request)
    return web.json_response(bodies.v1_json(store, web.base_url(request), row), headers=_etag(row))


def _delete(request: Request, policy_id: str) -> None:
    store, caller, subject = _who(request)
    row = _found(store, subject, policy_id)
    if row.state == "deleted":
        raise not_found(policy_id)
    may_change(store, subject, "iam.policy.delete", row.body, grants=False)
    store.set_policy_state(policy_id, "deleted", if_match=None, modified_by=caller.iam_id)


@router.delete("/v1/policies/{policy_id}", status_code=204, tags=["policies"])
def delete_policy(request: Request, policy_id: str) -> Response:
    _delete(request, policy_id)
    return web.no_content()


@router.patch("/v1/policies/{policy_id}", tags=["policies"])
def update_policy_state(
    request: Request,
    policy_id: str,
    body: JsonBody,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    store, caller, subject = _who(request)
    tag = _if_match(if_match)
    state = body.get("state")
    if state not in ("active", "deleted"):
        raise bodies.invalid("Invalid body: 'state' must be active or deleted")
    row = _found(store, subject, policy_id)
    may_change(store, subject, "iam.policy.update", row.body, grants=state == "active")
    row = store.set_policy_state(policy_id, state, if_match=tag, modified_by=caller.iam_id)
    return web.json_response(bodies.v1_json(store, web.base_url(request), row), headers=_etag(row))


# -- v2 --------------------------------------------------------------------------------------


@router.post("/v2/policies", status_code=201, tags=["policies"])
def create_v2_policy(request: Request, body: JsonBody) -> Response:
    row = _create(request, "v2", body)
    store = web.store(request)
    return web.json_response(bodies.v2_json(store, web.base_url(request), row), 201, _etag(row))


@router.get("/v2/policies/{policy_id}", tags=["policies"])
def get_v2_policy(
    request: Request,
    policy_id: str,
    format: Literal["include_last_permit", "display"] | None = None,
) -> Response:
    store, _, subject = _who(request)
    row = _found(store, subject, policy_id)
    body = bodies.v2_json(store, web.base_url(request), row, display=format == "display")
    return web.json_response(body, headers=_etag(row))


@router.put("/v2/policies/{policy_id}", tags=["policies"])
def replace_v2_policy(
    request: Request,
    policy_id: str,
    body: JsonBody,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    row = _replace(request, "v2", policy_id, body, if_match)
    store = web.store(request)
    return web.json_response(bodies.v2_json(store, web.base_url(request), row), headers=_etag(row))


@router.delete("/v2/policies/{policy_id}", status_code=204, tags=["policies"])
def delete_v2_policy(request: Request, policy_id: str) -> Response:
    _delete(request, policy_id)
    return web.no_content()
