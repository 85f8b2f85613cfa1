"""`profiles` and `version`: what is on this machine, without the network."""

from .params import Run, command

PROFILE_COLUMNS = ["Profile", "API endpoint", "Flavor", "Identity", "Credential"]


@command
def profiles(run: Run) -> None:
    """List the local profiles: endpoint, flavor, identity, and whether each holds a usable
    credential (the keyring is read, the network is not)."""
    from ..config import list_profiles
    from ..services.auth import credential_state

    rows = []
    for p in list_profiles():
        usable, source = credential_state(p.name, p)
        rows.append((p, usable, source))
    if run.json:
        run.out.json_value(
            [
                {
                    "profile": p.name,
                    "endpoint": p.endpoint,
                    "flavor": p.flavor,
                    "account_id": p.account_id,
                    "iam_id": p.iam_id,
                    "identity_name": p.identity_name,
                    "usable": usable,
                    "credential_source": source,
                }
                for p, usable, source in rows
            ]
        )
        return
    table = [
        [
            p.name + (" *" if p.name == run.profile_name else ""),
            p.endpoint,
            p.flavor,
            p.identity_name or "-",
            ("yes: " if usable else "no: ") + source,
        ]
        for p, usable, source in rows
    ]
    run.out.table(
        PROFILE_COLUMNS,
        table,
        empty="No profiles: run 'iamcli login'",
        wrap=frozenset({"Credential"}),
    )


def version_text() -> str:
    from .. import __version__

    return f"iamcli {__version__}"


@command
def version(run: Run) -> None:
    """Show the version of iamcli."""
    if run.json:
        from .. import __version__

        run.out.json_value({"version": __version__})
    else:
        run.out.stdout.write(version_text() + "\n")
