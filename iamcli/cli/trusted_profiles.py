"""`trusted-profile-create`, `trusted-profiles`, `trusted-profile`, `trusted-profile-update`,
`trusted-profile-delete`, `trusted-profile-assume`, `trusted-profile-leave`.

(`--profile` names iamcli's local profile everywhere, as in every other command; the trusted
profile is the positional NAME|ID.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import UsageError
from .params import ForceOpt, Run, command
from .service_ids import as_whom
from .trusted_profile_views import PROFILE_COLUMNS, profile_record, profile_row
from .views import confirm, primed

if TYPE_CHECKING:
    from ..flavors.cloud_profiles import TrustedProfileApi
    from ..services.assume import Assumed
    from ..trusted_profile_models import TrustedProfile

TrustedProfileRef = Annotated[
    str, typer.Argument(metavar="(NAME|ID)", help="Trusted profile name, ID or CRN.")
]
DescriptionOpt = Annotated[
    str | None,
    typer.Option(
        "-d", "--description", metavar="DESCRIPTION", help="Description of the trusted profile."
    ),
]
EmailOpt = Annotated[
    str | None,
    typer.Option("-e", "--email", metavar="EMAIL", help="Contact email of the trusted profile."),
]
IdOnlyOpt = Annotated[bool, typer.Option("--id", help="Print only the ID.")]


def profile_api(run: Run) -> TrustedProfileApi:
    """The trusted-profile API of the session's family: a usage error naming the family where
    there is none, before any token is minted."""
    api = run.session.flavor(authenticated=False).trusted_profiles()
    run.session.flavor()  # the access token, on the same client
    return api


@command
def trusted_profile_create(
    run: Run,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Name of the new trusted profile.")],
    description: DescriptionOpt = None,
    email: EmailOpt = None,
) -> None:
    """Create a trusted profile in the current account."""
    from ..services.trusted_profiles import create_profile

    if not name.strip():
        raise UsageError("the trusted profile name must not be empty")
    api = profile_api(run)
    run.out.status(f"Creating trusted profile {name} in current account as {as_whom(run)}...")
    created = create_profile(api, name, description, email, note=run.out.warn)
    run.out.ok()
    run.out.status(f"Trusted profile {created.name} is created successfully")
    _show(run, created)


def _show(run: Run, profile: TrustedProfile) -> None:
    if run.json:
        run.out.json_value(profile.to_json())
    else:
        run.out.record(profile_record(profile))


@command
def trusted_profiles(
    run: Run,
    name: Annotated[
        str | None,
        typer.Option(
            "-n", "--name", metavar="STRING", help="Only profiles whose name contains this."
        ),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option(
            "-d",
            "--description",
            metavar="STRING",
            help="Only profiles whose description contains this.",
        ),
    ] = None,
    ids: Annotated[bool, typer.Option("--id", help="Print only the IDs, one a line.")] = False,
) -> None:
    """List the account's trusted profiles."""
    from ..services.trusted_profiles import text_filter

    api = profile_api(run)
    found = text_filter(api.profiles(), name, description)
    if ids:
        for p in found:
            run.out.line(p.id)
        return
    run.out.status(f"Getting all trusted profiles in current account as {as_whom(run)}...")
    if run.json:
        run.out.json_stream_list(None, primed(p.to_json() for p in found))
        return
    rows = primed(profile_row(p) for p in found)
    run.out.ok()
    run.out.table(PROFILE_COLUMNS, rows)


@command
def trusted_profile(run: Run, ref: TrustedProfileRef, id_only: IdOnlyOpt = False) -> None:
    """Show one trusted profile."""
    from ..services.trusted_profiles import resolve_profile

    found = resolve_profile(profile_api(run), ref)
    if id_only:
        run.out.line(found.id)
    else:
        _show(run, found)


