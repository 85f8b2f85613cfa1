"""The account-settings template and assignment commands, run as a user runs them (a separate
process) against the real server, in an enterprise (account A) with one child account (B);
what they did is read back with IBM's own SDK."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from identity_cli import failure, ok_json, record, runner, sdk_for

from support import Emulator, seeded_emulator


@pytest.fixture(scope="module")
def enterprise(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emulator = seeded_emulator(str(tmp_path_factory.mktemp("ent") / "iam.db"))
    emulator.store.add_child_account(emulator.a.account_id, emulator.b.account_id)
    yield emulator
    emulator.server.stop()


@pytest.fixture
def iam(cli_process, enterprise: Emulator):  # type: ignore[no-untyped-def]
    return runner(cli_process, enterprise)


def write(tmp_path: Path, body: object, name: str = "template.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(body))
    return str(path)


def test_account_settings_template_life_cycle(iam, enterprise: Emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sdk = sdk_for(enterprise, enterprise.a.apikey)
    child = enterprise.b.account_id
    name = f"settings-{uuid.uuid4().hex[:8]}"
    v1 = write(
        tmp_path,
        {"description": "from the file", "account_settings": {"mfa": "LEVEL1"}},
    )

    made = iam("account-settings-template-create", name, "--file", v1, "--output", "json")
    template = ok_json(made)
    tid = template["id"]
    assert "is created successfully" in made.stderr
    stored = sdk.get_latest_account_settings_template_version(template_id=tid).get_result()
    assert stored["name"] == name and stored["description"] == "from the file"
    assert stored["account_settings"] == {"mfa": "LEVEL1"}
    assert stored["account_id"] == enterprise.a.account_id and stored["version"] == 1

    # By name and by ID, JSON and record; the list is a table.
    by_name = record(iam("account-settings-template", name))
    assert by_name["ID"] == tid and by_name["MFA"] == "LEVEL1" and by_name["Committed"] == "false"
    assert ok_json(iam("account-settings-template", tid, "--output", "json")) == stored | {
        "entity_tag": stored["entity_tag"]
    }
    table = iam("account-settings-templates")
    assert table.code == 0 and table.out_lines[0].split()[:3] == ["ID", "Name", "Version"]
    assert any(line.split()[:3] == [tid, name, "1"] for line in table.out_lines[1:])
    assert tid in [t["id"] for t in ok_json(iam("account-settings-templates", "--output", "json"))]
    assert iam("account-settings-templates", "-q").out_lines.count(tid) == 1

    # An update names only what changes: the settings stay.
    up = iam("account-settings-template-version-update", name, "1", "-d", "changed")
    assert record(up)["Description"] == "changed"
    v = sdk.get_account_settings_template_version(template_id=tid, version="1").get_result()
    assert v["description"] == "changed" and v["account_settings"] == {"mfa": "LEVEL1"}

    # Not committed: not assignable (the server's 400). Committed: it cannot change (409).
    early = iam("account-settings-assignment-create", name, "1", "Account", child)
    assert "committed" in failure(early, 1)
    assert iam("account-settings-template-version-commit", tid, "1").code == 0
    assert sdk.get_account_settings_template_version(template_id=tid, version="1").get_result()[
        "committed"
    ]
    frozen = iam("account-settings-template-version-update", name, "1", "-d", "again")
    failure(frozen, 5)

    # A second version from a file; the name carries over.
    v2_file = write(tmp_path, {"account_settings": {"mfa": "TOTP"}}, "v2.json")
    v2 = ok_json(
        iam("account-settings-template-version-create", name, "--file", v2_file, "--output", "json")
    )
    assert v2["version"] == 2 and v2["name"] == name
    versions = ok_json(iam("account-settings-template-versions", name, "--output", "json"))
    assert [t["version"] for t in versions] == [1, 2]
    shown = record(iam("account-settings-template-version", name, "2"))
    assert shown["Version"] == "2" and shown["MFA"] == "TOTP"

    # Assign version 1 to the child; it settles, and the child's effective MFA follows.
    assigned = iam(
        "account-settings-assignment-create", name, "1", "account", child, "--output", "json"
    )
    a = ok_json(assigned)
    aid = a["id"]
    assert a["template_id"] == tid and a["template_version"] == 1 and a["target"] == child
    got = record(iam("account-settings-assignment", aid))
    assert got["Status"] == "succeeded" and got["Target"] == child
    assert sdk.get_account_settings_assignment(assignment_id=aid).get_result()["status"] == (
        "succeeded"
    )
    child_sdk = sdk_for(enterprise, enterprise.b.apikey)
    effective = child_sdk.get_effective_account_settings(account_id=child).get_result()
    assert effective["effective"]["mfa"] == "LEVEL1"
    listed = iam("account-settings-assignments", "--template", name)
    assert listed.code == 0 and any(line.startswith(aid) for line in listed.out_lines)

    # In use: neither the version nor the template can go (the server's 409).
    failure(iam("account-settings-template-version-delete", name, "1", "-f"), 5)

    # Move it to version 2 (committed first), then remove it.
    assert iam("account-settings-template-version-commit", name, "2").code == 0
    moved = ok_json(iam("account-settings-assignment-update", aid, "2", "--output", "json"))
    assert moved["template_version"] == 2
    assert (
        sdk.get_account_settings_assignment(assignment_id=aid).get_result()["template_version"] == 2
    )
    refused = iam("account-settings-assignment-delete", aid)
    assert "--force" in failure(refused, 2)
    assert iam("account-settings-assignment-delete", aid, "-f").code == 0
    assert iam("account-settings-assignment", aid).code == 3

    # Versions and templates go; afterwards the name is unknown (exit 3).
    assert iam("account-settings-template-version-delete", name, "2", "-f").code == 0
    assert iam("account-settings-template-version", name, "2").code == 3
    assert iam("account-settings-template-delete", name, "-f").code == 0
    assert "not found" in failure(iam("account-settings-template", name), 3)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("account-settings-template-create",), "needs a name"),
        (("account-settings-template-create", " "), "must not be empty"),
        (("account-settings-template-version", "x", "one"), "TEMPLATE_VERSION"),
        (("account-settings-template-version", "x", "0"), "TEMPLATE_VERSION"),
        (("account-settings-assignment-update", "TemplateAssignment-x", "v2"), "TEMPLATE_VERSION"),
        (("account-settings-template-version-update", "x", "1"), "nothing to change"),
    ],
)
def test_bad_arguments_are_usage_errors(iam, args: tuple[str, ...], words: str) -> None:  # type: ignore[no-untyped-def]
    assert words in failure(iam(*args), 2)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "is a JSON object"),
        ('{"account_settings": {"mfa": "TOTP"}, "colour": "red"}', "unknown field 'colour'"),
        ('{"name": "n", "account_settings": "TOTP"}', "is a JSON object"),
    ],
)
def test_bad_template_files_are_usage_errors(iam, tmp_path: Path, content: str, words: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.json"
    path.write_text(content)
    message = failure(iam("account-settings-template-create", "n", "--file", str(path)), 2)
    assert words in message
    assert failure(iam("account-settings-template-create", "n", "--file", str(tmp_path)), 2)


def test_a_bad_target_type_is_a_usage_error(iam, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    name = f"t-{uuid.uuid4().hex[:8]}"
    assert iam("account-settings-template-create", name).code == 0
    bad = iam("account-settings-assignment-create", name, "1", "Galaxy", "x")
    assert "TARGET_TYPE" in failure(bad, 2)
    assert iam("account-settings-template-delete", name, "-f").code == 0


def test_the_child_account_cannot_manage_the_enterprises_templates(
    iam, enterprise: Emulator
) -> None:  # type: ignore[no-untyped-def]
    name = f"t-{uuid.uuid4().hex[:8]}"
    tid = ok_json(iam("account-settings-template-create", name, "--output", "json"))["id"]
    for args in (
        ("account-settings-template", tid),
        ("account-settings-template-version-commit", tid, "1"),
        ("account-settings-template-delete", tid, "-f"),
    ):
        r = iam(*args, apikey=enterprise.b.apikey)
        assert r.code == 4, (args, r.stderr)
    # The child's own list does not show it.
    theirs = ok_json(
        iam("account-settings-templates", "--output", "json", apikey=enterprise.b.apikey)
    )
    assert tid not in [t["id"] for t in theirs]
    assert iam("account-settings-template", tid).code == 0


PROFILE_TEMPLATE = {
    "description": "deployers everywhere",
    "profile": {
        "name": "deployer",
        "description": "made by a template",
        "rules": [
            {
                "name": "ops",
                "type": "Profile-SAML",
                "realm_name": "https://idp.example.com/1",
                "expiration": 43200,
                "conditions": [{"claim": "groups", "operator": "EQUALS", "value": '"ops"'}],
            }
        ],
    },
}


def test_trusted_profile_template_life_cycle(iam, enterprise: Emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sdk = sdk_for(enterprise, enterprise.a.apikey)
    child = enterprise.b.account_id
    child_sdk = sdk_for(enterprise, enterprise.b.apikey)
    name = f"profiles-{uuid.uuid4().hex[:8]}"
    made = iam(
        "trusted-profile-template-create",
        name,
        "--file",
        write(tmp_path, PROFILE_TEMPLATE),
        "--output",
        "json",
    )
    tid = ok_json(made)["id"]
    assert tid.startswith("ProfileTemplate-")
    stored = sdk.get_latest_profile_template_version(template_id=tid).get_result()
    assert stored["name"] == name and stored["profile"]["name"] == "deployer"
    assert stored["profile"]["rules"][0]["realm_name"] == "https://idp.example.com/1"

    shown = record(iam("trusted-profile-template", name))
    assert shown["ID"] == tid and shown["Profile Name"] == "deployer" and shown["Rules"] == "1"
    listed = iam("trusted-profile-templates", "-q")
    assert tid in listed.out_lines

    # An update of the description keeps the profile part as it is.
    assert iam("trusted-profile-template-version-update", tid, "1", "-d", "v1").code == 0
    now = sdk.get_profile_template_version(template_id=tid, version="1").get_result()
    assert now["description"] == "v1" and now["profile"]["rules"] == stored["profile"]["rules"]

    # Assigned with --target-type/--target (ibmcloud's flags for this kind), it makes the
    # profile in the child account.
    assert iam("trusted-profile-template-version-commit", name, "1").code == 0
    a = ok_json(
        iam(
            "trusted-profile-assignment-create",
            name,
            "1",
            "--target-type",
            "Account",
            "--target",
            child,
            "--output",
            "json",
        )
    )
    aid = a["id"]
    settled = sdk.get_trusted_profile_assignment(assignment_id=aid).get_result()
    assert settled["status"] == "succeeded"
    pid = settled["resources"][0]["profile"]["resource_created"]["id"]
    made_profile = child_sdk.get_profile(profile_id=pid).get_result()
    assert made_profile["account_id"] == child and made_profile["name"] == "deployer"
    got = record(iam("trusted-profile-assignment", aid))
    assert got["Status"] == "succeeded" and pid in got["Resource"]
    table = iam("trusted-profile-assignments")
    assert any(line.split()[:2] == [aid, tid] for line in table.out_lines)

    # A second version, then the assignment moves to it; removing it removes the profile.
    v2 = {"profile": {**PROFILE_TEMPLATE["profile"], "description": "v2"}}  # type: ignore[dict-item]
    assert (
        iam(
            "trusted-profile-template-version-create", tid, "--file", write(tmp_path, v2, "2.json")
        ).code
        == 0
    )
    assert iam("trusted-profile-template-version-commit", tid, "2").code == 0
    moved = ok_json(iam("trusted-profile-assignment-update", aid, "2", "--output", "json"))
    assert moved["template_version"] == 2
    assert sdk.get_trusted_profile_assignment(assignment_id=aid).get_result()["status"] == (
        "succeeded"
    )
    assert child_sdk.get_profile(profile_id=pid).get_result()["description"] == "v2"
    assert iam("trusted-profile-assignment-delete", aid, "-f").code == 0
    assert iam("trusted-profile-assignment", aid).code == 3
    assert iam("trusted-profile-template-delete", name, "-f").code == 0
    assert iam("trusted-profile-template", tid).code == 3


def test_a_trusted_profile_assignment_needs_its_target_flags(iam) -> None:  # type: ignore[no-untyped-def]
    r = iam("trusted-profile-assignment-create", "x", "1", "--target", "acct")
    assert r.code == 2 and "--target-type" in r.stderr and "Traceback" not in r.stderr
