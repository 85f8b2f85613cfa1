"""Access policies of service IDs: what `service-policy-*` and `roles` ask for, flavor-neutral.

Role names become CRNs through the API's own role list, matched exactly on the display name
as IBM's Terraform provider (which mirrors the CLI) does, and an unknown name is refused with
the list of valid ones in IBM's words. A locked service ID's policies are not touched: IBM
refuses that too, and saying so first names the fix.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import (
    ExitCode,
    IamcliError,
    NetworkError,
    NotFoundError,
    ServerError,
    UsageError,
)
from ..flavors import Flavor
from ..flavors.policy_api import (
    ACCOUNT_ID,
    RESOURCE_GROUP_ID,
    SERVICE_NAME,
    SERVICE_TYPE,
    PolicyApi,
    PolicyDraft,
    RoleScope,
)
from ..models import Policy, Role, ServiceId

VERSIONS = ("v1", "v2")
# A policy document is small; anything past this is not one.
MAX_POLICY_FILE = 1024 * 1024
# The roles of resource groups, asked for when a policy names a group and no service.
RESOURCE_GROUP_ROLES = "resource-controller"


class LockedError(IamcliError):
    """The service ID is locked: its policies cannot change until it is unlocked."""

    exit_code = ExitCode.CONFLICT


@dataclass(frozen=True)
class PolicyFlags:
    """The policy flags of `service-policy-create` / `-update`, as given (None = not given)."""

    roles: str | None = None
    service_name: str | None = None
    service_instance: str | None = None
    region: str | None = None
    resource_type: str | None = None
    resource: str | None = None
    resource_group_id: str | None = None
    account_management: bool = False
    attributes: str | None = None
    file: str | None = None

    def resource_given(self) -> bool:
        return self.account_management or any(
            v is not None
            for v in (
                self.service_name,
                self.service_instance,
                self.region,
                self.resource_type,
                self.resource,
                self.resource_group_id,
                self.attributes,
            )
        )


def check_version(api: PolicyApi, version: str | None) -> str | None:
    if version is None:
        return None
    value = version.strip().lower()
    if value not in VERSIONS:
        raise UsageError(f"--api-version must be v1 or v2, not {version!r}")
    if value not in api.versions:
        raise api.flavor.unsupported(f"--api-version {value}")
    return value


def require_unlocked(sid: ServiceId) -> None:
    if sid.locked:
        raise LockedError(
            f"service ID {sid.name} is locked: its access policies cannot be changed",
            hint=f"unlock it first: iamcli service-id-unlock {sid.id}",
        )


# -- flags to a draft ------------------------------------------------------------------------


def resource_attributes(flags: PolicyFlags) -> tuple[tuple[str, str], ...] | None:
    """The resource the flags describe, as attributes in the order ibmcloud adds them; None
    when no resource flag was given."""
    if not flags.resource_given():
        return None
    pairs: list[tuple[str, str]] = []
    for name, value, flag in (
        (SERVICE_NAME, flags.service_name, "--service-name"),
        ("serviceInstance", flags.service_instance, "--service-instance"),
        ("region", flags.region, "--region"),
        ("resourceType", flags.resource_type, "--resource-type"),
        ("resource", flags.resource, "--resource"),
        (RESOURCE_GROUP_ID, flags.resource_group_id, "--resource-group-id"),
    ):
        if value is None:
            continue
        if not value.strip():
            raise UsageError(f"{flag} must not be empty")
        pairs.append((name, value.strip()))
    if flags.account_management:
        if flags.service_name is not None:
            raise UsageError("--account-management and --service-name are mutually exclusive")
        pairs.append((SERVICE_TYPE, "platform_service"))
    pairs += _attributes(flags.attributes)
    names = [n for n, _ in pairs]
    if len(set(names)) != len(names):
        raise UsageError("a resource attribute is given twice")
    return tuple(pairs)


def _attributes(text: str | None) -> list[tuple[str, str]]:
    if text is None:
        return []
    pairs = []
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(
                f"--attributes: {item.strip()!r} is not name=value",
                hint="write --attributes name=value,name=value",
            )
        pairs.append((name.strip(), value.strip()))
    return pairs


def _resource(api: PolicyApi, flags: PolicyFlags) -> tuple[tuple[str, str], ...]:
    """The resource a create or update sends: with no service, service type or resource group
    named, it spans the account's services (narrowed by any other flag, e.g. --region), as IBM
    requires a resource to name one of them."""
    if flags.account_management and not api.has_account_management:
        raise api.flavor.unsupported("--account-management")
    given = resource_attributes(flags) or ()
    if api.requires_service and all(name != SERVICE_NAME for name, _ in given):
        raise UsageError(f"--service-name is required on the {api.flavor.name} API family")
    if any(name in (SERVICE_NAME, SERVICE_TYPE, RESOURCE_GROUP_ID) for name, _ in given):
        return given
    return (*api.whole_account, *given)


def role_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError("--roles needs at least one role name")
    return names


def role_scope(resources: tuple[tuple[str, str], ...]) -> RoleScope:
    """Whose roles a policy on these resources may grant."""
    attrs = dict(resources)
    if attrs.get(SERVICE_TYPE) == "platform_service":
        return RoleScope(account_management=True)
    if SERVICE_NAME in attrs:
        return RoleScope(service=attrs[SERVICE_NAME])
    if RESOURCE_GROUP_ID in attrs:
        return RoleScope(service=RESOURCE_GROUP_ROLES)
    return RoleScope(all_services=True)


def resolve_roles(api: PolicyApi, names: list[str], scope: RoleScope) -> tuple[Role, ...]:
    """The roles named, by display name (exact, as IBM matches it) or by CRN."""
    available = api.roles(scope)
    by_name: dict[str, Role] = {}
    for role in available:
        by_name.setdefault(role.display_name, role)
        by_name.setdefault(role.crn, role)
    chosen: list[Role] = []
    for name in names:
        found = by_name.get(name)
        if found is None:
            valid = ", ".join(dict.fromkeys(r.display_name for r in available)) or "none"
            raise UsageError(f"RoleDoesnotExist: {name} was not found. Valid roles are {valid}")
        if found not in chosen:
            chosen.append(found)
    return tuple(chosen)


def read_policy_file(ref: str, what: str = "a policy") -> dict[str, Any]:
    """The JSON object of `--file @policy.json` (the `@` is optional); `what` names it in the
    error when the file holds something else."""
    path = ref[1:] if ref.startswith("@") else ref
    if not path:
        raise UsageError("--file needs a file name: --file @policy.json")
    try:
        # Checked before opening: opening a FIFO for reading would wait for a writer.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise UsageError(f"--file {path}: not a regular file")
        with open(path, "rb") as f:
            data = f.read(MAX_POLICY_FILE + 1)
    except OSError as exc:
        raise UsageError(f"--file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_POLICY_FILE:
        raise UsageError(f"--file {path}: larger than {MAX_POLICY_FILE} bytes")
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"--file {path}: not valid JSON ({_first_line(exc)})") from None
    except RecursionError:
        raise UsageError(f"--file {path}: JSON nested too deeply") from None
    if not isinstance(body, dict):
        raise UsageError(f"--file {path}: {what} is a JSON object")
    return body


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _file_conflicts(flags: PolicyFlags) -> None:
    if flags.roles is not None or flags.resource_given():
        raise UsageError("--file is exclusive with --roles and the resource flags")


def file_version(api: PolicyApi, body: Mapping[str, Any], asked: str | None) -> str:
    wrote = api.file_version(body)
    if asked is not None and asked != wrote:
        raise UsageError(
            f"the policy file is written for the {wrote} API, not {asked}",
            hint=f"use --api-version {wrote}, or a {asked} policy document",
        )
    return wrote


# -- the verbs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A create or update, decided: what to send, to which API version."""

    draft: PolicyDraft
    version: str
    foreign_subject: str | None = None  # a subject the file named, replaced by the service ID


