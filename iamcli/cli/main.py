"""The root command: options given before a command name, and the command table."""

import typer

from . import api_keys, auth, exec, rotation, serve, service_ids
from .params import Globals, OutputOpt, ProfileOpt, QuietOpt, TraceOpt

app = typer.Typer(
    name="iamcli",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    quiet: QuietOpt = False,
    trace: TraceOpt = False,
) -> None:
    """IBM Cloud and IBM Cloud Private IAM on the command line.

    Exit codes: 0 success, 1 error, 2 usage, 3 not found, 4 not logged in or credential
    refused (or token inactive), 5 conflict (changed meanwhile, locked, exists),
    6 network or TLS, 130 interrupted.
    """
    ctx.obj = Globals(profile=profile, output=output, quiet=quiet, trace=trace)


app.command(name="login", help=auth.LOGIN_HELP)(auth.login)
app.command(name="logout")(auth.logout)
app.command(name="target")(auth.target)
app.command(name="oauth-tokens")(auth.oauth_tokens)
app.command(name="introspect")(auth.introspect)
app.command(
    name="exec",
    help=exec.EXEC_HELP,
    context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True},
)(exec.exec_command)
for _name, _fn in (
    ("service-id-create", service_ids.service_id_create),
    ("service-ids", service_ids.service_ids),
    ("service-id", service_ids.service_id),
    ("service-id-update", service_ids.service_id_update),
    ("service-id-delete", service_ids.service_id_delete),
    ("service-id-lock", service_ids.service_id_lock),
    ("service-id-unlock", service_ids.service_id_unlock),
    ("service-api-key-create", api_keys.service_api_key_create),
    ("service-api-keys", api_keys.service_api_keys),
    ("api-key-create", api_keys.api_key_create),
):
    app.command(name=_name)(_fn)
app.command(name="service-api-key-rotate", help=rotation.SERVICE_ROTATE_HELP)(
    rotation.service_api_key_rotate
)
app.command(name="api-key-rotate", help=rotation.ROTATE_HELP)(rotation.api_key_rotate)
app.add_typer(api_keys.apikeys_app, name="apikeys")
app.command(name="serve", help=serve.SERVE_HELP)(serve.serve)
