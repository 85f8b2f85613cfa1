"""The cluster's policy API (IBM Cloud Private's iam-pap, reference/icp-iam.md §7.4, §8): the
policies of a service ID at `/iam-pap/v1/scopes/{account}/service_ids/{id}/policies`, the
roles they grant at `/iam-pap/v1/roles`.

UNCONFIRMED, and chosen as follows. The path is iam-pap's own `/v1/scopes/...` (reference §8)
under its ingress prefix `/iam-pap/` (the IAM operator's ingress), with the account as scope:
what `iamcli serve` answers. Other evidence points elsewhere, and is written down for whoever
can check a real cluster: an ICP support script calls `/iam-pap/acms/v1/services/...`, and
IBM Cloud's pre-2019 PAP, whose shapes iam-pap shares, lived at `/acms/v1/scopes/a%2F<account>/
service_ids/<id>/policies` (IBM's bluemix-go client). Answers are read in either form: lists as
a JSON array or `{"policies": [...]}`, roles as an array of `{"id", "name"}` or
`{"systemDefinedRoles": [{"crn", "displayName"}]}` / `{"supportedRoles": [...]}`, and a
policy's version from its `ETag` header or its `version` field.

A request carries `{"roles": [{"id": <crn>}], "resources": [{"serviceName", ...}]}`, the body of
ICP's KMS example: no `accountId` (the scope says it) and a service always (ICP's console makes
the service type the one required part of a service-ID policy).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from ..errors import ProtocolError, UsageError
from ..http import Retry, delete, json_object
from ..models import Policy, Role, ServiceId
from ._wire import Reader
from .policy_api import (
    ACCOUNT_ID,
    PolicyApi,
    PolicyDraft,
    RoleScope,
    role_name_from_crn,
)

PREFIX = "/iam-pap/v1"


class PrivatePolicies(PolicyApi):
    versions = ("v1",)
    requires_service = True
    has_account_management = False

    def roles(self, scope: RoleScope) -> list[Role]:
        if scope.account_management:
            raise self.flavor.unsupported("--account-management")
        params = {"serviceName": scope.service} if scope.service else {}
        data = self._json("GET", f"{PREFIX}/roles", params=params)
        if isinstance(data, list):
            return [_role(Reader(r, self.flavor.where), "id", "system") for r in data]
        body = Reader(data, self.flavor.where)
        if "systemDefinedRoles" in body.data:
            return [_role(r, "crn", "system") for r in body.items("systemDefinedRoles")]
        roles = [_role(r, "id", "service") for r in body.items("supportedRoles")]
        extensions = body.data.get("platformExtensions")
        if isinstance(extensions, dict) and "supportedRoles" in extensions:
            more = body.obj("platformExtensions").items("supportedRoles")
            roles += [_role(r, "id", "system") for r in more]
        return roles

    def policies(self, subject: ServiceId, version: str) -> Iterator[Policy]:
        data = self._json("GET", self._path(subject))
        if isinstance(data, dict):
            data = data.get("policies")
        if not isinstance(data, list):
            raise ProtocolError(f"unexpected answer from {self.flavor.where}: not a policy list")
        for item in data:
            yield _policy(Reader(item, self.flavor.where), subject, None)

    def policy(self, subject: ServiceId, policy_id: str, version: str) -> Policy:
        response = self._send("GET", self._path(subject, policy_id), retry=Retry.IDEMPOTENT)
        return self._parse(response, subject)

    def create_policy(self, subject: ServiceId, draft: PolicyDraft, version: str) -> Policy:
        response = self._send(
            "POST",
            self._path(subject),
            retry=Retry.CREATE,
            json=self._body(draft, None),
        )
        return self._parse(response, subject)

    def replace_policy(
        self, subject: ServiceId, current: Policy, draft: PolicyDraft, version: str
    ) -> Policy:
        headers = {"If-Match": current.entity_tag} if current.entity_tag else {}
        response = self._send(
            "PUT",
            self._path(subject, current.id),
            retry=Retry.IDEMPOTENT,
            json=self._body(draft, current),
            headers=headers,
        )
        return self._parse(response, subject)

    def delete_policy(self, subject: ServiceId, policy_id: str, version: str) -> None:
        delete(
            self.flavor.client,
            self._path(subject, policy_id),
            headers=self.flavor.auth_headers(),
        )

    # -- wire ------------------------------------------------------------------------------

    def _path(self, subject: ServiceId, policy_id: str | None = None) -> str:
        scope = quote(self.account_id, safe="")
        path = f"{PREFIX}/scopes/{scope}/service_ids/{quote(subject.id, safe='')}/policies"
        if policy_id is None:
            return path
        if not policy_id or "/" in policy_id or policy_id in (".", ".."):
            raise UsageError(f"{policy_id!r} is not a policy ID")
        return f"{path}/{quote(policy_id, safe='')}"

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, retry=Retry.IDEMPOTENT, **kwargs)
        try:
            return json.loads(response.content)
        except ValueError:
            raise ProtocolError(f"invalid JSON from {self.flavor.where}") from None

    def _parse(self, response: httpx.Response, subject: ServiceId) -> Policy:
        r = Reader(json_object(response), self.flavor.where)
        return _policy(r, subject, response.headers.get("ETag") or r.opt_text("version"))

    def _body(self, draft: PolicyDraft, current: Policy | None) -> dict[str, Any]:
        if draft.body is not None:
            return dict(draft.body)
        if draft.roles is not None:
            roles = [{"id": role.crn} for role in draft.roles]
        else:
            roles = [{"id": role.crn} for role in (current.roles if current else ())]
        if draft.resources is not None:
            resource = {name: value for name, value in draft.resources if name != ACCOUNT_ID}
        else:
            resource = {k: v for k, v in (current.resources if current else ()) if k != ACCOUNT_ID}
        return {"roles": roles, "resources": [resource]}


def _role(r: Reader, crn_key: str, kind: str) -> Role:
    crn = r.text(crn_key)
    name = r.opt_text("displayName") or r.opt_text("name") or role_name_from_crn(crn)
    return Role(
        crn=crn,
        display_name=name,
        description=r.opt_text("description"),
        kind=kind,
        wire=dict(r.data),
    )


def _policy(r: Reader, subject: ServiceId, etag: str | None) -> Policy:
    resources = r.items("resources") if "resources" in r.data else []
    pairs = (
        tuple((str(k), str(v)) for k, v in resources[0].data.items() if isinstance(v, str | int))
        if resources
        else ()
    )
    roles = tuple(
        Role(
            crn=x.text("id"),
            display_name=x.opt_text("displayName") or role_name_from_crn(x.text("id")),
            description=x.opt_text("description"),
        )
        for x in r.items("roles")
    )
    return Policy(
        id=r.text("id"),
        roles=roles,
        resources=pairs,
        # The path names the service ID: every policy under it is that ID's.
        subject_iam_id=subject.iam_id,
        entity_tag=etag,
        wire=dict(r.data),
    )
