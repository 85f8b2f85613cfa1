"""`identity-limits` and ibmcloud's `*-usage` commands: an account's identity limits and how
much of them it uses (IBM Cloud only).

The usage commands are made only when one is used (`usage_commands`); the command table reads
their help from USAGE_HELP.
"""

import functools
from collections.abc import Callable
from typing import Annotated

import typer

from .account_settings import settings_api
from .account_views import LIMIT_COLUMNS, USAGE_COLUMNS, limit_rows, usage_rows
from .params import Run, command
from .service_ids import as_whom

# (the command's kind, its help, what --ids names, or None where it takes none)
USAGE_HELP: dict[str, tuple[str, str | None]] = {
    "access-groups": (
        "Show how many claim rules the given access groups have, against the limit.",
        "access group IDs (required)",
    ),
    "api-keys": (
        "Show how many API keys the given identities have, against the limit.",
        "IAM IDs (required)",
    ),
    "cr-links": ("Show how many compute-resource links the account has, against the limit.", None),
    "cr-rules": ("Show how many compute-resource rules the account has, against the limit.", None),
    "identity-providers": (
        "Show how many identity providers the account has, against the limit.",
        None,
    ),
    "service-id-groups": (
        "Show how many service ID groups the account has, or with --ids how many service IDs "
        "each given group has, against the limits.",
        "service ID group IDs",
    ),
    "templates": (
        "Show how many templates the account has, or with --ids how many versions each given "
        "template has, against the limits.",
        "template IDs",
    ),
    "trusted-profiles": (
        "Show how many trusted profiles the account has, or with --ids how many rules and "
        "links each given profile has, against the limits.",
        "trusted profile IDs",
    ),
}


@command
def identity_limits(run: Run) -> None:
    """Show the account's identity limits: how many of each entity it may have."""
    api = settings_api(run)
    run.out.status(f"Getting identity limits of account {api.account_id} as {as_whom(run)}...")
    found = api.limits()
    run.out.ok()
    if run.json:
        run.out.json_value(found.to_json())
    else:
        run.out.table(LIMIT_COLUMNS, limit_rows(found.lines))


def _usage(run: Run, kind: str, ids: str | None) -> None:
    from ..services.limits import USAGE_KINDS, usage_request

    asked, entries = usage_request(USAGE_KINDS[kind], ids)
    api = settings_api(run)
    run.out.status(f"Getting {kind} usage of account {api.account_id} as {as_whom(run)}...")
    found = api.limits(asked)
    run.out.ok()
    if run.json:
        run.out.json_value(found.to_json())
    else:
        run.out.table(USAGE_COLUMNS, usage_rows(found.lines, entries), empty="Nothing to show.")


def _make(kind: str, help: str, ids_are: str | None) -> Callable[..., None]:
    if ids_are is None:

        def without_ids(run: Run) -> None:
            _usage(run, kind, None)

        without_ids.__doc__ = help
        return command(without_ids)

    required = ids_are.endswith("(required)")
    IdsOpt = Annotated[
        str | None,
        typer.Option("--ids", metavar="ID1,ID2,...", help=f"Comma-separated {ids_are}."),
    ]

    def with_ids(run: Run, ids: IdsOpt = None) -> None:
        if required and ids is None:
            from ..errors import UsageError

            raise UsageError("--ids is required: the IDs to count for")
        _usage(run, kind, ids)

    with_ids.__doc__ = help
    return command(with_ids)


@functools.cache
def usage_commands() -> dict[str, Callable[..., None]]:
    return {
        f"{kind}-usage": _make(kind, help, ids_are) for kind, (help, ids_are) in USAGE_HELP.items()
    }
