"""`service-api-key-rotate` and `api-key-rotate`: parse, call the rotation, render."""

from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import UsageError
from .params import Run, command
from .service_ids import as_whom
from .views import api_key_record

if TYPE_CHECKING:
    from ..models import Owner

ROTATE_NOTES = """
Steps: the successor is made with the same name, description and lock (and, on IBM Cloud,
the same action_when_leaked and expires_at); it is saved to FILE (0600, atomically, never over
another file without --force); it must mint a token; if the profile logs in with the old key,
the profile moves to the successor; only then is the old key disabled, deleted or kept
(--old; default: disable on IBM Cloud, delete on IBM Cloud Private, which cannot disable keys).

Interrupted at any step (Ctrl-C, a lost answer, a crash), the same command finishes the job:
FILE is written before the successor exists (on IBM Cloud with the successor's value, chosen
here), so the new value is never lost, and the old key is never touched before its successor
works. Until it finishes, both keys may be active, and every failure says so.
"""

OldOpt = Annotated[
    str | None,
    typer.Option(
        "--old",
        metavar="disable|delete|keep",
        help="What becomes of the old key [default: disable, or delete where keys cannot be "
        "disabled].",
    ),
]
RotateFileOpt = Annotated[
    str,
    typer.Option(
        "--file",
        metavar="FILE",
        help="Where the new key is saved (0600); also holds the rotation while it runs.",
    ),
]
RotateForceOpt = Annotated[
    bool,
    typer.Option("--force", "-f", help="Replace FILE if it exists and holds no rotation."),
]


def _rotate(
    run: Run, owner: "Owner", key_ref: str, file: str, old: str | None, force: bool, whose: str
) -> None:
    from ..services.rotation import OLD_ACTIONS, rotate

    if old is not None and old not in OLD_ACTIONS:
        raise UsageError(f"--old must be disable, delete or keep, not {old!r}")
    run.out.status(f"Rotating API key {key_ref} {whose} as {as_whom(run)}...")
    done = rotate(
        run.session,
        owner,
        key_ref,
        file,
        old_action=old,
        force=force,
        note=run.out.warn,
    )
    run.out.ok()
    if done.resumed:
        run.out.status(f"Finished the rotation that {file} held")
    run.out.status(
        f"API key {done.new.name}: {done.new.id} replaces {done.old.id} (old key {done.old_was})"
    )
    if done.moved_profile:
        run.out.status(f"Profile {run.profile_name} now logs in with the new key")
    if done.old_was == "kept":
        run.out.warn(f"two keys are active: {done.old.id} (old, --old keep) and {done.new.id}")
    run.out.status(f"Successfully saved API key information to {file}")
    if run.json:
        run.out.json_value({k: v for k, v in done.new.to_json().items() if k != "apikey"})
    else:
        run.out.record(api_key_record(done.new))


@command
def service_api_key_rotate(
    run: Run,
    key_ref: Annotated[
        str, typer.Argument(metavar="(APIKEY_NAME|APIKEY_ID)", help="The key to replace.")
    ],
    service_id_ref: Annotated[
        str,
        typer.Argument(metavar="(SERVICE_ID_NAME|SERVICE_ID)", help="Service ID the key is of."),
    ],
    file: RotateFileOpt,
    old: OldOpt = None,
    force: RotateForceOpt = False,
) -> None:
    from ..models import Owner
    from ..services.identities import resolve_service_id

    sid = resolve_service_id(run.session.flavor(), service_id_ref)
    _rotate(run, Owner(sid), key_ref, file, old, force, f"of service ID {sid.name} ({sid.id})")


@command
def api_key_rotate(
    run: Run,
    key_ref: Annotated[
        str, typer.Argument(metavar="(APIKEY_NAME|APIKEY_ID)", help="The key to replace.")
    ],
    file: RotateFileOpt,
    old: OldOpt = None,
    force: RotateForceOpt = False,
) -> None:
    from ..models import Owner

    _rotate(run, Owner(), key_ref, file, old, force, "of the current identity")


SERVICE_ROTATE_HELP = "Replace a service ID's API key with a new one, safely.\n" + ROTATE_NOTES
ROTATE_HELP = "Replace one of your own API keys with a new one, safely.\n" + ROTATE_NOTES
