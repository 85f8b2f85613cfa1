"""`service-policy-create`, `service-policy-update`, `service-policies`, `service-policy`,
`service-policy-delete` and `roles`, with `ibmcloud iam`'s names and flags."""

from typing import TYPE_CHECKING, Annotated

import typer

from .params import ForceOpt, Run, command
from .service_ids import ServiceIdRef, as_whom
from .views import confirm, primed

if TYPE_CHECKING:
    from ..models import Policy, ServiceId
    from ..services.policies import PolicyFlags, Request

PolicyIdArg = Annotated[str, typer.Argument(metavar="POLICY_ID", help="ID of the policy.")]
ApiVersionOpt = Annotated[
    str | None,
    typer.Option(
        "--api-version",
        metavar="v1|v2",
        help="Policy API version (default: v1; a --file written for v2 picks v2).",
    ),
]
RolesOpt = Annotated[
    str | None,
    typer.Option(
        "-r",
        "--roles",
        metavar="ROLE1,ROLE2",
        help='Role display names (quote names with spaces: "Service ID creator"); see '
        "`iamcli roles`.",
    ),
]
ServiceNameOpt = Annotated[
    str | None, typer.Option("--service-name", metavar="NAME", help="Service of the resource.")
]
ServiceInstanceOpt = Annotated[
    str | None,
    typer.Option("--service-instance", metavar="GUID", help="Service instance of the resource."),
]
RegionOpt = Annotated[
    str | None, typer.Option("--region", metavar="REGION", help="Region of the resource.")
]
ResourceTypeOpt = Annotated[
    str | None,
    typer.Option("--resource-type", metavar="TYPE", help="Resource type (e.g. serviceid)."),
]
ResourceOpt = Annotated[
    str | None, typer.Option("--resource", metavar="RESOURCE", help="Resource (e.g. an ID).")
]
ResourceGroupOpt = Annotated[
    str | None,
    typer.Option(
        "--resource-group-id", metavar="ID", help="Resource group; * means all resource groups."
    ),
]
AccountManagementOpt = Annotated[
    bool,
    typer.Option("--account-management", help="Give access to all account management services."),
]
AttributesOpt = Annotated[
    str | None,
    typer.Option(
        "--attributes", metavar="NAME=VALUE,...", help="More resource attributes, name=value."
    ),
]
FileOpt = Annotated[
    str | None,
    typer.Option(
        "--file",
        metavar="@FILE",
        help="The policy as a JSON document of the API (exclusive with --roles and the resource "
        "flags); its subject is always the service ID named.",
    ),
]
NoPromptOpt = Annotated[
    bool, typer.Option("--force", "-f", help="Accepted for ibmcloud compatibility; never asks.")
]


def _flags(
    roles: str | None,
    service_name: str | None,
    service_instance: str | None,
    region: str | None,
    resource_type: str | None,
    resource: str | None,
    resource_group_id: str | None,
    account_management: bool,
    attributes: str | None,
    file: str | None,
) -> "PolicyFlags":
    from ..services.policies import PolicyFlags

    return PolicyFlags(
        roles=roles,
        service_name=service_name,
        service_instance=service_instance,
        region=region,
        resource_type=resource_type,
        resource=resource,
        resource_group_id=resource_group_id,
        account_management=account_management,
        attributes=attributes,
        file=file,
    )


def _show(run: Run, policy: "Policy") -> None:
    from .policy_views import policy_record

    if run.json:
        run.out.json_value(policy.to_json())
    else:
        run.out.record(policy_record(policy))


def _warn_foreign(run: Run, request: "Request", sid: "ServiceId") -> None:
    if request.foreign_subject:
        run.out.warn(
            f"the file names {request.foreign_subject} as its subject; the policy is for "
            f"service ID {sid.name} instead"
        )


@command
def service_policy_create(
    run: Run,
    ref: ServiceIdRef,
    roles: RolesOpt = None,
    service_name: ServiceNameOpt = None,
    service_instance: ServiceInstanceOpt = None,
    region: RegionOpt = None,
    resource_type: ResourceTypeOpt = None,
    resource: ResourceOpt = None,
    resource_group_id: ResourceGroupOpt = None,
    account_management: AccountManagementOpt = False,
    attributes: AttributesOpt = None,
    file: FileOpt = None,
    api_version: ApiVersionOpt = None,
    force: NoPromptOpt = False,
) -> None:
    """Create an access policy for a service ID.

    Without resource flags the policy covers all IAM-enabled services in the account. Role
    names are looked up among the roles the resource's service offers; an unknown one is
    refused (exit code 2) with the valid ones listed. A locked service ID's policies cannot
    change (exit code 5).
    """
    from ..services import policies
    from ..services.identities import resolve_service_id

    flags = _flags(
        roles,
        service_name,
        service_instance,
        region,
        resource_type,
        resource,
        resource_group_id,
        account_management,
        attributes,
        file,
    )
    flavor = run.session.flavor()
    api = flavor.policy_api()
    asked = policies.check_version(api, api_version)
    sid = resolve_service_id(flavor, ref)
    request = policies.plan_create(api, sid, flags, asked)
    _warn_foreign(run, request, sid)
    run.out.status(
        f"Creating policy under current account for service ID {sid.name} as {as_whom(run)}..."
    )
    created = policies.create_policy(api, sid, request)
    run.out.ok()
    run.out.status("Service policy is successfully created")
    if not run.json:
        run.out.status("")
    _show(run, created)


