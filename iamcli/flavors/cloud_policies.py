"""IBM Cloud's IAM Policy Management API: `/v1/policies`, `/v2/policies` and `/v2/roles`
(reference/profiles-policies-authz.md §3; IBM's `IamPolicyManagementV1` SDK sends the same).

A service ID is a policy's subject by its `iam_id`; a policy's one resource always carries the
account's `accountId`, added last as IBM's Terraform provider (which mirrors the CLI) does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from ..errors import ProtocolError, UsageError
from ..http import Retry, delete, json_object
from ..models import Policy, Role, ServiceId
from . import PAGE_SIZE, prefetched
from ._wire import Reader
from .policy_api import (
    ACCOUNT_ID,
    SERVICE_TYPE,
    PolicyApi,
    PolicyDraft,
    RoleScope,
    role_name_from_crn,
)

# The role lists of /v2/roles, and what kind of role each holds.
_ROLE_LISTS = (("system_roles", "system"), ("service_roles", "service"), ("custom_roles", "custom"))
# `service_name` values IBM's role list knows (reference §3.3): every IAM-enabled service's
# roles (what Terraform asks when a policy names no service), and resource groups' roles.
ALL_SERVICE_ROLES = "alliamserviceroles"
# All account-management services, as a role list's `service_group_id`.
ACCOUNT_MANAGEMENT_GROUP = "IAM"
STRING_EQUALS = "stringEquals"
# What a v1 list shows in place of each v2 policy (ACCT known-issues).
_V2_MARK = "/v2/policies/"


class CloudPolicies(PolicyApi):
    versions = ("v1", "v2")
    # ibmcloud's `--roles Viewer` alone: all IAM-enabled services (reference §3.5).
    whole_account = ((SERVICE_TYPE, "service"),)

    # -- roles -----------------------------------------------------------------------------

    def roles(self, scope: RoleScope) -> list[Role]:
        params: dict[str, str] = {"account_id": self.account_id}
        if scope.account_management:
            params["service_group_id"] = ACCOUNT_MANAGEMENT_GROUP
        elif scope.service is not None:
            params["service_name"] = scope.service
        elif scope.all_services:
            params["service_name"] = ALL_SERVICE_ROLES
        body = self._read("GET", "/v2/roles", params=params)
        roles: list[Role] = []
        for key, kind in _ROLE_LISTS:
            if key not in body.data:
                continue
            for item in body.items(key):
                roles.append(_role(item, kind))
        return roles

    # -- policies --------------------------------------------------------------------------

    def file_version(self, body: Mapping[str, Any]) -> str:
        # A v2 body grants through `control`; a v1 body lists `roles` and `resources`.
        return "v2" if "control" in body else "v1"

    def file_subject(self, body: Mapping[str, Any]) -> str | None:
        for a in _list(_dict(body, "subject"), "attributes"):
            if a.get("key") == "iam_id":
                return str(a.get("value"))
        for s in _list(body, "subjects"):
            for a in _list(s, "attributes"):
                if a.get("name") == "iam_id":
                    return str(a.get("value"))
        return None

    def policies(self, subject: ServiceId, version: str) -> Iterator[Policy]:
        params = {
            "account_id": self.account_id,
            "iam_id": _iam_id(subject),
            "type": "access",
            "limit": PAGE_SIZE,
        }

        def fetch(start: str | None) -> Reader:
            query = dict(params) if start is None else {**params, "start": start}
            return self._read("GET", f"/{version}/policies", params=query)

        seen: set[str] = set()

        def following(page: Reader) -> str | None:
            following_page = page.data.get("next")
            if not isinstance(following_page, dict):
                return None
            start = following_page.get("start")
            if not isinstance(start, str) or not start:
                return None
            if start in seen:  # a server sending us round in circles
                raise ProtocolError(
                    f"unexpected answer from {self.flavor.where}: a page token came back twice"
                )
            seen.add(start)
            return start

        parse = _v2_policy if version == "v2" else _v1_policy
        for page in prefetched(fetch, None, following):
            for item in page.items("policies"):
                yield parse(item, None)

    def policy(self, subject: ServiceId, policy_id: str, version: str) -> Policy:
        response = self._send("GET", _path(version, policy_id), retry=Retry.IDEMPOTENT)
        return self._parse(response, version)

    def create_policy(self, subject: ServiceId, draft: PolicyDraft, version: str) -> Policy:
        body = self._body(subject, draft, version, current=None)
        response = self._send("POST", f"/{version}/policies", retry=Retry.CREATE, json=body)
        return self._parse(response, version)

    def replace_policy(
        self, subject: ServiceId, current: Policy, draft: PolicyDraft, version: str
    ) -> Policy:
        body = self._body(subject, draft, version, current=current)
        # Guarded by the version read before: a change made meanwhile gets a 412, not lost.
        response = self._send(
            "PUT",
            _path(version, current.id),
            retry=Retry.IDEMPOTENT,
            json=body,
            headers={"If-Match": current.entity_tag or "*"},
        )
        return self._parse(response, version)

    def delete_policy(self, subject: ServiceId, policy_id: str, version: str) -> None:
        delete(self.flavor.client, _path(version, policy_id), headers=self.flavor.auth_headers())

    # -- wire ------------------------------------------------------------------------------

    def _read(self, method: str, path: str, **kwargs: Any) -> Reader:
        response = self._send(method, path, retry=Retry.IDEMPOTENT, **kwargs)
        return Reader(json_object(response), self.flavor.where)

    def _parse(self, response: httpx.Response, version: str) -> Policy:
        r = Reader(json_object(response), self.flavor.where)
        etag = response.headers.get("ETag")
        return _v2_policy(r, etag) if version == "v2" else _v1_policy(r, etag)

    def _body(
        self, subject: ServiceId, draft: PolicyDraft, version: str, *, current: Policy | None
    ) -> dict[str, Any]:
        if draft.body is not None:
            return self._file_body(subject, draft.body, version)
        base = dict(current.wire or {}) if current is not None else {}
        if version == "v2":
            return self._v2_body(subject, draft, base)
        return self._v1_body(subject, draft, base)

    def _account_attribute(self, version: str) -> dict[str, str]:
        if version == "v2":
            return {"key": ACCOUNT_ID, "operator": STRING_EQUALS, "value": self.account_id}
        return {"name": ACCOUNT_ID, "value": self.account_id, "operator": STRING_EQUALS}

    def _v1_body(
        self, subject: ServiceId, draft: PolicyDraft, base: dict[str, Any]
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"type": base.get("type") or "access"}
        if isinstance(base.get("description"), str):
            body["description"] = base["description"]
        body["subjects"] = [{"attributes": [{"name": "iam_id", "value": _iam_id(subject)}]}]
        if draft.roles is not None:
            body["roles"] = [{"role_id": role.crn} for role in draft.roles]
        else:
            body["roles"] = [{"role_id": r["role_id"]} for r in _list(base, "roles")]
        if draft.resources is not None:
            attributes = [
                {"name": name, "value": value, "operator": STRING_EQUALS}
                for name, value in draft.resources
                if name != ACCOUNT_ID
            ]
            body["resources"] = [{"attributes": [*attributes, self._account_attribute("v1")]}]
        else:
            body["resources"] = _list(base, "resources")
        return body

    def _v2_body(
        self, subject: ServiceId, draft: PolicyDraft, base: dict[str, Any]
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"type": base.get("type") or "access"}
        # A replace keeps what the flags cannot express: description, conditions.
        for kept in ("description", "pattern", "rule"):
            if base.get(kept) is not None:
                body[kept] = base[kept]
        if draft.roles is not None:
            roles = [{"role_id": role.crn} for role in draft.roles]
        else:
            grant = _dict(_dict(base, "control"), "grant")
            roles = [{"role_id": r["role_id"]} for r in _list(grant, "roles")]
        body["control"] = {"grant": {"roles": roles}}
        body["subject"] = {
            "attributes": [{"key": "iam_id", "operator": STRING_EQUALS, "value": _iam_id(subject)}]
        }
        if draft.resources is not None:
            attributes = [
                {"key": name, "operator": STRING_EQUALS, "value": value}
                for name, value in draft.resources
                if name != ACCOUNT_ID
            ]
            body["resource"] = {"attributes": [*attributes, self._account_attribute("v2")]}
        else:
            body["resource"] = _dict(base, "resource")
        return body

    def _file_body(
        self, subject: ServiceId, given: Mapping[str, Any], version: str
    ) -> dict[str, Any]:
        """A `--file` body as sent: its subject is the service ID the command names (a file
        naming someone else must not grant them access unnoticed; the caller warns), and its
        resource carries the account when the file leaves it out."""
        body = dict(given)
        body.setdefault("type", "access")
        if version == "v2":
            body["subject"] = {
                "attributes": [
                    {"key": "iam_id", "operator": STRING_EQUALS, "value": _iam_id(subject)}
                ]
            }
            resource = body.get("resource")
            if isinstance(resource, dict):
                body["resource"] = _with_account(resource, "key", self._account_attribute("v2"))
            return body
        body["subjects"] = [{"attributes": [{"name": "iam_id", "value": _iam_id(subject)}]}]
        resources = body.get("resources")
        if isinstance(resources, list):
            body["resources"] = [
                _with_account(r, "name", self._account_attribute("v1"))
                if isinstance(r, dict)
                else r
                for r in resources
            ]
        return body


def _with_account(resource: dict[str, Any], key: str, account: dict[str, str]) -> dict[str, Any]:
    attributes = resource.get("attributes")
    if not isinstance(attributes, list):
        return resource
    if any(isinstance(a, dict) and a.get(key) == ACCOUNT_ID for a in attributes):
        return resource
    return {**resource, "attributes": [*attributes, account]}


def _path(version: str, policy_id: str) -> str:
    if not policy_id or "/" in policy_id or policy_id in (".", ".."):
        raise UsageError(f"{policy_id!r} is not a policy ID")
    return f"/{version}/policies/{quote(policy_id, safe='')}"


def _iam_id(subject: ServiceId) -> str:
    if subject.iam_id is None:
        raise ProtocolError(f"service ID {subject.id} has no iam_id")
    return subject.iam_id


def _dict(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _role(r: Reader, kind: str) -> Role:
    actions = r.data.get("actions")
    return Role(
        crn=r.text("crn"),
        display_name=r.text("display_name"),
        description=r.opt_text("description"),
        actions=tuple(str(a) for a in actions) if isinstance(actions, list) else (),
        kind=kind,
        wire=dict(r.data),
    )


def _policy_role(r: Reader) -> Role:
    crn = r.text("role_id")
    return Role(
        crn=crn,
        display_name=r.opt_text("display_name") or role_name_from_crn(crn),
        description=r.opt_text("description"),
    )


def _text_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _v1_policy(r: Reader, etag: str | None) -> Policy:
    if "control" in r.data:  # a v2 policy where a v1 one was expected: read it as what it is
        return _v2_policy(r, etag)
    resources = r.items("resources")
    pairs = (
        tuple(
            (a.text("name"), _text_value(a.data.get("value")))
            for a in resources[0].items("attributes")
        )
        if resources
        else ()
    )
    subject = None
    for s in r.items("subjects"):
        for a in s.items("attributes"):
            if a.opt_text("name") == "iam_id":
                subject = a.opt_text("value")
    href = r.opt_text("href") or ""
    return Policy(
        id=r.text("id"),
        roles=tuple(_policy_role(x) for x in r.items("roles")),
        resources=pairs,
        subject_iam_id=subject,
        # A v1 list's stand-in for a v2 policy links to /v2/policies/{id}.
        api_version="v2" if _V2_MARK in href else "v1",
        description=r.opt_text("description"),
        entity_tag=etag,
        state=r.opt_text("state"),
        wire=dict(r.data),
    )


def _v2_policy(r: Reader, etag: str | None) -> Policy:
    grant = r.obj("control").obj("grant")
    resource = r.data.get("resource")
    pairs: tuple[tuple[str, str], ...] = ()
    if isinstance(resource, dict):
        pairs = tuple(
            (a.text("key"), _text_value(a.data.get("value")))
            for a in Reader(resource, r.where).items("attributes")
        )
    subject = None
    if isinstance(r.data.get("subject"), dict):
        for a in r.obj("subject").items("attributes"):
            if a.opt_text("key") == "iam_id":
                subject = a.opt_text("value")
    return Policy(
        id=r.text("id"),
        roles=tuple(_policy_role(x) for x in grant.items("roles")),
        resources=pairs,
        subject_iam_id=subject,
        api_version="v2",
        description=r.opt_text("description"),
        conditions=r.data.get("rule") is not None or r.data.get("pattern") is not None,
        entity_tag=etag,
        state=r.opt_text("state"),
        wire=dict(r.data),
    )
