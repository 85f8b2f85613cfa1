"""`account-settings` and `account-settings-update`, run as a user runs them (a separate
process) against the real server over HTTP; what they changed is read back with IBM's own SDK.

The module has its own server: these tests change account-wide settings (token lifetimes, who
may create service IDs) that the other modules' shared server must not see.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from ibm_platform_services import IamIdentityV1
from identity_cli import failure, ok_json, record, runner, sdk_for

from support import Emulator, seeded_emulator


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emulator = seeded_emulator(str(tmp_path_factory.mktemp("settings") / "iam.db"))
    yield emulator
    emulator.server.stop()


@pytest.fixture
def sdk(server: Emulator) -> IamIdentityV1:
    return sdk_for(server, server.a.apikey)


@pytest.fixture
def iam(cli_process, server: Emulator):  # type: ignore[no-untyped-def]
    return runner(cli_process, server)


@pytest.fixture
def restored(sdk: IamIdentityV1, server: Emulator) -> Iterator[None]:
    """Every setting back to NOT_SET afterwards, whatever the test left."""
    yield
    sdk.update_account_settings(
        if_match="*",
        account_id=server.a.account_id,
        restrict_create_service_id="NOT_SET",
        restrict_create_platform_apikey="NOT_SET",
        allowed_ip_addresses="",
        mfa="NONE",
        session_expiration_in_seconds="NOT_SET",
        session_invalidation_in_seconds="NOT_SET",
        max_sessions_per_identity="NOT_SET",
        system_access_token_expiration_in_seconds="NOT_SET",
        system_refresh_token_expiration_in_seconds="NOT_SET",
    )


def test_show_is_the_servers_settings_in_json_and_as_a_record(
    iam, sdk: IamIdentityV1, server: Emulator
) -> None:  # type: ignore[no-untyped-def]
    stored = sdk.get_account_settings(account_id=server.a.account_id).get_result()
    shown = ok_json(iam("account-settings", "--output", "json"))
    assert shown == stored
    text = iam("account-settings")
    fields = record(text)
    assert fields["Account ID"] == server.a.account_id
    assert fields["MFA"] == stored["mfa"]
    assert fields["Session Expiration In Seconds"] == stored["session_expiration_in_seconds"]
    assert fields["Version"] == stored["entity_tag"]
    assert "Getting account settings" in text.stderr and "OK" in text.stderr
    quiet = iam("account-settings", "-q")
    assert quiet.code == 0 and quiet.stderr == ""


def test_update_changes_what_is_given_and_keeps_the_rest(
    iam, sdk: IamIdentityV1, server: Emulator, restored: None
) -> None:  # type: ignore[no-untyped-def]
    account = server.a.account_id
    before = sdk.get_account_settings(account_id=account).get_result()
    r = iam(
        "account-settings-update",
        "--restrict-create-service-id",
        "restricted",
        "--restrict-create-platform-apikey",
        "NOT_RESTRICTED",
        "--allowed-ip-addresses",
        "127.0.0.1, 10.0.0.0/8",
        "--mfa",
        "totp4all",
        "--session-expiration-in-seconds",
        "3600",
        "--session-invalidation-in-seconds",
        "900",
        "--max-sessions-per-identity",
        "5",
        "--access-token-expiration-in-seconds",
        "1800",
        "--refresh-token-expiration-in-seconds",
        "259200",
        "--output",
        "json",
    )
    answered = ok_json(r)
    now = sdk.get_account_settings(account_id=account).get_result()
    assert answered["entity_tag"] == now["entity_tag"] != before["entity_tag"]
    assert {k: now[k] for k in answered if k in now and k != "history"} == {
        k: answered[k] for k in answered if k in now and k != "history"
    }
    assert now["restrict_create_service_id"] == "RESTRICTED"
    assert now["restrict_create_platform_apikey"] == "NOT_RESTRICTED"
    assert now["allowed_ip_addresses"] == "127.0.0.1,10.0.0.0/8"
    assert now["mfa"] == "TOTP4ALL"
    assert now["session_expiration_in_seconds"] == "3600"
    assert now["session_invalidation_in_seconds"] == "900"
    assert now["max_sessions_per_identity"] == "5"
    assert now["system_access_token_expiration_in_seconds"] == "1800"
    assert now["system_refresh_token_expiration_in_seconds"] == "259200"
    # The token lifetime the command set is the one the server now gives (once its few
    # seconds' cache of the setting is dropped, as tests/emulator does).
    server.server.app.state.tokens._lifetimes.clear()
    token = sdk.authenticator.token_manager.request_token()  # type: ignore[attr-defined]
    assert token["expires_in"] == 1800

    # One flag: only that setting moves; NOT_SET resets it; the IP list can be cleared.
    one = iam("account-settings-update", "--session-expiration-in-seconds", "not_set")
    assert record(one)["Session Expiration In Seconds"] == "NOT_SET"
    cleared = iam("account-settings-update", "--unset-allowed-ip-addresses")
    assert cleared.code == 0, cleared.stderr
    after = sdk.get_account_settings(account_id=account).get_result()
    assert after["session_expiration_in_seconds"] == "NOT_SET"
    assert after["allowed_ip_addresses"] == ""
    assert after["mfa"] == "TOTP4ALL" and after["max_sessions_per_identity"] == "5"


def test_restricting_service_id_creation_is_enforced_for_others(
    iam, sdk: IamIdentityV1, server: Emulator, restored: None
) -> None:  # type: ignore[no-untyped-def]
    sid = sdk.create_service_id(account_id=server.a.account_id, name=f"w-{uuid.uuid4().hex[:6]}")
    key = sdk.create_api_key(
        name="w", iam_id=sid.get_result()["iam_id"], account_id=server.a.account_id
    ).get_result()["apikey"]
    # Not restricted (the default): any member may create a service ID.
    first = iam("service-id-create", f"a-{uuid.uuid4().hex[:6]}", apikey=key)
    assert first.code == 0, first.stderr
    r = iam("account-settings-update", "--restrict-create-service-id", "RESTRICTED")
    assert r.code == 0, r.stderr
    refused = iam("service-id-create", f"x-{uuid.uuid4().hex[:6]}", apikey=key)
    assert refused.code == 4, refused.stderr


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--restrict-create-service-id", "SOMETIMES"),
        ("--restrict-create-platform-apikey", ""),
        ("--mfa", "SMS"),
        ("--session-expiration-in-seconds", "899"),
        ("--session-expiration-in-seconds", "86401"),
        ("--session-invalidation-in-seconds", "1h"),
        ("--max-sessions-per-identity", "0"),
        ("--access-token-expiration-in-seconds", "3601"),
        ("--refresh-token-expiration-in-seconds", "-900"),
        ("--refresh-token-expiration-in-seconds", "٩٠٠"),
        ("--allowed-ip-addresses", "10.0.0.300"),
        ("--allowed-ip-addresses", ","),
    ],
)
def test_bad_values_are_one_line_usage_errors(
    iam, sdk: IamIdentityV1, server: Emulator, flag: str, value: str
) -> None:  # type: ignore[no-untyped-def]
    before = sdk.get_account_settings(account_id=server.a.account_id).get_result()
    message = failure(iam("account-settings-update", flag, value), 2)
    assert flag in message
    after = sdk.get_account_settings(account_id=server.a.account_id).get_result()
    assert after["entity_tag"] == before["entity_tag"]


def test_nothing_to_change_and_contradictions_are_usage_errors(iam) -> None:  # type: ignore[no-untyped-def]
    assert "nothing to change" in failure(iam("account-settings-update"), 2)
    both = iam(
        "account-settings-update",
        "--allowed-ip-addresses",
        "127.0.0.1",
        "--unset-allowed-ip-addresses",
    )
    assert "cannot go together" in failure(both, 2)


def test_a_member_without_access_is_refused(iam, sdk: IamIdentityV1, server: Emulator) -> None:  # type: ignore[no-untyped-def]
    sid = sdk.create_service_id(account_id=server.a.account_id, name=f"n-{uuid.uuid4().hex[:6]}")
    key = sdk.create_api_key(
        name="n", iam_id=sid.get_result()["iam_id"], account_id=server.a.account_id
    ).get_result()["apikey"]
    before = sdk.get_account_settings(account_id=server.a.account_id).get_result()
    shown = iam("account-settings", apikey=key)
    assert shown.code == 4 and shown.stdout == "", shown.stderr
    changed = iam("account-settings-update", "--mfa", "NONE_NO_ROPC", apikey=key)
    assert changed.code == 4, changed.stderr
    assert "Traceback" not in changed.stderr
    after = sdk.get_account_settings(account_id=server.a.account_id).get_result()
    assert after["entity_tag"] == before["entity_tag"] and after["mfa"] == before["mfa"]


def test_the_private_family_has_no_account_settings(iam) -> None:  # type: ignore[no-untyped-def]
    for args in (
        ("account-settings",),
        ("account-settings-update", "--mfa", "NONE"),
        ("account-settings-templates",),
        ("account-settings-assignment", "TemplateAssignment-x"),
        ("trusted-profile-templates",),
        ("trusted-profile-assignments",),
    ):
        message = failure(iam(*args, flavor="private"), 2)
        assert "private API family" in message, (args, message)


def test_a_change_made_meanwhile_is_refused_not_overwritten(
    cli,
    monkeypatch: pytest.MonkeyPatch,
    sdk: IamIdentityV1,
    server: Emulator,
    restored: None,  # type: ignore[no-untyped-def]
) -> None:
    """Someone else's change lands between the command's read and its write: the server
    refuses the stale version, the command says so (exit 5) and the other change stays."""
    from iamcli.flavors.cloud_account import AccountSettingsApi

    real = AccountSettingsApi.settings

    def read_then_someone_writes(self: AccountSettingsApi):  # type: ignore[no-untyped-def]
        current = real(self)
        sdk.update_account_settings(
            if_match="*", account_id=server.a.account_id, max_sessions_per_identity="7"
        )
        return current

    monkeypatch.setattr(AccountSettingsApi, "settings", read_then_someone_writes)
    env = {
        "IAMCLI_API_KEY": server.a.apikey,
        "IAMCLI_ENDPOINT": server.url,
        "IAMCLI_FLAVOR": "cloud",
    }
    r = cli("account-settings-update", "--max-sessions-per-identity", "3", env=env)
    assert r.code == 5, r.stderr
    assert "changed by someone else" in r.stderr and r.stdout == ""
    now = sdk.get_account_settings(account_id=server.a.account_id).get_result()
    assert now["max_sessions_per_identity"] == "7"
