"""IBM's policy decision point for services: `POST /v2/authz` and `/v2/authz/bulk` (reference §4.4).

A service asks whether a subject may perform an action on a resource, and the answer comes from
the same engine that guards this server's own routes. Choices where IBM is unconfirmed:
- any valid token of the account may ask, about subjects of its own account only (a subject of
  another account is denied); the token may come with or without `Bearer ` (FOC sends it bare);
- the body is a JSON array of requests (an object with a `requests` array is taken too), as
  `application/json` or `application/vnd.authz.v2+json`;
- a subject is `attributes.id` (an IAM ID; `accountId` defaults to the caller's), or
  `accessTokenBody` (the middle segment of a token of this server, read for its `iam_id`); an ID
  the account does not know is denied;
- a resource is a `crn` or `attributes` (`serviceName`, `accountId`, `serviceInstance`, `region`,
  `resourceType`, `resource`, ...);
- `/v2/authz` answers `{"responses": [{"authorizationDecision": {"permitted", "obligation"}}]}`
  and `/v2/authz/bulk` `{"decisions": [{"decision": "Permit" | "Deny", "obligation"}]}`, one per
  request, in order; at most 100 requests.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from starlette.responses import Response

from .. import authz, web
from ..lazy_routes import LazyRoute
from ..tokens import Caller
from .policy_bodies import invalid

router = APIRouter(route_class=LazyRoute)
MAX_REQUESTS = 100
CACHE_SECONDS = 600
_CRN_FIELDS = ("serviceName", "region", "accountId", "serviceInstance", "resourceType", "resource")
_KEY_PATTERN = {
    "order": ["subject", "resource", "action"],
    "subject": [["id"], ["id", "scope"]],
    "resource": [
        [],
        ["serviceName"],
        ["serviceName", "accountId"],
        ["serviceName", "accountId", "serviceInstance"],
        ["serviceName", "accountId", "serviceInstance", "resourceType"],
        ["serviceName", "accountId", "serviceInstance", "resourceType", "resource"],
    ],
}


def _caller(request: Request) -> Caller:
    header = request.headers.get("authorization", "")
    if header and " " not in header.strip():
        header = "Bearer " + header.strip()
    return web.tokens(request).caller(header)


def _crn(text: str) -> dict[str, str]:
    parts = text.split(":")
    if len(parts) != 10 or parts[0] != "crn" or parts[1] != "v1":
        raise invalid("Invalid body: a resource crn must be crn:v1:<cname>:<ctype>:<service>:…")
    service, location, scope, instance, rtype, resource = parts[4:10]
    values = [service, location, scope.removeprefix("a/"), instance, rtype, resource]
    return {k: v for k, v in zip(_CRN_FIELDS, values, strict=True) if v}


def _resource(item: dict[str, Any], account_id: str) -> authz.Resource:
    raw = item.get("resource")
    if not isinstance(raw, dict):
        raise invalid("Invalid body: every request needs a resource")
    if isinstance(raw.get("crn"), str):
        attrs = _crn(raw["crn"])
    elif isinstance(raw.get("attributes"), dict):
        attrs = {k: v for k, v in raw["attributes"].items() if isinstance(v, str)}
    else:
        raise invalid("Invalid body: a resource is a crn or attributes")
    known = ("accountId", "serviceName", "resourceType", "resource")
    return authz.Resource(
        attrs.get("accountId", account_id),
        service_name=attrs.get("serviceName", ""),
        resource_type=attrs.get("resourceType"),
        resource=attrs.get("resource"),
        attributes={k: v for k, v in attrs.items() if k not in known},
    )


def _subject_id(raw: Any) -> tuple[str, str | None]:
    if not isinstance(raw, dict):
        raise invalid("Invalid body: every request needs a subject")
    attrs = raw.get("attributes")
    if isinstance(attrs, dict) and isinstance(attrs.get("id"), str):
        account = attrs.get("accountId")
        return attrs["id"], account if isinstance(account, str) else None
    body = raw.get("accessTokenBody")
    if isinstance(body, str):
        try:
            claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            iam_id = claims["iam_id"]
            account = (claims.get("account") or {}).get("bss")
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            raise invalid("Invalid body: accessTokenBody is not a token's claims") from None
        if isinstance(iam_id, str):
            return iam_id, account if isinstance(account, str) else None
    raise invalid("Invalid body: a subject is attributes.id or accessTokenBody")


def _decide(request: Request, caller: Caller, item: Any) -> authz.Decision:
    if not isinstance(item, dict):
        raise invalid("Invalid body: every request must be an object")
    action = item.get("action")
    if not isinstance(action, str) or not 1 <= len(action) <= 256:
        raise invalid("Invalid body: every request needs an action")
    iam_id, account = _subject_id(item.get("subject"))
    resource = _resource(item, caller.account_id)
    identity = web.store(request).identity(iam_id)
    if account not in (None, caller.account_id) or identity is None:
        return authz.Decision(False, "not a subject of the caller's account")
    if identity.account_id != caller.account_id:
        return authz.Decision(False, "not a subject of the caller's account")
    subject = authz.Subject(iam_id, caller.account_id, identity.kind, {}, caller.engine)
    return authz.decide(subject, action, resource)


def _requests(body: Any) -> list[Any]:
    items = body.get("requests") if isinstance(body, dict) else body
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_REQUESTS:
        raise invalid(f"Invalid body: expected an array of 1-{MAX_REQUESTS} requests")
    return items


def _obligation(item: dict[str, Any], decision: authz.Decision) -> dict[str, Any]:
    return {
        "actions": [item["action"]] if decision.permitted else [],
        "maxCacheAgeSeconds": CACHE_SECONDS,
        "subject": {"attributes": {"id": _subject_id(item["subject"])[0]}},
    }


@router.post("/v2/authz", tags=["authorization"])
def authorize(request: Request, body: Annotated[Any, Body()]) -> Response:
    caller = _caller(request)
    items = _requests(body)
    responses = []
    for item in items:
        decision = _decide(request, caller, item)
        answer: dict[str, Any] = {
            "authorizationDecision": {
                "permitted": decision.permitted,
                "obligation": _obligation(item, decision),
            }
        }
        if isinstance(item.get("requestId"), str):
            answer["requestId"] = item["requestId"]
        responses.append(answer)
    return web.json_response({"responses": responses})


@router.post("/v2/authz/bulk", tags=["authorization"])
def authorize_bulk(request: Request, body: Annotated[Any, Body()]) -> Response:
    caller = _caller(request)
    decisions = []
    for item in _requests(body):
        decision = _decide(request, caller, item)
        decisions.append(
            {
                "decision": "Permit" if decision.permitted else "Deny",
                "obligation": _obligation(item, decision),
            }
        )
    return web.json_response({"decisions": decisions, "cacheKeyPattern": _KEY_PATTERN})
