"""`service-id-create`, `service-ids`, `service-id`, `service-id-update`, `service-id-delete`,
`service-id-lock`, `service-id-unlock`."""

from typing import Annotated

import typer

from ..errors import UsageError
from .params import ForceOpt, Run, command
from .views import (
    SERVICE_ID_COLUMNS,
    WRAPPING,
    confirm,
    identity_label,
    primed,
    service_id_record,
    service_id_row,
    suggest_unlock,
)

ServiceIdRef = Annotated[str, typer.Argument(metavar="(NAME|ID)", help="Service ID name or ID.")]
DescriptionOpt = Annotated[
    str | None,
    typer.Option(
        "-d", "--description", metavar="DESCRIPTION", help="Description of the new service ID."
    ),
]
NewDescriptionOpt = Annotated[
    str | None,
    typer.Option(
        "-d", "--description", metavar="DESCRIPTION", help="New description ('' clears it)."
    ),
]
LimitOpt = Annotated[int | None, typer.Option("--limit", metavar="N", help="Show at most N.")]
NameFilterOpt = Annotated[
    str | None,
    typer.Option("-n", "--name", metavar="STRING", help="Only those whose name contains STRING."),
]
DescriptionFilterOpt = Annotated[
    str | None,
    typer.Option(
        "-d",
        "--description",
        metavar="STRING",
        help="Only those whose description contains STRING.",
    ),
]
UuidOpt = Annotated[bool, typer.Option("--uuid", help="Print only the ID (one per line).")]


def as_whom(run: Run) -> str:
    return identity_label(run.session)


@command
def service_id_create(
    run: Run,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Name of the new service ID.")],
    description: DescriptionOpt = None,
    lock: Annotated[bool, typer.Option("--lock", help="Lock it at creation.")] = False,
) -> None:
    """Create a service ID."""
    from ..services.identities import create_service_id

    if not name.strip():
        raise UsageError("the service ID name must not be empty")
    run.out.status(f"Creating service ID {name} bound to current account as {as_whom(run)}...")
    created = create_service_id(
        run.session.flavor(), name, description, locked=lock, note=run.out.warn
    )
    run.out.ok()
    run.out.status(f"Service ID {created.name} is created successfully")
    if run.json:
        run.out.json_value(created.to_json())
    else:
        run.out.status("")
        run.out.record(service_id_record(created))


@command
def service_ids(
    run: Run,
    name: NameFilterOpt = None,
    description: DescriptionFilterOpt = None,
    uuid: UuidOpt = False,
    limit: LimitOpt = None,
) -> None:
    """List the account's service IDs."""
    from ..services.identities import limited, text_filter

    if uuid:
        run.out.quiet = True
    flavor = run.session.flavor()
    run.out.status(f"Getting all service IDs bound to current account as {as_whom(run)}...")
    found = limited(text_filter(flavor.service_ids(), name, description), limit)
    if run.json:
        # Primed: the first page answers (or fails) before "[" is written.
        run.out.json_stream_list(None, primed(s.to_json() for s in found))
        run.out.ok()
        return
    rows = primed(service_id_row(s) for s in found)
    run.out.ok()
    run.out.table(SERVICE_ID_COLUMNS, rows, empty="No service IDs found", wrap=WRAPPING)


@command
def service_id(run: Run, ref: ServiceIdRef, uuid: UuidOpt = False) -> None:
    """Show one service ID."""
    from ..services.identities import resolve_service_id

    found = resolve_service_id(run.session.flavor(), ref)
    if uuid:
        run.out.stdout.write(found.id + "\n")
    elif run.json:
        run.out.json_value(found.to_json())
    else:
        run.out.record(service_id_record(found))


@command
def service_id_update(
    run: Run,
    ref: ServiceIdRef,
    new_name: Annotated[
        str | None,
        typer.Option("-n", "--name", metavar="NEW_NAME", help="New name of the service ID."),
    ] = None,
    description: NewDescriptionOpt = None,
    force: ForceOpt = False,
) -> None:
    """Rename a service ID or change its description.

    Sends the version read just before (If-Match): a change made meanwhile by someone else is
    refused with exit code 5, never overwritten.
    """
    from ..services.identities import resolve_service_id, update_service_id

    if new_name is None and description is None:
        raise UsageError("nothing to change: give -n NEW_NAME and/or -d DESCRIPTION")
    if new_name is not None and not new_name.strip():
        raise UsageError("the new name must not be empty")
    flavor = run.session.flavor()
    current = resolve_service_id(flavor, ref)
    if not confirm(
        f"Update service ID {current.name} ({current.id})?", force=force, action="update"
    ):
        run.out.status("Not updated.")
        return
    run.out.status(f"Updating service ID {current.name} as {as_whom(run)}...")
    with suggest_unlock(f"iamcli service-id-unlock {current.id}"):
        updated = update_service_id(flavor, current, name=new_name, description=description)
    run.out.ok()
    run.out.status(f"Service ID {updated.name} is updated successfully")
    if run.json:
        run.out.json_value(updated.to_json())
    else:
        run.out.record(service_id_record(updated))


@command
def service_id_delete(run: Run, ref: ServiceIdRef, force: ForceOpt = False) -> None:
    """Delete a service ID and every API key it has."""
    from ..services.identities import resolve_service_id

    flavor = run.session.flavor()
    current = resolve_service_id(flavor, ref)
    if not confirm(
        f"Delete service ID {current.name} ({current.id}) and its API keys?",
        force=force,
        action="delete",
    ):
        run.out.status("Not deleted.")
        return
    run.out.status(f"Deleting service ID {current.name} as {as_whom(run)}...")
    with suggest_unlock(f"iamcli service-id-unlock {current.id}"):
        flavor.delete_service_id(current.id)
    run.out.ok()
    run.out.status(f"Service ID {current.name} is deleted successfully")


def _lock(run: Run, ref: str, force: bool, locked: bool) -> None:
    from ..services.identities import resolve_service_id

    verb = "lock" if locked else "unlock"
    flavor = run.session.flavor()
    if not flavor.supports_locks:  # before any lookup or question
        raise flavor.unsupported("locking service IDs")
    current = resolve_service_id(flavor, ref)
    if not confirm(
        f"{verb.capitalize()} service ID {current.name} ({current.id})?", force=force, action=verb
    ):
        run.out.status(f"Not {verb}ed.")
        return
    run.out.status(f"{verb.capitalize()}ing service ID {current.name} as {as_whom(run)}...")
    flavor.lock_service_id(current.id, locked)
    run.out.ok()
    run.out.status(f"Service ID {current.name} is {verb}ed")


@command
def service_id_lock(run: Run, ref: ServiceIdRef, force: ForceOpt = False) -> None:
    """Lock a service ID: it cannot be changed or deleted until unlocked."""
    _lock(run, ref, force, True)


@command
def service_id_unlock(run: Run, ref: ServiceIdRef, force: ForceOpt = False) -> None:
    """Unlock a service ID."""
    _lock(run, ref, force, False)