def plan_create(api: PolicyApi, sid: ServiceId, flags: PolicyFlags, asked: str | None) -> Request:
    require_unlocked(sid)
    if flags.file is not None:
        _file_conflicts(flags)
        return _file_request(api, sid, flags.file, asked)
    if flags.roles is None:
        raise UsageError("give --roles R1,R2 (with resource flags) or --file @policy.json")
    names = role_names(flags.roles)
    resources = _resource(api, flags)
    roles = resolve_roles(api, names, role_scope(resources))
    return Request(PolicyDraft(roles=roles, resources=resources), asked or "v1")


def plan_update(
    api: PolicyApi, sid: ServiceId, current: Policy, flags: PolicyFlags, asked: str | None
) -> Request:
    """A replace, as ibmcloud's: the resource is what the flags say (none given: all
    IAM-enabled services, as `service-policy-update SID ID --roles Viewer` is documented to
    grant), and the roles are kept when --roles is not given."""
    require_unlocked(sid)
    version = asked or current.api_version
    if flags.file is not None:
        _file_conflicts(flags)
        return _file_request(api, sid, flags.file, version)
    if flags.roles is None and not flags.resource_given():
        raise UsageError("nothing to change: give --roles, resource flags, or --file")
    resources = _resource(api, flags)
    roles = None
    if flags.roles is not None:
        roles = resolve_roles(api, role_names(flags.roles), role_scope(resources))
    return Request(PolicyDraft(roles=roles, resources=resources), version)


def resource_change(current: Policy, request: Request) -> str | None:
    """What a replace does to the policy's resource, when it changes it."""
    new = request.draft.resources
    if new is None:
        return None
    old = tuple((k, v) for k, v in current.resources if k != ACCOUNT_ID)
    if old == new:
        return None
    shown = ", ".join(f"{k}={v}" for k, v in new)
    return f"the policy's resource becomes {shown} (was {', '.join(f'{k}={v}' for k, v in old)})"