@command
def service_policy_update(
    run: Run,
    ref: ServiceIdRef,
    policy_id: PolicyIdArg,
    roles: RolesOpt = None,
    service_name: ServiceNameOpt = None,
    service_instance: ServiceInstanceOpt = None,
    region: RegionOpt = None,
    resource_type: ResourceTypeOpt = None,
    resource: ResourceOpt = None,
    resource_group_id: ResourceGroupOpt = None,
    account_management: AccountManagementOpt = False,
    attributes: AttributesOpt = None,
    file: FileOpt = None,
    api_version: ApiVersionOpt = None,
    force: ForceOpt = False,
) -> None:
    """Replace an access policy of a service ID.

    --roles alone keeps the resource; resource flags alone keep the roles; a v2 policy keeps
    its conditions. Sends the version read just before (If-Match): a change made meanwhile is
    refused with exit code 5, never overwritten.
    """
    from ..services import policies
    from ..services.identities import resolve_service_id

    flags = _flags(
        roles,
        service_name,
        service_instance,
        region,
        resource_type,
        resource,
        resource_group_id,
        account_management,
        attributes,
        file,
    )
    flavor = run.session.flavor()
    api = flavor.policy_api()
    asked = policies.check_version(api, api_version)
    sid = resolve_service_id(flavor, ref)
    policies.require_unlocked(sid)
    current = policies.get_policy(api, sid, policy_id, asked)
    request = policies.plan_update(api, sid, current, flags, asked)
    _warn_foreign(run, request, sid)
    if not confirm(
        f"Update policy {current.id} of service ID {sid.name}?", force=force, action="update"
    ):
        run.out.status("Not updated.")
        return
    run.out.status(f"Updating policy {current.id} of service ID {sid.name} as {as_whom(run)}...")
    updated = policies.update_policy(api, sid, current, request)
    run.out.ok()
    run.out.status("Service policy is successfully updated")
    if not run.json:
        run.out.status("")
    _show(run, updated)


@command
def service_policies(
    run: Run, ref: ServiceIdRef, api_version: ApiVersionOpt = None, force: NoPromptOpt = False
) -> None:
    """List the access policies of a service ID."""
    from ..services import policies
    from ..services.identities import resolve_service_id
    from .policy_views import policy_record

    flavor = run.session.flavor()
    api = flavor.policy_api()
    asked = policies.check_version(api, api_version)
    sid = resolve_service_id(flavor, ref)
    run.out.status(f"Getting policies of service ID {sid.name} as {as_whom(run)}...")
    found = primed(policies.list_policies(api, sid, asked, note=run.out.warn))
    if run.json:
        run.out.json_stream_list(None, (p.to_json() for p in found))
        return
    run.out.ok()
    first = True
    for policy in found:
        if not first:
            run.out.separator()
        run.out.record(policy_record(policy))
        first = False
    if first:
        run.out.status(f"No policy found for service ID {sid.name}")


@command
def service_policy(
    run: Run,
    ref: ServiceIdRef,
    policy_id: PolicyIdArg,
    api_version: ApiVersionOpt = None,
    force: NoPromptOpt = False,
) -> None:
    """Show one access policy of a service ID."""
    from ..services import policies
    from ..services.identities import resolve_service_id

    flavor = run.session.flavor()
    api = flavor.policy_api()
    asked = policies.check_version(api, api_version)
    sid = resolve_service_id(flavor, ref)
    _show(run, policies.get_policy(api, sid, policy_id, asked))


@command
def service_policy_delete(
    run: Run,
    ref: ServiceIdRef,
    policy_id: PolicyIdArg,
    api_version: ApiVersionOpt = None,
    force: ForceOpt = False,
) -> None:
    """Delete an access policy of a service ID."""
    from ..services import policies
    from ..services.identities import resolve_service_id

    flavor = run.session.flavor()
    api = flavor.policy_api()
    asked = policies.check_version(api, api_version)
    sid = resolve_service_id(flavor, ref)
    policies.require_unlocked(sid)
    current = policies.get_policy(api, sid, policy_id, asked)
    if not confirm(
        f"Delete policy {current.id} of service ID {sid.name}?", force=force, action="delete"
    ):
        run.out.status("Not deleted.")
        return
    run.out.status(f"Deleting policy {current.id} of service ID {sid.name} as {as_whom(run)}...")
    policies.delete_policy(api, sid, current)
    run.out.ok()
    run.out.status(f"Service policy {current.id} is deleted successfully")


@command
def roles(
    run: Run,
    service: Annotated[
        str | None,
        typer.Option(
            "--service",
            metavar="SERVICE_NAME",
            help="List the roles of this service (default: the platform roles, and the "
            "account's custom roles).",
        ),
    ] = None,
) -> None:
    """List the roles access policies can grant."""
    from ..services.policies import list_roles
    from .policy_views import ROLE_COLUMNS, role_row

    flavor = run.session.flavor()
    where = f"of service {service}" if service else "under current account"
    run.out.status(f"Getting roles {where} as {as_whom(run)}...")
    found = list_roles(flavor, service)
    if run.json:
        run.out.json_value([r.to_json() for r in found])
        return
    run.out.ok()
    run.out.table(ROLE_COLUMNS, (role_row(r) for r in found))
