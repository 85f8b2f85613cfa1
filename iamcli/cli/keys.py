"""API keys by name or ID, as `ibmcloud iam` spells the commands: the user's own keys
(`api-keys`, `api-key`, `api-key-update`, `api-key-delete|lock|unlock|disable|enable`) and a
service ID's (`service-api-key`, `service-api-key-update`, `service-api-key-delete|...`).

The two families share one implementation: a command finds its owner (you, or a service ID
by name or ID), then the key among the owner's keys, then does one thing to it.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import UsageError
from .complete import leak_actions
from .params import ForceOpt, Run, command
from .service_ids import (
    DescriptionFilterOpt,
    LimitOpt,
    NameFilterOpt,
    NewDescriptionOpt,
    UuidOpt,
    as_whom,
)
from .views import (
    API_KEY_COLUMNS,
    WRAPPING,
    api_key_record,
    api_key_row,
    confirm,
    primed,
    stream_json_list,
    suggest_unlock,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..models import ApiKey, Owner

KeyRef = Annotated[str, typer.Argument(metavar="(NAME|ID)", help="API key name or ID.")]
ServiceKeyRef = Annotated[
    str, typer.Argument(metavar="(APIKEY_NAME|APIKEY_ID)", help="API key name or ID.")
]
ServiceIdRef = Annotated[
    str,
    typer.Argument(
        metavar="(SERVICE_ID_NAME|SERVICE_ID)", help="Service ID the key belongs to (name or ID)."
    ),
]
NewNameOpt = Annotated[
    str | None, typer.Option("-n", "--name", metavar="NEW_NAME", help="New name of the key.")
]
LeakOpt = Annotated[
    str | None,
    typer.Option(
        "--action-if-leaked",
        metavar="none|disable|delete",
        help="What IAM does if the key is found leaked (IBM Cloud; its default is disable).",
        autocompletion=leak_actions,
    ),
]


@dataclass(frozen=True)
class Act:
    """One thing done to a key, in words, and what the family must support for it."""

    verb: str  # "delete", "lock", ...
    done: str  # "deleted", "locked", ...
    unsupported: str | None  # what the family must support, by name; None: every family has it


_ACTS = {
    "delete": Act("delete", "deleted", None),
    "lock": Act("lock", "locked", "locks"),
    "unlock": Act("unlock", "unlocked", "locks"),
    "disable": Act("disable", "disabled", "disable"),
    "enable": Act("enable", "enabled", "disable"),
}


def _owner(run: Run, service_id_ref: str | None) -> "Owner":
    from ..models import Owner
    from ..services.identities import resolve_service_id

    if service_id_ref is None:
        return Owner()
    return Owner(resolve_service_id(run.session.flavor(), service_id_ref))


def _what(owner: "Owner", key_name: str) -> str:
    if owner.service_id is None:
        return f"API key {key_name}"
    return f"API key {key_name} of service ID {owner.service_id.name}"


def _unlock(owner: "Owner", key: "ApiKey") -> str:
    if owner.service_id is None:
        return f"iamcli api-key-unlock {key.id}"
    return f"iamcli service-api-key-unlock {key.id} {owner.service_id.id}"


def show(run: Run, key: "ApiKey", *, uuid: bool = False, with_value: bool = False) -> None:
    """One key. `with_value`: also its value, where the server gave one (only a service ID
    key created with --store-value has one to give); asked for by reading the key only."""
    if uuid:
        run.out.stdout.write(key.id + "\n")
    elif run.json:
        body = key.to_json()
        if not with_value:
            body.pop("apikey", None)
        run.out.json_value(body)
    else:
        run.out.record(api_key_record(key, with_value=with_value))


def list_keys(
    run: Run,
    keys: "Iterable[ApiKey]",
    whose: str,
    *,
    limit: int | None,
    name: str | None = None,
    description: str | None = None,
    uuid: bool = False,
) -> None:
    from ..services.identities import limited, text_filter

    if uuid:
        run.out.quiet = True
    run.out.status(f"Getting API keys of {whose} as {as_whom(run)}...")
    found = limited(text_filter(keys, name, description), limit)
    if run.json:
        stream_json_list(run.out, (k.to_json() for k in found))
        return
    rows = primed(api_key_row(k) for k in found)
    run.out.ok()
    run.out.table(API_KEY_COLUMNS, rows, empty="No API keys found", wrap=WRAPPING)


def _get(run: Run, ref: str, service_id_ref: str | None, uuid: bool) -> None:
    from ..services.identities import resolve_api_key

    flavor = run.session.flavor()
    key = resolve_api_key(flavor, ref, _owner(run, service_id_ref))
    if service_id_ref is not None and flavor.supports_key_settings and not uuid:
        # Found by name, in a list: lists never carry a stored value, a read of the key does.
        key = flavor.api_key(key.id) if key.apikey is None else key
    show(run, key, uuid=uuid, with_value=True)


def _update(
    run: Run,
    ref: str,
    service_id_ref: str | None,
    *,
    name: str | None,
    description: str | None,
    leak: str | None,
    force: bool,
) -> None:
    from ..services.identities import leak_action, resolve_api_key, update_api_key

    action = leak_action(leak)
    if name is None and description is None and action is None:
        raise UsageError(
            "nothing to change: give -n NEW_NAME, -d DESCRIPTION and/or --action-if-leaked"
        )
    if name is not None and not name.strip():
        raise UsageError("the new name must not be empty")
    flavor = run.session.flavor()
    if action is not None and not flavor.supports_key_settings:  # before any lookup
        raise flavor.unsupported("--action-if-leaked")
    owner = _owner(run, service_id_ref)
    current = resolve_api_key(flavor, ref, owner)
    what = _what(owner, current.name)
    if not confirm(f"Update {what} ({current.id})?", force=force, action="update"):
        run.out.status("Not updated.")
        return
    run.out.status(f"Updating {what} as {as_whom(run)}...")
    with suggest_unlock(_unlock(owner, current)):
        updated = update_api_key(
            flavor, current, name=name, description=description, action_when_leaked=action
        )
    run.out.ok()
    run.out.status(f"{_what(owner, updated.name)} is updated")
    show(run, updated)


def _act(run: Run, verb: str, ref: str, service_id_ref: str | None, force: bool) -> None:
    from ..services.identities import resolve_api_key

    act = _ACTS[verb]
    flavor = run.session.flavor()
    supported = {None: True, "locks": flavor.supports_locks, "disable": flavor.supports_disable}
    if not supported[act.unsupported]:  # before any lookup or question
        raise flavor.unsupported(f"{act.verb.rstrip('e')}ing API keys")
    owner = _owner(run, service_id_ref)
    current = resolve_api_key(flavor, ref, owner)
    what = _what(owner, current.name)
    if not confirm(f"{verb.capitalize()} {what} ({current.id})?", force=force, action=verb):
        run.out.status(f"Not {act.done}.")
        return
    run.out.status(f"{verb.rstrip('e').capitalize()}ing {what} as {as_whom(run)}...")
    with suggest_unlock(_unlock(owner, current)):
        if verb == "delete":
            flavor.delete_api_key(current.id)
        elif verb in ("lock", "unlock"):
            flavor.lock_api_key(current.id, verb == "lock")
        else:
            flavor.disable_api_key(current.id, verb == "disable")
    run.out.ok()
    run.out.status(f"{what} {current.id} is {act.done}")


# -- your own keys ---------------------------------------------------------------------------


@command
def api_keys(
    run: Run,
    name: NameFilterOpt = None,
    description: DescriptionFilterOpt = None,
    uuid: UuidOpt = False,
    limit: LimitOpt = None,
) -> None:
    """List your own API keys (those of the identity you are logged in as)."""
    from ..models import Owner

    list_keys(
        run,
        run.session.flavor().api_keys(Owner()),
        "the current identity",
        limit=limit,
        name=name,
        description=description,
        uuid=uuid,
    )


@command
def api_key(run: Run, ref: KeyRef, uuid: UuidOpt = False) -> None:
    """Show one of your API keys (never its value)."""
    _get(run, ref, None, uuid)


@command
def api_key_update(
    run: Run,
    ref: KeyRef,
    name: NewNameOpt = None,
    description: NewDescriptionOpt = None,
    leak: LeakOpt = None,
    force: ForceOpt = False,
) -> None:
    """Rename one of your API keys, change its description or its leak action.

    Guarded by the version read just before (IBM Cloud): a change made meanwhile is refused
    with exit code 5, never overwritten.
    """
    _update(run, ref, None, name=name, description=description, leak=leak, force=force)


def _user_act(verb: str, doc: str):  # type: ignore[no-untyped-def]
    def fn(run: Run, ref: KeyRef, force: ForceOpt = False) -> None:
        _act(run, verb, ref, None, force)

    fn.__doc__ = doc
    fn.__name__ = f"api_key_{verb}"
    return command(fn)


def _service_act(verb: str, doc: str):  # type: ignore[no-untyped-def]
    def fn(
        run: Run, ref: ServiceKeyRef, service_id_ref: ServiceIdRef, force: ForceOpt = False
    ) -> None:
        _act(run, verb, ref, service_id_ref, force)

    fn.__doc__ = doc
    fn.__name__ = f"service_api_key_{verb}"
    return command(fn)


_DOCS = {
    "delete": "Delete {key}. Tokens it already minted stay valid until they expire.",
    "lock": "Lock {key}: it cannot be changed or deleted until unlocked (IBM Cloud).",
    "unlock": "Unlock {key} (IBM Cloud).",
    "disable": "Disable {key}: it logs in no more until enabled (IBM Cloud).",
    "enable": "Enable {key} again after a disable (IBM Cloud).",
}

USER_ACTS = {verb: _user_act(verb, doc.format(key="your API key")) for verb, doc in _DOCS.items()}
SERVICE_ACTS = {
    verb: _service_act(verb, doc.format(key="a service ID's API key"))
    for verb, doc in _DOCS.items()
}


# -- a service ID's keys ---------------------------------------------------------------------


@command
def service_api_key(
    run: Run, ref: ServiceKeyRef, service_id_ref: ServiceIdRef, uuid: UuidOpt = False
) -> None:
    """Show one API key of a service ID (never its value, unless it was created with
    --store-value)."""
    _get(run, ref, service_id_ref, uuid)


@command
def service_api_key_update(
    run: Run,
    ref: ServiceKeyRef,
    service_id_ref: ServiceIdRef,
    name: NewNameOpt = None,
    description: NewDescriptionOpt = None,
    leak: LeakOpt = None,
    force: ForceOpt = False,
) -> None:
    """Rename a service ID's API key, change its description or its leak action."""
    _update(run, ref, service_id_ref, name=name, description=description, leak=leak, force=force)
