"""The root command: options given before a command name, and the command table."""

import copy
import inspect
import os

import typer
from typer.models import CommandInfo

from . import (
    api_keys,
    auth,
    exec,
    policies,
    rotation,
    serve,
    service_ids,
    trusted_profile_identities,
    trusted_profile_parts,
    trusted_profile_policies,
    trusted_profiles,
)
from .flags import OUTPUT_FLAG, PROFILE_FLAG
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
    ("service-policy-create", policies.service_policy_create),
    ("service-policy-update", policies.service_policy_update),
    ("service-policies", policies.service_policies),
    ("service-policy", policies.service_policy),
    ("service-policy-delete", policies.service_policy_delete),
    ("roles", policies.roles),
):
    app.command(name=_name)(_fn)
app.command(name="service-api-key-rotate", help=rotation.SERVICE_ROTATE_HELP)(
    rotation.service_api_key_rotate
)
app.command(name="api-key-rotate", help=rotation.ROTATE_HELP)(rotation.api_key_rotate)
for _trusted in (
    trusted_profiles.trusted_profile_create,
    trusted_profiles.trusted_profiles,
    trusted_profiles.trusted_profile,
    trusted_profiles.trusted_profile_update,
    trusted_profiles.trusted_profile_delete,
    trusted_profiles.trusted_profile_assume,
    trusted_profiles.trusted_profile_leave,
    trusted_profile_parts.trusted_profile_rule_create,
    trusted_profile_parts.trusted_profile_rule_update,
    trusted_profile_parts.trusted_profile_rule_delete,
    trusted_profile_parts.trusted_profile_rules,
    trusted_profile_parts.trusted_profile_link_create,
    trusted_profile_parts.trusted_profile_link_delete,
    trusted_profile_parts.trusted_profile_links,
    trusted_profile_identities.trusted_profile_identity_create,
    trusted_profile_identities.trusted_profile_identity,
    trusted_profile_identities.trusted_profile_identity_delete,
    trusted_profile_identities.trusted_profile_identities,
    trusted_profile_policies.trusted_profile_policy_create,
    trusted_profile_policies.trusted_profile_policy_update,
    trusted_profile_policies.trusted_profile_policies,
    trusted_profile_policies.trusted_profile_policy,
    trusted_profile_policies.trusted_profile_policy_delete,
):
    app.command(name=_trusted.__name__.replace("_", "-"))(_trusted)
app.add_typer(api_keys.apikeys_app, name="apikeys")
app.command(name="serve", help=serve.SERVE_HELP)(serve.serve)


def app_for(argv: list[str]) -> typer.Typer:
    """The app as this run needs it.

    Typer turns every registered command into a Click command on each run, inspecting its
    whole signature; with fifty commands that is most of a `--help`. A run of one command needs
    only that one; a run that names none (the root's help and its errors) needs only each
    command's name and help text, so it gets stand-ins with no options. Shell completion and
    unknown names (for Click's suggestions) get the real table.
    """
    if any(k.startswith("_IAMCLI_COMPLETE") for k in os.environ):
        return app
    name = _command_name(argv)
    narrowed = copy.copy(app)
    if name is None:
        narrowed.registered_commands = [_listed(c) for c in app.registered_commands]
        return narrowed
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not (commands or groups):
        return app
    narrowed.registered_commands = commands
    narrowed.registered_groups = groups
    return narrowed


def _listed(info: CommandInfo) -> CommandInfo:
    """A command as the root's help lists it: its name and help, nothing to inspect."""
    stand_in = copy.copy(info)
    stand_in.help = info.help if info.help is not None else inspect.getdoc(info.callback)
    stand_in.callback = _never_run
    return stand_in


def _never_run() -> None:
    raise AssertionError("a listed command is never run")  # only the named command runs


def _command_name(argv: list[str]) -> str | None:
    """The first word that is not a root option or its value."""
    takes_value = (PROFILE_FLAG, OUTPUT_FLAG)
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in takes_value:
            i += 2
            continue
        if word.startswith("-"):
            if word in ("--help", "-h"):
                return None
            i += 1
            continue
        return word
    return None
