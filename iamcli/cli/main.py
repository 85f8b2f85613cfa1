"""The root command: options given before a command name, and the command table."""

from typing import Annotated, ClassVar

import typer

from . import (
    account_settings,
    api_keys,
    auth,
    exec,
    keys,
    limits,
    policies,
    profiles,
    rotation,
    serve,
    service_ids,
    templates,
    trusted_profile_identities,
    trusted_profile_parts,
    trusted_profile_policies,
    trusted_profiles,
)
from .lazy import Entry, LazyGroup, command_entry, deferred_entry, group_entry
from .params import Command, Globals, OutputOpt, ProfileOpt, QuietOpt, TraceOpt


class Root(LazyGroup):
    entries: ClassVar[dict[str, Entry]] = {}


app = typer.Typer(
    name="iamcli",
    cls=Root,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(profiles.version_text())
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    quiet: QuietOpt = False,
    trace: TraceOpt = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_version, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """IBM Cloud and IBM Cloud Private IAM on the command line.

    Exit codes: 0 success, 1 error, 2 usage, 3 not found, 4 not logged in or credential
    refused (or token inactive), 5 conflict (changed meanwhile, locked, exists),
    6 network or TLS, 130 interrupted.
    """
    ctx.obj = Globals(profile=profile, output=output, quiet=quiet, trace=trace)


Root.entries["login"] = command_entry(auth.login, name="login", cls=Command, help=auth.LOGIN_HELP)
Root.entries["exec"] = command_entry(
    exec.exec_command,
    name="exec",
    cls=Command,
    help=exec.EXEC_HELP,
    context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True},
)
for _name, _fn in (
    ("logout", auth.logout),
    ("target", auth.target),
    ("profiles", profiles.profiles),
    ("oauth-tokens", auth.oauth_tokens),
    ("introspect", auth.introspect),
    ("service-id-create", service_ids.service_id_create),
    ("service-ids", service_ids.service_ids),
    ("service-id", service_ids.service_id),
    ("service-id-update", service_ids.service_id_update),
    ("service-id-delete", service_ids.service_id_delete),
    ("service-id-lock", service_ids.service_id_lock),
    ("service-id-unlock", service_ids.service_id_unlock),
    ("service-api-key-create", api_keys.service_api_key_create),
    ("service-api-keys", api_keys.service_api_keys),
    ("service-api-key", keys.service_api_key),
    ("service-api-key-update", keys.service_api_key_update),
    *((f"service-api-key-{verb}", fn) for verb, fn in keys.SERVICE_ACTS.items()),
    ("api-key-create", api_keys.api_key_create),
    ("api-keys", keys.api_keys),
    ("api-key", keys.api_key),
    ("api-key-update", keys.api_key_update),
    *((f"api-key-{verb}", fn) for verb, fn in keys.USER_ACTS.items()),
    ("version", profiles.version),
    ("service-policy-create", policies.service_policy_create),
    ("service-policy-update", policies.service_policy_update),
    ("service-policies", policies.service_policies),
    ("service-policy", policies.service_policy),
    ("service-policy-delete", policies.service_policy_delete),
    ("roles", policies.roles),
    *(
        (fn.__name__.replace("_", "-"), fn)
        for fn in (
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
        )
    ),
):
    Root.entries[_name] = command_entry(_fn, name=_name, cls=Command, help=None)


def _template_entries(kind: templates.Kind) -> None:
    for name, text in templates.help_texts(kind).items():
        Root.entries[name] = deferred_entry(
            lambda name=name: templates.template_commands(kind)[name],  # type: ignore[misc]
            name=name,
            cls=Command,
            help=text,
        )


_template_entries(templates.TRUSTED_PROFILE)
for _name, _fn in (
    ("account-settings", account_settings.account_settings),
    ("account-settings-update", account_settings.account_settings_update),
):
    Root.entries[_name] = command_entry(_fn, name=_name, cls=Command, help=None)
_template_entries(templates.ACCOUNT_SETTINGS)
Root.entries["identity-limits"] = command_entry(
    limits.identity_limits, name="identity-limits", cls=Command, help=None
)
for _kind, (_help, _) in limits.USAGE_HELP.items():
    Root.entries[f"{_kind}-usage"] = deferred_entry(
        lambda name=f"{_kind}-usage": limits.usage_commands()[name],  # type: ignore[misc]
        name=f"{_kind}-usage",
        cls=Command,
        help=_help,
    )
Root.entries["service-api-key-rotate"] = command_entry(
    rotation.service_api_key_rotate,
    name="service-api-key-rotate",
    cls=Command,
    help=rotation.SERVICE_ROTATE_HELP,
)
Root.entries["api-key-rotate"] = command_entry(
    rotation.api_key_rotate, name="api-key-rotate", cls=Command, help=rotation.ROTATE_HELP
)
Root.entries["serve"] = command_entry(serve.serve, name="serve", cls=Command, help=serve.SERVE_HELP)
Root.entries["apikeys"] = group_entry(api_keys.apikeys_app, name="apikeys")
