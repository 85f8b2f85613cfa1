"""`exec`: run a command with a fresh token in its environment."""

from typing import Annotated

import typer

from .flags import EXEC_FLAGS, MIN_VALID_FLAG, SDK_SERVICE_FLAG
from .params import MinValidOpt, Run, command, duration_seconds

EXEC_HELP = """Run COMMAND with a fresh IAM access token in its environment, and no API key.

The command gets IAMCLI_TOKEN (the bare JWT) and IAMCLI_TOKEN_EXPIRATION (its exp, epoch
seconds); for each --sdk-service NAME, NAME_AUTH_TYPE=bearerToken and NAME_BEARER_TOKEN, which
IBM's SDKs read (IamIdentityV1.new_instance() reads IAM_IDENTITY_*). IAMCLI_API_KEY and
IBMCLOUD_API_KEY are removed when they carried the key into iamcli; --with-apikey puts the key
back, by name, as IAMCLI_API_KEY. Nested use is refused (IAMCLI_EXEC marks the command).

iamcli becomes COMMAND (execve): its output, exit status and signals are the command's own.
With --metadata-server, for commands that outlive a token, iamcli stays as the command's
parent and serves the IBM VPC instance metadata token flow on 127.0.0.1 (a random port and a
per-run secret in the URL) until the command exits; NAME_AUTH_TYPE=vpc and NAME_AUTH_URL point
the SDKs at it, and they refresh their tokens from it. Any process that can read the
command's environment (processes of the same user) can mint tokens from it while it runs.
The exit status is the command's; a command killed by a signal makes iamcli die of it too.
A command that cannot be found exits 127, one that cannot be run 126.

\b
Examples:
  iamcli exec -- terraform plan
  iamcli exec --sdk-service IAM_IDENTITY -- python deploy.py
  iamcli exec --min-valid 30m -- ./long-script.sh
  iamcli exec --metadata-server --sdk-service IAM_IDENTITY -- python nightly-job.py
"""


@command
def exec_command(
    run: Run,
    argv: Annotated[
        list[str] | None,
        typer.Argument(metavar="-- COMMAND [ARG...]", help="The command and its arguments."),
    ] = None,
    min_valid: MinValidOpt = None,
    sdk_service: Annotated[
        list[str] | None,
        typer.Option(
            SDK_SERVICE_FLAG,
            metavar="NAME",
            help="Configure IBM's SDKs for service NAME (repeatable).",
        ),
    ] = None,
    with_apikey: Annotated[
        bool,
        typer.Option(EXEC_FLAGS[0], help="Also pass the API key, as IAMCLI_API_KEY."),
    ] = False,
    metadata_server: Annotated[
        bool,
        typer.Option(
            EXEC_FLAGS[1],
            help="Serve tokens to the command's SDKs for as long as it runs (VPC metadata flow).",
        ),
    ] = False,
    terraform: Annotated[
        bool,
        typer.Option(
            EXEC_FLAGS[2],
            help="Set IC_IAM_TOKEN and IC_IAM_REFRESH_TOKEN for the IBM Terraform provider "
            "(password logins: it needs the refresh token).",
        ),
    ] = False,
) -> None:
    from ..services.exec import ExecRequest, sdk_service_name
    from ..services.exec import run as run_child

    request = ExecRequest(
        run.profile_name,
        list(argv or []),
        min_valid=duration_seconds(min_valid, MIN_VALID_FLAG),
        services=tuple(sdk_service_name(n) for n in sdk_service or []),
        with_apikey=with_apikey,
        metadata_server=metadata_server,
        terraform=terraform,
    )
    raise typer.Exit(run_child(request, trace=run.trace))
