"""`account-settings` and `account-settings-update`: the identity settings of the current
account (IBM Cloud only).

ibmcloud's `--show-external-identity` and `account-settings-external-interaction-update` are
not here: they set IBM's external-identity interaction, which `iamcli serve` does not have and
the IAM Identity API reference in ibm-platform-services does not describe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import UsageError
from .account_views import settings_record
from .params import Run, command
from .service_ids import as_whom

if TYPE_CHECKING:
    from ..account_models import AccountSettings
    from ..flavors.cloud_account import AccountSettingsApi

RESTRICTION = "RESTRICTION_SETTING"


def settings_api(run: Run) -> AccountSettingsApi:
    """The family's account-settings API: a usage error naming the family where there is none,
    before any token is minted."""
    api = run.session.flavor(authenticated=False).account_settings()
    run.session.flavor()
    return api


def show_settings(run: Run, settings: AccountSettings) -> None:
    if run.json:
        run.out.json_value(settings.to_json())
    else:
        run.out.record(settings_record(settings))


@command
def account_settings(run: Run) -> None:
    """Show the identity settings of the current account: who may create service IDs and API
    keys, MFA, session and token lifetimes, allowed IP addresses."""
    api = settings_api(run)
    run.out.status(f"Getting account settings of account {api.account_id} as {as_whom(run)}...")
    found = api.settings()
    run.out.ok()
    show_settings(run, found)


def _seconds(meaning: str) -> str:
    return f"Seconds {meaning} (or NOT_SET: the service default)."


@command
def account_settings_update(
    run: Run,
    restrict_create_service_id: Annotated[
        str | None,
        typer.Option(
            "--restrict-create-service-id",
            metavar=RESTRICTION,
            help="Who may create service IDs: RESTRICTED, NOT_RESTRICTED or NOT_SET.",
        ),
    ] = None,
    restrict_create_platform_apikey: Annotated[
        str | None,
        typer.Option(
            "--restrict-create-platform-apikey",
            metavar=RESTRICTION,
            help="Who may create API keys: RESTRICTED, NOT_RESTRICTED or NOT_SET.",
        ),
    ] = None,
    allowed_ip_addresses: Annotated[
        str | None,
        typer.Option(
            "--allowed-ip-addresses",
            metavar="ADDRESS_LIST",
            help="IP addresses and subnets from which IAM tokens can be created, "
            "separated by commas.",
        ),
    ] = None,
    unset_allowed_ip_addresses: Annotated[
        bool,
        typer.Option("--unset-allowed-ip-addresses", help="Clear all IP address restrictions."),
    ] = False,
    mfa: Annotated[
        str | None,
        typer.Option(
            "--mfa",
            metavar="MFA",
            help="MFA of the account: NONE, NONE_NO_ROPC, TOTP, TOTP4ALL, LEVEL1, LEVEL2 "
            "or LEVEL3.",
        ),
    ] = None,
    session_expiration: Annotated[
        str | None,
        typer.Option(
            "--session-expiration-in-seconds",
            metavar="SECONDS_EXP",
            help=_seconds("after which a session expires, 900 to 86400"),
        ),
    ] = None,
    session_invalidation: Annotated[
        str | None,
        typer.Option(
            "--session-invalidation-in-seconds",
            metavar="SECONDS_INV",
            help=_seconds("of inactivity after which a session is invalidated, 900 to 7200"),
        ),
    ] = None,
    max_sessions: Annotated[
        str | None,
        typer.Option(
            "--max-sessions-per-identity",
            metavar="SESSIONS_MAX",
            help="Most sessions an identity may have at once (or NOT_SET).",
        ),
    ] = None,
    access_token_expiration: Annotated[
        str | None,
        typer.Option(
            "--access-token-expiration-in-seconds",
            metavar="SECONDS_EXP",
            help=_seconds("an access token lives, 900 to 3600"),
        ),
    ] = None,
    refresh_token_expiration: Annotated[
        str | None,
        typer.Option(
            "--refresh-token-expiration-in-seconds",
            metavar="SECONDS_EXP",
            help=_seconds("a refresh token lives, 900 to 259200"),
        ),
    ] = None,
) -> None:
    """Change identity settings of the current account; settings not given stay as they are.

    The settings are read first and their version sent with the change (If-Match): if someone
    else changed them in between, nothing is changed and the command fails with exit code 5.
    """
    from ..services import account_settings as svc

    changes: dict[str, str] = {}
    if restrict_create_service_id is not None:
        changes["restrict_create_service_id"] = svc.restriction(
            restrict_create_service_id, "--restrict-create-service-id"
        )
    if restrict_create_platform_apikey is not None:
        changes["restrict_create_platform_apikey"] = svc.restriction(
            restrict_create_platform_apikey, "--restrict-create-platform-apikey"
        )
    if allowed_ip_addresses is not None and unset_allowed_ip_addresses:
        raise UsageError(
            "--allowed-ip-addresses and --unset-allowed-ip-addresses cannot go together"
        )
    if allowed_ip_addresses is not None:
        changes["allowed_ip_addresses"] = svc.ip_addresses(allowed_ip_addresses)
    if unset_allowed_ip_addresses:
        changes["allowed_ip_addresses"] = ""
    if mfa is not None:
        changes["mfa"] = svc.mfa_trait(mfa)
    for value, setting, flag in (
        (session_expiration, "session_expiration_in_seconds", "--session-expiration-in-seconds"),
        (
            session_invalidation,
            "session_invalidation_in_seconds",
            "--session-invalidation-in-seconds",
        ),
        (max_sessions, "max_sessions_per_identity", "--max-sessions-per-identity"),
        (
            access_token_expiration,
            "system_access_token_expiration_in_seconds",
            "--access-token-expiration-in-seconds",
        ),
        (
            refresh_token_expiration,
            "system_refresh_token_expiration_in_seconds",
            "--refresh-token-expiration-in-seconds",
        ),
    ):
        if value is not None:
            changes[setting] = svc.number_setting(value, setting, flag)
    if not changes:
        raise UsageError(
            "nothing to change: give at least one setting",
            hint="see 'iamcli account-settings-update --help'",
        )
    api = settings_api(run)
    run.out.status(f"Updating account settings of account {api.account_id} as {as_whom(run)}...")
    updated = svc.update_settings(api, changes)
    run.out.ok()
    show_settings(run, updated)
