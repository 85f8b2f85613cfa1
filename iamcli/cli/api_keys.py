"""`service-api-key-create`, `service-api-keys`, `api-key-create`, and `apikeys list | get |
update | delete`."""

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import FileExportError, UsageError
from .keys import LeakOpt, list_keys, show
from .params import (
    Command,
    ForceOpt,
    Globals,
    OutputOpt,
    ProfileOpt,
    QuietOpt,
    Run,
    TraceOpt,
    command,
)

if TYPE_CHECKING:
    from ..models import KeySettings, Owner
from .service_ids import (
    DescriptionFilterOpt,
    LimitOpt,
    NameFilterOpt,
    NewDescriptionOpt,
    UuidOpt,
    as_whom,
)
from .views import api_key_record, confirm, suggest_unlock, unlock_command

FileOpt = Annotated[
    str | None,
    typer.Option(
        "--file",
        metavar="FILE",
        help="Save the new key as JSON to FILE (0600, never over an existing file without "
        "--force); - writes it to stdout.",
    ),
]
DescriptionOpt = Annotated[
    str | None,
    typer.Option(
        "-d", "--description", metavar="DESCRIPTION", help="Description of the new API key."
    ),
]
LockOpt = Annotated[bool, typer.Option("--lock", help="Lock the key at creation.")]
CreateForceOpt = Annotated[
    bool, typer.Option("--force", "-f", help="Overwrite FILE if it exists (no question asked).")
]
ExpiresOpt = Annotated[
    str | None,
    typer.Option(
        "--expires-in",
        metavar="DURATION|DATE",
        help="The key stops working after DURATION (90d, 12h, 1h30m) or at DATE "
        "(2027-01-31T18:30Z) (IBM Cloud).",
    ),
]
KeyIdArg = Annotated[str, typer.Argument(metavar="ID", help="API key ID (ApiKey-...).")]


def _settings(leak: str | None, expires_in: str | None, store_value: bool) -> "KeySettings":
    from ..models import KeySettings
    from ..services.identities import expiry, leak_action

    return KeySettings(
        action_when_leaked=leak_action(leak),
        expires_at=expiry(expires_in),
        store_value=store_value,
    )


PRESERVE = "Please preserve the API key! It cannot be retrieved after it's created."


def _create(
    run: Run,
    owner: "Owner",
    name: str,
    description: str | None,
    *,
    file: str | None,
    force: bool,
    lock: bool,
    settings: "KeySettings",
    what: str,
) -> None:
    from ..keyfile import check_export_target, write_key_file
    from ..services.identities import create_api_key, export_record, require_key_settings

    if not name.strip():
        raise UsageError("the API key name must not be empty")
    require_key_settings(run.session.flavor(), settings)
    if file is not None and file != "-":
        # Before the key exists: a key that cannot be saved is never created.
        check_export_target(file, force=force)
    flavor = run.session.flavor()
    run.out.status(f"Creating API key {name} {what} as {as_whom(run)}...")
    key = create_api_key(
        flavor, owner, name, description, locked=lock, settings=settings, note=run.out.warn
    )
    run.out.ok()
    run.out.status(
        f"{'Service ID API key' if owner.service_id else 'API key'} {key.name} is created"
    )
    if file is not None:
        owner_iam_id = owner.service_id.iam_id if owner.service_id else None
        record = export_record(key, iam_id=owner_iam_id, account_id=flavor.account_id)
        try:
            write_key_file(file, record, force=force, stdout=sys.stdout)
        except FileExportError as exc:
            # The key exists now and its value is shown nowhere else: hand it over rather
            # than lose it, and say why.
            run.out.warn(f"could not save to {file}: {exc.message}; the key follows on stdout")
            run.out.record(api_key_record(key, with_value=True))
            raise
        if file != "-":
            run.out.status(f"Successfully saved API key information to {file}")
            if run.json:
                run.out.json_value({k: v for k, v in key.to_json().items() if k != "apikey"})
            else:
                run.out.record(api_key_record(key))
        return
    run.out.status("")
    run.out.status(PRESERVE)
    run.out.status("")
    if run.json:
        run.out.json_value(key.to_json())
    else:
        run.out.record(api_key_record(key, with_value=True))


@command
def service_api_key_create(
    run: Run,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Name of the new API key.")],
    service_id_ref: Annotated[
        str,
        typer.Argument(
            metavar="(SERVICE_ID_NAME|SERVICE_ID)", help="Service ID the key logs in as."
        ),
    ],
    description: DescriptionOpt = None,
    file: FileOpt = None,
    lock: LockOpt = False,
    leak: LeakOpt = None,
    expires_in: ExpiresOpt = None,
    store_value: Annotated[
        bool,
        typer.Option(
            "--store-value",
            help="Keep the value retrievable: service-api-key shows it later (IBM Cloud).",
        ),
    ] = False,
    force: CreateForceOpt = False,
) -> None:
    """Create an API key for a service ID.

    The value is shown once (unless --store-value): on stdout with `API Key` as the last
    line, or in --file.
    """
    from ..models import Owner
    from ..services.identities import require_key_settings, resolve_service_id

    settings = _settings(leak, expires_in, store_value)
    require_key_settings(run.session.flavor(), settings)  # before any lookup
    sid = resolve_service_id(run.session.flavor(), service_id_ref)
    _create(
        run,
        Owner(sid),
        name,
        description,
        file=file,
        force=force,
        lock=lock,
        settings=settings,
        what=f"of service ID {sid.name} ({sid.id})",
    )