@command
def trusted_profile_update(
    run: Run,
    ref: TrustedProfileRef,
    new_name: Annotated[
        str | None, typer.Option("-n", "--name", metavar="NEW_NAME", help="New name.")
    ] = None,
    description: Annotated[
        str | None,
        typer.Option("-d", "--description", metavar="DESCRIPTION", help="'' clears it."),
    ] = None,
    email: Annotated[
        str | None, typer.Option("-e", "--email", metavar="EMAIL", help="'' clears it.")
    ] = None,
    force: ForceOpt = False,
) -> None:
    """Rename a trusted profile, or change its description or email.

    Sends the version read just before (If-Match): a change made meanwhile by someone else is
    refused with exit code 5, never overwritten.
    """
    from ..services.trusted_profiles import resolve_profile, update_profile

    if new_name is None and description is None and email is None:
        raise UsageError("nothing to change: give -n NEW_NAME, -d DESCRIPTION and/or -e EMAIL")
    if new_name is not None and not new_name.strip():
        raise UsageError("the new name must not be empty")
    api = profile_api(run)
    current = resolve_profile(api, ref)
    if not confirm(
        f"Update trusted profile {current.name} ({current.id})?", force=force, action="update"
    ):
        run.out.status("Not updated.")
        return
    run.out.status(f"Updating trusted profile {current.name} as {as_whom(run)}...")
    updated = update_profile(api, current, name=new_name, description=description, email=email)
    run.out.ok()
    run.out.status(f"Trusted profile {updated.name} is updated successfully")
    _show(run, updated)


@command
def trusted_profile_delete(run: Run, ref: TrustedProfileRef, force: ForceOpt = False) -> None:
    """Delete a trusted profile: its rules, links and identities go with it, and nobody can
    log in as it any more (tokens already issued work until they expire)."""
    from ..services.trusted_profiles import resolve_profile

    api = profile_api(run)
    current = resolve_profile(api, ref)
    if not confirm(
        f"Delete trusted profile {current.name} ({current.id})?", force=force, action="delete"
    ):
        run.out.status("Not deleted.")
        return
    run.out.status(f"Deleting trusted profile {current.name} as {as_whom(run)}...")
    api.delete_profile(current.id)
    run.out.ok()
    run.out.status(f"Trusted profile {current.name} is deleted successfully")


@command
def trusted_profile_assume(
    run: Run,
    ref: Annotated[
        str | None,
        typer.Argument(
            metavar="[NAME|ID]",
            help="Trusted profile name, ID or CRN [default: show the assumed profile].",
        ),
    ] = None,
) -> None:
    """Act as a trusted profile: this profile's tokens become the trusted profile's.

    Only an identity listed in the trusted profile's identities may assume it. Each refresh
    assumes it again from the login's own credential; `trusted-profile-leave` goes back.
    """
    from ..services import assume

    if ref is None:
        current = assume.assumed(run.session)
        if current is None:
            run.out.status(f"Profile {run.profile_name} has not assumed a trusted profile.")
            return
        _assumed_record(run, current)
        return
    run.session.flavor(authenticated=False).trusted_profiles()  # the family's refusal first
    run.out.status(f"Assuming trusted profile {ref} as {as_whom(run)}...")
    result = assume.assume(run.session, ref)
    run.out.ok()
    _assumed_record(run, result)


def _assumed_record(run: Run, a: Assumed) -> None:
    if run.json:
        run.out.json_value(a.to_json())
    else:
        run.out.record([("Trusted profile", a.name), ("ID", a.id), ("IAM ID", a.iam_id)])


@command
def trusted_profile_leave(run: Run) -> None:
    """Stop acting as the assumed trusted profile: tokens are the login's own again."""
    from ..services import assume

    left = assume.leave(run.session)
    if left is None:
        run.out.status(f"Profile {run.profile_name} has not assumed a trusted profile.")
        return
    run.out.ok()
    run.out.status(f"Left trusted profile {left.name} ({left.id})")
