"""The private family's service-ID policies, iam-pap's API (reference/icp-iam.md §7.4, §8):
`/iam-pap/v1/scopes/{scope}/service_ids/{service_id}/policies[/{policy_id}]`.

Choices where ICP is unconfirmed (README, "Access policies"):
- the external prefix is `/iam-pap` (iam-pap's own path is `/v1/scopes/…`; the ingress prefix is
  unknown); `scope` is the caller's account ID (the token's `account.bss`);
- the body is iam-pap's `{"resources": [{"namespaceId", "serviceName", "serviceInstance",
  "resourceType", "resource"}], "roles": [{"id": "crn:v1:icp:private:iam::::role:<Role>"}]}` with
  roles ClusterAdministrator, Administrator, Operator, Editor, Viewer, Auditor, which the engine
  reads as Administrator, Administrator, Operator, Editor, Viewer, Viewer;
- `serviceName` `idmgmt` (cloudctl's example for managing identities) means this server's
  Identity API, `iam-identity`;
- answers: `{"id", "type", "subjects": [{"serviceId"}], "resources", "roles", "createdAt",
  "modifiedAt", "version"}`, create 201, delete 204, errors in the private family's shape;
- the same rules as the cloud API's policies decide who may create, change and read them, and
  the policies are the same policies: the cloud API lists them (as v2 policies).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request
from starlette.responses import Response

from .. import authz, formats, web
from ..authz import catalog
from ..authz.catalog import ICP, ICP_ROLES
from ..cloud import policies as cloud_policies
from ..cloud.policy_bodies import subject_iam_id
from ..lazy_routes import LazyRoute
from ..problems import Problem
from ..store import PolicyRow, ServiceId, Store
from ..tokens import Caller
from .common import caller_of

router = APIRouter(route_class=LazyRoute)
JsonBody = Annotated[dict[str, Any], Body()]
PREFIX = "/iam-pap/v1/scopes/{scope}/service_ids/{service_id}/policies"
RESOURCE_FIELDS = ("namespaceId", "serviceName", "serviceInstance", "resourceType", "resource")
SERVICE_ALIASES = {"idmgmt": "iam-identity"}


def _invalid(message: str) -> Problem:
    return Problem(400, message)


def _body(account_id: str, sid: ServiceId, raw: dict[str, Any]) -> dict[str, Any]:
    """iam-pap's body as this server's v2 policy, with the original kept for the answers."""
    resources = raw.get("resources")
    if not isinstance(resources, list) or len(resources) != 1 or not isinstance(resources[0], dict):
        raise _invalid("resources must be a list of one resource")
    resource = resources[0]
    extra = set(resource) - set(RESOURCE_FIELDS)
    if extra:
        raise _invalid(f"unknown resource field {sorted(extra)[0][:50]}")
    for name, value in resource.items():
        if not isinstance(value, str) or not 1 <= len(value) <= 1000:
            raise _invalid(f"resources[0].{name} must be a string of 1-1000 characters")
    if "serviceName" not in resource:
        raise _invalid("resources[0].serviceName is required")
    roles = raw.get("roles")
    if not isinstance(roles, list) or not 1 <= len(roles) <= 10:
        raise _invalid("roles must be a list of 1-10 roles")
    role_ids = []
    for role in roles:
        crn = role.get("id") if isinstance(role, dict) else None
        if not isinstance(crn, str) or crn.removeprefix(ICP) not in ICP_ROLES:
            names = ", ".join(ICP_ROLES)
            raise _invalid(f"each role id must be {ICP}<role>, a role of: {names}")
        role_ids.append({"role_id": crn})
    attrs = [{"key": "accountId", "operator": "stringEquals", "value": account_id}]
    for name in RESOURCE_FIELDS:
        if name in resource:
            value = resource[name]
            if name == "serviceName":
                value = SERVICE_ALIASES.get(value, value)
            attrs.append({"key": name, "operator": "stringEquals", "value": value})
    return {
        "type": "access",
        "control": {"grant": {"roles": role_ids}},
        "subject": {
            "attributes": [{"key": "iam_id", "operator": "stringEquals", "value": sid.iam_id}]
        },
        "resource": {"attributes": attrs},
        "icp": {"resources": [dict(resource)], "roles": [{"id": r["role_id"]} for r in role_ids]},
    }


def _json(row: PolicyRow) -> dict[str, Any]:
    icp = row.body.get("icp")
    if icp is None:  # a policy made through the cloud API, shown in iam-pap's terms
        attrs = {a["key"]: a["value"] for a in row.body["resource"]["attributes"]}
        icp = {
            "resources": [{k: v for k, v in attrs.items() if k in RESOURCE_FIELDS}],
            "roles": [{"id": r["role_id"]} for r in row.body["control"]["grant"]["roles"]],
        }
    iam_id = subject_iam_id(row.body) or ""
    return {
        "id": row.id,
        "type": row.type,
        "subjects": [{"serviceId": iam_id.removeprefix("iam-")}],
        "resources": icp["resources"],
        "roles": icp["roles"],
        "createdAt": formats.ibm_time(row.created_at // 1000),
        "modifiedAt": formats.ibm_time(row.modified_at // 1000),
        "version": row.entity_tag,
    }


def _context(request: Request, scope: str, service_id: str) -> tuple[Store, Caller, ServiceId]:
    caller = caller_of(request)
    if scope != caller.account_id:
        raise Problem(403, "scope must be the caller's account")
    store = web.store(request)
    return store, caller, web.owned_service_id(store, caller, service_id)


def _policy(store: Store, caller: Caller, sid: ServiceId, policy_id: str) -> PolicyRow:
    row = store.policy(policy_id)
    if row is None or row.state != "active" or subject_iam_id(row.body) != sid.iam_id:
        raise Problem(404, f"Policy {policy_id[:100]} not found")
    if row.account_id != caller.account_id:
        raise Problem(403, "You are not allowed to access this policy")
    return row


def _may(store: Store, caller: Caller, action: str, body: dict[str, Any], *, grants: bool) -> None:
    cloud_policies.may_change(store, authz.subject_of(caller), action, body, grants=grants)


@router.get("/iam-pap/v1/roles", tags=["private policies"])
def list_roles(request: Request) -> Response:
    """The roles a service-ID policy may grant (our own listing: ICP's is unconfirmed)."""
    caller_of(request)
    return web.json_response(
        [
            {"id": ICP + name, "name": name, "description": catalog.builtin_description(ICP + name)}
            for name in ICP_ROLES
        ]
    )


@router.post(PREFIX, status_code=201, tags=["private policies"])
def create_policy(request: Request, scope: str, service_id: str, body: JsonBody) -> Response:
    store, caller, sid = _context(request, scope, service_id)
    policy = _body(caller.account_id, sid, body)
    _may(store, caller, "iam.policy.create", policy, grants=True)
    row = store.create_policy(
        account_id=caller.account_id, api="icp", body=policy, created_by=caller.iam_id
    )
    return web.json_response(_json(row), 201)


@router.get(PREFIX, tags=["private policies"])
def list_policies(request: Request, scope: str, service_id: str) -> Response:
    store, caller, sid = _context(request, scope, service_id)
    subject = authz.subject_of(caller)
    rows = [
        r
        for r in store.list_policies(caller.account_id)
        if subject_iam_id(r.body) == sid.iam_id and cloud_policies.readable(subject, r)
    ]
    return web.json_response([_json(r) for r in rows])


@router.get(PREFIX + "/{policy_id}", tags=["private policies"])
def get_policy(request: Request, scope: str, service_id: str, policy_id: str) -> Response:
    store, caller, sid = _context(request, scope, service_id)
    row = _policy(store, caller, sid, policy_id)
    if not cloud_policies.readable(authz.subject_of(caller), row):
        raise Problem(403, "You are not allowed to view this policy")
    return web.json_response(_json(row))


@router.put(PREFIX + "/{policy_id}", tags=["private policies"])
def replace_policy(
    request: Request,
    scope: str,
    service_id: str,
    policy_id: str,
    body: JsonBody,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    store, caller, sid = _context(request, scope, service_id)
    row = _policy(store, caller, sid, policy_id)
    policy = _body(caller.account_id, sid, body)
    _may(store, caller, "iam.policy.update", row.body, grants=False)
    _may(store, caller, "iam.policy.update", policy, grants=True)
    updated = store.replace_policy(
        policy_id, if_match=if_match or "*", api="icp", body=policy, modified_by=caller.iam_id
    )
    return web.json_response(_json(updated))


@router.delete(PREFIX + "/{policy_id}", status_code=204, tags=["private policies"])
def delete_policy(request: Request, scope: str, service_id: str, policy_id: str) -> Response:
    store, caller, sid = _context(request, scope, service_id)
    row = _policy(store, caller, sid, policy_id)
    _may(store, caller, "iam.policy.delete", row.body, grants=False)
    store.set_policy_state(policy_id, "deleted", if_match=None, modified_by=caller.iam_id)
    return web.no_content()
