"""`service-policy-create`, `service-policy-update`, `service-policies`, `service-policy`,
`service-policy-delete` and `roles`, with `ibmcloud iam`'s names and flags."""

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from .params import ForceOpt, Run, command
from .service_ids import ServiceIdRef, as_whom
from .views import confirm, primed

if TYPE_CHECKING:
    from ..flavors.policy_api import PolicyApi
    from ..models import Policy, ServiceId
    from ..services.policies import PolicyFlags, Request

F = TypeVar("F", bound=Callable[..., Any])
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


# The policy flags, in the order --help lists them; `policy_flags` gives them to a command.
_POLICY_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("roles", RolesOpt, None),
    ("service_name", ServiceNameOpt, None),
    ("service_instance", ServiceInstanceOpt, None),
    ("region", RegionOpt, None),
    ("resource_type", ResourceTypeOpt, None),
    ("resource", ResourceOpt, None),
    ("resource_group_id", ResourceGroupOpt, None),
    ("account_management", AccountManagementOpt, False),
    ("attributes", AttributesOpt, None),
    ("file", FileOpt, None),
)


def policy_flags(fn: F) -> F:
    """Give a command the policy flags (after its arguments); it receives them as one
    `flags: PolicyFlags` argument, so that create and update declare them once."""
    signature = inspect.signature(fn)
    own = [p for p in signature.parameters.values() if p.name != "flags"]
    at = next(
        (i for i, p in enumerate(own) if i and p.default is not inspect.Parameter.empty),
        len(own),
    )
    added = [
        inspect.Parameter(
            name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=kind
        )
        for name, kind, default in _POLICY_OPTIONS
    ]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..services.policies import PolicyFlags

        given = {name: kwargs.pop(name) for name, _, _ in _POLICY_OPTIONS}
        return fn(*args, flags=PolicyFlags(**given), **kwargs)

    parameters = [*own[:at], *added, *own[at:]]
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__
    return wrapper  # type: ignore[return-value]


def _subject(
    run: Run, ref: str, api_version: str | None
) -> "tuple[PolicyApi, ServiceId, str | None]":
    """The policy API, the service ID named, and the API version asked for (checked first)."""
    from ..services.identities import resolve_service_id
    from ..services.policies import check_version

    flavor = run.session.flavor()
    api = flavor.policy_api()
    asked = check_version(api, api_version)
    return api, resolve_service_id(flavor, ref), asked


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
@policy_flags
def service_policy_create(
    run: Run,
    ref: ServiceIdRef,
    flags: "PolicyFlags",
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

    api, sid, asked = _subject(run, ref, api_version)
    request = policies.plan_create(api, sid, flags, asked)
    _warn_foreign(run, request, sid)
    run.out.status(
        f"Creating policy under current account for service ID {sid.name} as {as_whom(run)}..."
    )
    created = policies.create_policy(api, sid, request, note=run.out.warn)
    run.out.ok()
    run.out.status("Service policy is successfully created")
    if not run.json:
        run.out.status("")
    _show(run, created)


@command
@policy_flags
def service_policy_update(
    run: Run,
    ref: ServiceIdRef,
    policy_id: PolicyIdArg,
    flags: "PolicyFlags",
    api_version: ApiVersionOpt = None,
    force: ForceOpt = False,
) -> None:
    """Replace an access policy of a service ID.

    As ibmcloud's: the resource becomes what the flags say (none: all IAM-enabled services in
    the account; a warning says when it changes), the roles are kept unless --roles is given,
    and a v2 policy keeps its conditions. Sends the version read just before (If-Match): a
    change made meanwhile is refused with exit code 5, never overwritten.
    """
    from ..services import policies

    api, sid, asked = _subject(run, ref, api_version)
    policies.require_unlocked(sid)
    current = policies.get_policy(api, sid, policy_id, asked)
    request = policies.plan_update(api, sid, current, flags, asked)
    _warn_foreign(run, request, sid)
    if change := policies.resource_change(current, request):
        run.out.warn(change)
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
    from .policy_views import policy_record

    api, sid, asked = _subject(run, ref, api_version)
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

    api, sid, asked = _subject(run, ref, api_version)
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

    api, sid, asked = _subject(run, ref, api_version)
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
