"""Access policies and roles behind one set of verbs, whichever API family holds them.

`cloud_policies.py` speaks IBM Cloud's IAM Policy Management API (`/v1/policies`,
`/v2/policies`, `/v2/roles`); `private_policies.py` speaks the cluster's policy API (IBM
Cloud Private's iam-pap). Services hand them a `PolicyDraft`, made of resolved roles and
resource attributes, and get `Policy` objects back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from ..http import Retry, send
from ..models import Policy, Role, ServiceId

if TYPE_CHECKING:
    from . import Flavor

# The policy flags of `ibmcloud iam service-policy-create`, as the resource attributes they
# set (TF's GeneratePolicyOptions mirrors the CLI; reference §3.5).
SERVICE_NAME = "serviceName"
SERVICE_TYPE = "serviceType"
RESOURCE_GROUP_ID = "resourceGroupId"
ACCOUNT_ID = "accountId"


@dataclass(frozen=True)
class RoleScope:
    """Which roles to list: those of one service, of account management, of every
    IAM-enabled service (what a policy on all of them may grant), or the platform's own
    (nothing set)."""

    service: str | None = None
    account_management: bool = False
    all_services: bool = False


@dataclass(frozen=True)
class PolicyDraft:
    """What a create or a replace sends. `roles`/`resources` None on a replace keep the
    policy's current ones; `body` is a complete API body from `--file`, sent instead."""

    roles: tuple[Role, ...] | None = None
    resources: tuple[tuple[str, str], ...] | None = None
    body: Mapping[str, Any] | None = None


class PolicyApi(ABC):
    """The policies of service IDs, and the roles they may grant, in one API family."""

    versions: ClassVar[tuple[str, ...]] = ("v1",)
    # The resource of a policy given no resource flag: everything the account has.
    whole_account: ClassVar[tuple[tuple[str, str], ...]] = ()
    # Whether every policy must name its service (no whole-account policies).
    requires_service: ClassVar[bool] = False
    # Whether policies may span all account-management services (IBM Cloud's platform).
    has_account_management: ClassVar[bool] = True

    def __init__(self, flavor: Flavor) -> None:
        self.flavor = flavor

    @property
    def account_id(self) -> str:
        if not self.flavor.account_id:
            raise RuntimeError("no account set")  # sessions always know it after login
        return self.flavor.account_id

    def _send(self, method: str, path: str, *, retry: Retry, **kwargs: Any) -> httpx.Response:
        headers = {**self.flavor.auth_headers(), **kwargs.pop("headers", {})}
        return send(self.flavor.client, method, path, retry=retry, headers=headers, **kwargs)

    def file_version(self, body: Mapping[str, Any]) -> str:
        """The API version a `--file` body is written for."""
        return "v1"

    def file_subject(self, body: Mapping[str, Any]) -> str | None:
        """The `iam_id` a `--file` body names as its subject, if it names one."""
        return None

    @abstractmethod
    def roles(self, scope: RoleScope) -> list[Role]: ...

    @abstractmethod
    def policies(self, subject: ServiceId, version: str) -> Iterator[Policy]: ...

    @abstractmethod
    def policy(self, subject: ServiceId, policy_id: str, version: str) -> Policy: ...

    @abstractmethod
    def create_policy(self, subject: ServiceId, draft: PolicyDraft, version: str) -> Policy: ...

    @abstractmethod
    def replace_policy(
        self, subject: ServiceId, current: Policy, draft: PolicyDraft, version: str
    ) -> Policy: ...

    @abstractmethod
    def delete_policy(self, subject: ServiceId, policy_id: str, version: str) -> None: ...


def role_name_from_crn(crn: str) -> str:
    """`Viewer` for `crn:v1:bluemix:public:iam::::role:Viewer`: what to show when an answer
    names a role by CRN alone."""
    return crn.rsplit(":", 1)[-1] or crn