@command
def api_key_create(
    run: Run,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Name of the new API key.")],
    description: DescriptionOpt = None,
    file: FileOpt = None,
    lock: LockOpt = False,
    leak: LeakOpt = None,
    expires_in: ExpiresOpt = None,
    force: CreateForceOpt = False,
) -> None:
    """Create an API key for yourself (the identity you are logged in as)."""
    from ..models import Owner

    _create(
        run,
        Owner(),
        name,
        description,
        file=file,
        force=force,
        lock=lock,
        settings=_settings(leak, expires_in, False),
        what="for the current identity",
    )


@command
def service_api_keys(
    run: Run,
    service_id_ref: Annotated[
        str | None,
        typer.Argument(
            metavar="(SERVICE_ID_NAME|SERVICE_ID)",
            help="Service ID whose keys to list (or --all).",
            show_default=False,
        ),
    ] = None,
    all_: Annotated[
        bool,
        typer.Option("-a", "--all", help="Every service ID API key of the account."),
    ] = False,
    name: NameFilterOpt = None,
    description: DescriptionFilterOpt = None,
    uuid: UuidOpt = False,
    limit: LimitOpt = None,
) -> None:
    """List a service ID's API keys, or with --all every service ID's."""
    from ..models import Owner
    from ..services.identities import resolve_service_id

    if all_ == (service_id_ref is not None):
        raise UsageError(
            "name a service ID or give --all, not both"
            if all_
            else "name a service ID (its name or ID), or give --all"
        )
    flavor = run.session.flavor()
    if all_:
        keys, whose = flavor.service_api_keys(), "every service ID of the account"
    else:
        assert service_id_ref is not None
        sid = resolve_service_id(flavor, service_id_ref)
        keys, whose = flavor.api_keys(Owner(sid)), f"service ID {sid.name}"
    list_keys(run, keys, whose, limit=limit, name=name, description=description, uuid=uuid)


apikeys_app = typer.Typer(no_args_is_help=True)


@apikeys_app.callback()
def apikeys_root(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    quiet: QuietOpt = False,
    trace: TraceOpt = False,
) -> None:
    """API keys by ID: list, get, update, delete. (By name: api-keys, api-key,
    service-api-keys, service-api-key.)"""
    # The common options, also between `apikeys` and its command; later ones win.
    root = ctx.find_root()
    given = root.obj if isinstance(root.obj, Globals) else Globals()
    root.obj = Globals(
        profile=profile if profile is not None else given.profile,
        output=output if output is not None else given.output,
        quiet=quiet or given.quiet,
        trace=trace or given.trace,
    )


@apikeys_app.command("list", cls=Command)
@command
def apikeys_list(
    run: Run,
    service_id_ref: Annotated[
        str | None,
        typer.Option(
            "--service-id", metavar="SERVICE_ID", help="Keys of this service ID (name or ID)."
        ),
    ] = None,
    bound_to: Annotated[
        str | None,
        typer.Option(
            "--bound-to", metavar="CRN", help="Keys bound to this CRN (a service ID's, or self)."
        ),
    ] = None,
    limit: LimitOpt = None,
) -> None:
    """List API keys: your own, or a service ID's."""
    from ..models import Owner
    from ..services.identities import owner_from_bound_to, resolve_service_id

    if service_id_ref is not None and bound_to is not None:
        raise UsageError("use either --service-id or --bound-to, not both")
    flavor = run.session.flavor()
    owner = Owner()
    if service_id_ref is not None:
        owner = Owner(resolve_service_id(flavor, service_id_ref))
    elif bound_to is not None:
        owner = owner_from_bound_to(flavor, bound_to)
    whose = f"service ID {owner.service_id.name}" if owner.service_id else "the current identity"
    list_keys(run, flavor.api_keys(owner), whose, limit=limit)


@apikeys_app.command("get", cls=Command)
@command
def apikeys_get(run: Run, kid: KeyIdArg) -> None:
    """Show one API key (never its value)."""
    from ..services.identities import get_api_key

    show(run, get_api_key(run.session.flavor(), kid), with_value=True)


@apikeys_app.command("update", cls=Command)
@command
def apikeys_update(
    run: Run,
    kid: KeyIdArg,
    name: Annotated[
        str | None, typer.Option("--name", "-n", metavar="NEW_NAME", help="New name of the key.")
    ] = None,
    description: NewDescriptionOpt = None,
    force: ForceOpt = False,
) -> None:
    """Rename an API key or change its description (guarded by its version on IBM Cloud)."""
    from ..services.identities import get_api_key, update_api_key

    if name is None and description is None:
        raise UsageError("nothing to change: give --name and/or --description")
    if name is not None and not name.strip():
        raise UsageError("the new name must not be empty")
    flavor = run.session.flavor()
    current = get_api_key(flavor, kid)
    if not confirm(f"Update API key {current.name} ({current.id})?", force=force, action="update"):
        run.out.status("Not updated.")
        return
    run.out.status(f"Updating API key {current.name} as {as_whom(run)}...")
    with suggest_unlock(unlock_command(current)):
        updated = update_api_key(flavor, current, name=name, description=description)
    run.out.ok()
    show(run, updated)


@apikeys_app.command("delete", cls=Command)
@command
def apikeys_delete(run: Run, kid: KeyIdArg, force: ForceOpt = False) -> None:
    """Delete an API key. Tokens it already minted stay valid until they expire."""
    from ..services.identities import get_api_key

    flavor = run.session.flavor()
    current = get_api_key(flavor, kid)
    if not confirm(f"Delete API key {current.name} ({current.id})?", force=force, action="delete"):
        run.out.status("Not deleted.")
        return
    run.out.status(f"Deleting API key {current.name} as {as_whom(run)}...")
    with suggest_unlock(unlock_command(current)):
        flavor.delete_api_key(current.id)
    run.out.ok()
    run.out.status(f"API key {current.name} {current.id} deleted")
