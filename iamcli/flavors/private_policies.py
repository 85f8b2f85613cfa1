"""The cluster's policy API (IBM Cloud Private's iam-pap, reference/icp-iam.md §8): the
policies of a service ID at `/iam-pap/acms/v1/scopes/{scope}/service_ids/{id}/policies`, its
roles at `/iam-pap/acms/v1/roles`.

UNCONFIRMED, and chosen as follows. ICP's ingress publishes iam-pap under `/iam-pap/` with its
prefix stripped (the IAM operator's ingress; an ICP support script calls
`/iam-pap/acms/v1/services/...`). Below that prefix the API is the one IBM Cloud's PAP had
before the Policy Management API (`acms/v1`, as IBM's bluemix-go client speaks it): scope
`a/<account>` (one path segment, `/` escaped), a policy `{"id", "roles": [{"id",
"displayName", "description"}], "resources": [{"serviceName", "accountId", ...}]}` with its
version in the `ETag` header (sent back as `If-Match`), lists as `{"policies": [...]}`, and
roles as `{"systemDefinedRoles": [{"crn", "displayName", "description"}]}` or, for one
service, `{"supportedRoles": [...], "platformExtensions": {"supportedRoles": [...]}}`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from ..errors import UsageError
from ..http import Retry, delete, json_object
from ..models import Policy, Role, ServiceId
from ._wire import Reader
from .policy_api import ACCOUNT_ID, PolicyApi, PolicyDraft, RoleScope, role_name_from_crn

PREFIX = "/iam-pap/acms/v1"


class PrivatePolicies(PolicyApi):
    versions = ("v1",)
    # ICP's resources have no service type: the account alone is all of it (UNCONFIRMED).

    def roles(self, scope: RoleScope) -> list[Role]:
        if scope.account_management:
            raise self.flavor.unsupported("--account-management")
        params = {"serviceName": scope.service} if scope.service else {}
        body = self._read("GET", f"{PREFIX}/roles", params=params)
        if "systemDefinedRoles" in body.data:
            return [_role(r, "crn", "system") for r in body.items("systemDefinedRoles")]
        roles = [_role(r, "id", "service") for r in body.items("supportedRoles")]
        extensions = body.data.get("platformExtensions")
        if isinstance(extensions, dict) and "supportedRoles" in extensions:
            roles += [
                _role(r, "id", "system")
                for r in body.obj("platformExtensions").items("supportedRoles")
            ]
        return roles

    def policies(self, subject: ServiceId, version: str) -> Iterator[Policy]:
        body = self._read("GET", self._path(subject))
        for item in body.items("policies"):
            yield _policy(item, subject, None)

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
        scope = quote(f"a/{self.account_id}", safe="")
        path = f"{PREFIX}/scopes/{scope}/service_ids/{quote(subject.id, safe='')}/policies"
        if policy_id is None:
            return path
        if not policy_id or "/" in policy_id or policy_id in (".", ".."):
            raise UsageError(f"{policy_id!r} is not a policy ID")
        return f"{path}/{quote(policy_id, safe='')}"

    def _read(self, method: str, path: str, **kwargs: Any) -> Reader:
        response = self._send(method, path, retry=Retry.IDEMPOTENT, **kwargs)
        return Reader(json_object(response), self.flavor.where)

    def _parse(self, response: httpx.Response, subject: ServiceId) -> Policy:
        r = Reader(json_object(response), self.flavor.where)
        return _policy(r, subject, response.headers.get("ETag"))

    def _body(self, draft: PolicyDraft, current: Policy | None) -> dict[str, Any]:
        if draft.body is not None:
            body = dict(draft.body)
            resources = body.get("resources")
            if isinstance(resources, list):
                body["resources"] = [
                    {**r, ACCOUNT_ID: r.get(ACCOUNT_ID, self.account_id)}
                    if isinstance(r, dict)
                    else r
                    for r in resources
                ]
            return body
        if draft.roles is not None:
            roles = [{"id": role.crn} for role in draft.roles]
        else:
            roles = [{"id": role.crn} for role in (current.roles if current else ())]
        if draft.resources is not None:
            resource = {name: value for name, value in draft.resources if name != ACCOUNT_ID}
            resources = [{**resource, ACCOUNT_ID: self.account_id}]
        else:
            kept = (current.wire or {}).get("resources") if current else None
            resources = kept if isinstance(kept, list) else [{ACCOUNT_ID: self.account_id}]
        return {"roles": roles, "resources": resources}


def _role(r: Reader, crn_key: str, kind: str) -> Role:
    crn = r.text(crn_key)
    return Role(
        crn=crn,
        display_name=r.opt_text("displayName") or role_name_from_crn(crn),
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
