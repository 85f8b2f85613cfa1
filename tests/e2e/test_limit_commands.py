"""`identity-limits` and the `*-usage` commands, run as a user runs them (a separate process)
against the real server; the counts are checked against what IBM's SDK reads."""

from __future__ import annotations

import uuid

import pytest
from ibm_platform_services import IamIdentityV1
from identity_cli import ok_json, runner, sdk_for, table

from support import Emulator


@pytest.fixture
def sdk(emulator: Emulator) -> IamIdentityV1:
    return sdk_for(emulator, emulator.a.apikey)


@pytest.fixture
def iam(cli_process, emulator: Emulator):  # type: ignore[no-untyped-def]
    return runner(cli_process, emulator)


def test_identity_limits_are_the_servers(iam, sdk: IamIdentityV1, emulator: Emulator) -> None:  # type: ignore[no-untyped-def]
    stored = sdk.get_account_limits(account_id=emulator.a.account_id).get_result()
    assert ok_json(iam("identity-limits", "--output", "json")) == stored
    rows = table(iam("identity-limits"))
    assert rows[0] == ["Entity", "Limit"]
    assert ["Trusted profiles", str(stored["profiles"]["limit"])] in rows
    assert ["API keys per identity", str(stored["apikeys_per_identity"]["limit"])] in rows


def test_usage_counts_what_the_account_has(iam, sdk: IamIdentityV1, emulator: Emulator) -> None:  # type: ignore[no-untyped-def]
    account = emulator.a.account_id
    group = sdk.create_service_id_group(
        account_id=account, name=f"g-{uuid.uuid4().hex[:8]}"
    ).get_result()
    sid = sdk.create_service_id(account_id=account, name=f"s-{uuid.uuid4().hex[:8]}").get_result()
    for n in range(2):
        sdk.create_api_key(name=f"k{n}", iam_id=sid["iam_id"], account_id=account)

    everything = sdk.get_account_limits(
        account_id=account, serviceid_groups=True, profiles=True
    ).get_result()
    groups = table(iam("service-id-groups-usage"))
    assert groups[0] == ["Entity", "ID", "Used", "Limit"]
    assert groups[1:] == [
        [
            "Service ID groups",
            "-",
            str(everything["serviceid_groups"]["count"]),
            str(everything["serviceid_groups"]["limit"]),
        ]
    ]
    keys = table(iam("api-keys-usage", "--ids", f"{sid['iam_id']}, {sid['iam_id']}"))
    # The repeated ID is asked for once; the identity has the two keys made above.
    limit = str(everything["apikeys_per_identity"]["limit"])
    assert keys[1:] == [["API keys per identity", sid["iam_id"], "2", limit]]
    per_group = ok_json(iam("service-id-groups-usage", "--ids", group["id"], "--output", "json"))
    assert per_group["serviceids_per_group"]["serviceid_groups"][0]["group_id"] == group["id"]
    profiles = table(iam("trusted-profiles-usage"))
    assert profiles[1][:3] == ["Trusted profiles", "-", str(everything["profiles"]["count"])]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("api-keys-usage",), "--ids is required"),
        (("access-groups-usage",), "--ids is required"),
        (("api-keys-usage", "--ids", " , "), "at least one ID"),
        (("templates-usage", "--ids", ",".join(f"T{n}" for n in range(101))), "at most 100"),
    ],
)
def test_bad_ids_are_usage_errors(iam, args: tuple[str, ...], words: str) -> None:  # type: ignore[no-untyped-def]
    r = iam(*args)
    assert r.code == 2 and "Traceback" not in r.stderr, r.stderr
    assert words in r.stderr


def test_limits_on_the_private_family_are_a_usage_error(iam) -> None:  # type: ignore[no-untyped-def]
    for args in (("identity-limits",), ("cr-rules-usage",)):
        r = iam(*args, flavor="private")
        assert r.code == 2 and "private API family" in r.stderr, r.stderr
