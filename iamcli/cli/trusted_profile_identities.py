"""Who may assume a trusted profile: `trusted-profile-identity-create`, `-identity-delete`,
`-identity`, `-identities`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import UsageError
from .params import ForceOpt, Run, command
from .trusted_profile_parts import delete_part
from .trusted_profile_views import IDENTITY_COLUMNS, identity_record, identity_row
from .trusted_profiles import TrustedProfileRef, profile_api

if TYPE_CHECKING:
    from ..trusted_profile_models import ProfileIdentity

IdentifierOpt = Annotated[
    str,
    typer.Option(
        "--id",
        metavar="IDENTIFIER",
        help="IAM ID of a user, service ID (or its name), or CRN of a service instance.",
    ),
]
IdTypeOpt = Annotated[str, typer.Option("--id-type", metavar="USER|SERVICEID|CRN")]


def _identifier(run: Run, kind: str, identifier: str) -> str:
    """A service ID may be named by its name; everything else is sent as given."""
    from ..services.identities import resolve_service_id
    from ..services.trusted_profiles import is_service_id

    identifier = identifier.strip()
    if not identifier:
        raise UsageError("--id must not be empty")
    if kind == "serviceid" and not is_service_id(identifier):
        return resolve_service_id(run.session.flavor(), identifier).id
    return identifier


@command
def trusted_profile_identity_create(
    run: Run,
    ref: TrustedProfileRef,
    identifier: IdentifierOpt,
    id_type: IdTypeOpt,
    description: Annotated[
        str | None,
        typer.Option(
            "--description", metavar="DESCRIPTION", help="Why this identity may assume the profile."
        ),
    ] = None,
    accounts: Annotated[
        str | None,
        typer.Option(
            "--accounts",
            metavar="ACCOUNT,...",
            help="Accounts a USER may assume it from [default: the current account].",
        ),
    ] = None,
) -> None:
    """Let an identity assume the trusted profile (trusted-profile-assume)."""
    from ..services.trusted_profiles import identity_type, resolve_profile

    kind = identity_type(id_type)
    account_list = tuple(a.strip() for a in (accounts or "").split(",") if a.strip())
    if account_list and kind != "user":
        raise UsageError("--accounts is for USER identities only")
    api = profile_api(run)
    profile = resolve_profile(api, ref)
    value = _identifier(run, kind, identifier)
    if kind == "user" and not account_list and api.account_id:
        # IBM scopes a user identity to the accounts it may assume from; with none named, the
        # profile's own (the narrowest choice; IBM's default is not documented).
        account_list = (api.account_id,)
    run.out.status(f"Adding {kind} identity {value} to trusted profile {profile.name}...")
    added = api.add_identity(
        profile.id, kind, value, accounts=account_list, description=description
    )
    run.out.ok()
    _show_identity(run, added)


def _show_identity(run: Run, identity: ProfileIdentity) -> None:
    if run.json:
        run.out.json_value(identity.to_json())
    else:
        run.out.record(identity_record(identity))


@command
def trusted_profile_identity(
    run: Run, ref: TrustedProfileRef, identifier: IdentifierOpt, id_type: IdTypeOpt
) -> None:
    """Show one identity that may assume the trusted profile."""
    from ..services.trusted_profiles import identity_type, resolve_profile

    kind = identity_type(id_type)
    api = profile_api(run)
    profile = resolve_profile(api, ref)
    _show_identity(run, api.identity(profile.id, kind, _identifier(run, kind, identifier)))


@command
def trusted_profile_identity_delete(
    run: Run,
    ref: TrustedProfileRef,
    identifier: IdentifierOpt,
    id_type: IdTypeOpt,
    force: ForceOpt = False,
) -> None:
    """Stop an identity from assuming the trusted profile."""
    from ..services.trusted_profiles import identity_type, resolve_profile

    kind = identity_type(id_type)
    api = profile_api(run)
    profile = resolve_profile(api, ref)
    value = _identifier(run, kind, identifier)
    label = f"{kind} identity {value}"
    delete_part(
        run, label, profile.name, force, lambda: api.delete_identity(profile.id, kind, value)
    )


@command
def trusted_profile_identities(run: Run, ref: TrustedProfileRef) -> None:
    """List the identities that may assume a trusted profile."""
    from ..services.trusted_profiles import resolve_profile

    api = profile_api(run)
    profile = resolve_profile(api, ref)
    run.out.status(f"Getting identities of trusted profile {profile.name}...")
    found = api.identities(profile.id)
    if run.json:
        run.out.json_stream_list(None, (i.to_json() for i in found))
        return
    run.out.ok()
    run.out.table(IDENTITY_COLUMNS, (identity_row(i) for i in found))