def _file_request(api: PolicyApi, sid: ServiceId, ref: str, asked: str | None) -> Request:
    body = read_policy_file(ref)
    version = file_version(api, body, asked)
    named = api.file_subject(body)
    foreign = named if named is not None and named != sid.iam_id else None
    return Request(PolicyDraft(body=body), version, foreign)


def owned(policy: Policy, sid: ServiceId) -> Policy:
    """The policy, when its subject is the service ID; else it is not found *for that ID*,
    so that a mistyped pairing never shows, changes or deletes someone else's policy."""
    if policy.subject_iam_id is None or policy.subject_iam_id != sid.iam_id:
        raise NotFoundError(
            f"policy {policy.id} is not an access policy of service ID {sid.name}", status=404
        )
    return policy


def get_policy(api: PolicyApi, sid: ServiceId, policy_id: str, asked: str | None) -> Policy:
    """One policy of the service ID. Without --api-version the v1 API is asked first, and a
    v2 policy (a stand-in on v1, or unknown to it) is read from the v2 API, as IBM's v1 list
    shows v2 policies only by a link to them."""
    policy_id = policy_id.strip()
    if not policy_id:
        raise UsageError("a policy ID is required")
    version = asked or "v1"
    try:
        found = api.policy(sid, policy_id, version)
    except NotFoundError:
        if asked is not None or "v2" not in api.versions:
            raise NotFoundError(f"policy {policy_id} not found", status=404) from None
        found = api.policy(sid, policy_id, "v2")
    if asked is None and found.api_version == "v2" and version == "v1":
        found = api.policy(sid, policy_id, "v2")
    owned(found, sid)
    if found.state == "deleted":
        # IBM keeps a deleted policy readable (it can be restored); for these commands, as
        # for the list, it is gone.
        raise NotFoundError(f"policy {policy_id} of service ID {sid.name} is deleted", status=404)
    return found


def list_policies(
    api: PolicyApi,
    sid: ServiceId,
    asked: str | None,
    *,
    note: Callable[[str], None] | None = None,
) -> Iterator[Policy]:
    """The service ID's access policies. Without --api-version, the v1 list's stand-ins for
    v2 policies are replaced by the v2 policies themselves; with `--api-version v1` they are
    shown as IBM lists them."""
    for policy in api.policies(sid, asked or "v1"):
        if asked is None and policy.api_version == "v2" and "v2" in api.versions:
            try:
                policy = api.policy(sid, policy.id, "v2")
            except NotFoundError:
                if note is not None:
                    note(f"policy {policy.id} was listed but is gone")
                continue
        if policy.subject_iam_id is not None and policy.subject_iam_id != sid.iam_id:
            continue  # a server filtering loosely: never show another subject's policy
        yield policy


def create_policy(
    api: PolicyApi,
    sid: ServiceId,
    request: Request,
    *,
    note: Callable[[str], None] | None = None,
) -> Policy:
    """Create a policy once. When the answer is lost (a 5xx, or a connection cut after the
    request was sent), the service ID's policy with these very roles and this resource is the
    one this create made (IBM refuses a second identical policy), and it is returned; only
    when none exists is the failure reported."""
    try:
        created = api.create_policy(sid, request.draft, request.version)
    except (ServerError, NetworkError) as exc:
        lost = isinstance(exc, ServerError) or exc.may_have_arrived
        if not lost or request.draft.body is not None:
            raise
        found = next((p for p in api.policies(sid, request.version) if _same(p, request)), None)
        if found is None:
            raise
        if note is not None:
            note(f"the create's answer was lost, but it happened: {found.id}")
        created = found
    return _named(created, request.draft.roles)


def _same(policy: Policy, request: Request) -> bool:
    draft = request.draft
    roles = {r.crn for r in draft.roles or ()}
    resource = {(k, v) for k, v in draft.resources or () if k != ACCOUNT_ID}
    return {r.crn for r in policy.roles} == roles and {
        (k, v) for k, v in policy.resources if k != ACCOUNT_ID
    } == resource


def update_policy(api: PolicyApi, sid: ServiceId, current: Policy, request: Request) -> Policy:
    updated = api.replace_policy(sid, current, request.draft, request.version)
    return _named(updated, request.draft.roles or current.roles)


def _named(policy: Policy, known: tuple[Role, ...] | None) -> Policy:
    """The policy with the display names of roles it names by CRN only (v2 answers do)."""
    names = {r.crn: r.display_name for r in known or ()}
    roles = tuple(
        replace(r, display_name=names[r.crn]) if r.crn in names else r for r in policy.roles
    )
    return replace(policy, roles=roles)


def delete_policy(api: PolicyApi, sid: ServiceId, policy: Policy) -> None:
    require_unlocked(sid)
    api.delete_policy(sid, policy.id, policy.api_version)


def list_roles(flavor: Flavor, service: str | None) -> list[Role]:
    api = flavor.policy_api()
    if service is not None and not service.strip():
        raise UsageError("--service must not be empty")
    return api.roles(RoleScope(service=service.strip() if service else None))
