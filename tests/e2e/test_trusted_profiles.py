"""Trusted profiles, their claim rules, links and identities from the command line, against
the real server over HTTP; what the commands stored is read back with IBM's own SDK."""

from __future__ import annotations

import json
import uuid

import pytest
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_platform_services import IamIdentityV1

from support import Emulator


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cloud(cli, emulator: Emulator) -> None:  # type: ignore[no-untyped-def]
    r = cli(
        "login", "-a", emulator.url, "--flavor", "cloud", "--apikey", "-", stdin=emulator.a.apikey
    )
    assert r.code == 0, r.stderr


@pytest.fixture
def sdk(emulator: Emulator) -> IamIdentityV1:
    service = IamIdentityV1(authenticator=IAMAuthenticator(emulator.a.apikey, url=emulator.url))
    service.set_service_url(emulator.url)
    return service


def as_json(r) -> object:  # type: ignore[no-untyped-def]
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


def record(r) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert r.code == 0, r.stderr
    return dict(line.split(None, 1) if " " in line else (line, "") for line in r.out_lines)


def test_profile_life_cycle(cli, cloud: None, emulator: Emulator, sdk: IamIdentityV1) -> None:
    name = unique("deployer")
    made = cli("trusted-profile-create", name, "-d", "deploys things", "-e", "ops@example.com")
    assert made.code == 0, made.stderr
    assert f"Trusted profile {name} is created successfully" in made.stderr
    pid = record(made)["ID"]
    assert pid.startswith("Profile-")
    stored = sdk.get_profile(profile_id=pid).get_result()
    assert stored["name"] == name and stored["description"] == "deploys things"
    assert stored["email"] == "ops@example.com" and stored["account_id"] == emulator.a.account_id

    # By name, by ID and by CRN, the same profile.
    assert cli("trusted-profile", name, "--id").stdout == f"{pid}\n"
    shown = as_json(cli("trusted-profile", pid, "--output", "json"))
    assert shown == stored | {"entity_tag": shown["entity_tag"]}  # type: ignore[operator]
    assert cli("trusted-profile", stored["crn"], "--id").stdout == f"{pid}\n"

    # Filters are substrings of name and description; --id prints IDs only.
    other = unique("reader")
    assert cli("trusted-profile-create", other, "-d", "reads").code == 0
    listed = as_json(cli("trusted-profiles", "--output", "json"))
    assert {name, other} <= {p["name"] for p in listed}  # type: ignore[union-attr,index]
    only = cli("trusted-profiles", "-n", name[:-2], "--id")
    assert only.code == 0 and only.out_lines == [pid]
    by_desc = cli("trusted-profiles", "-d", "deploys", "--id")
    assert pid in by_desc.out_lines and all(line != "" for line in by_desc.out_lines)
    table = cli("trusted-profiles", "-n", other)
    assert table.code == 0 and table.out_lines[0].split()[:2] == ["ID", "Name"]
    assert other in table.stdout and name not in table.stdout

    # Update: a new name, the description cleared, the version checked.
    renamed = unique("deployer2")
    up = cli("trusted-profile-update", name, "-n", renamed, "-d", "", "-f")
    assert up.code == 0, up.stderr
    now = sdk.get_profile(profile_id=pid).get_result()
    assert now["name"] == renamed and not now.get("description")
    assert now["email"] == "ops@example.com"
    assert cli("trusted-profile-update", renamed).code == 2  # nothing to change

    # Delete needs -f without a terminal; afterwards the name is unknown (exit 3).
    refused = cli("trusted-profile-delete", renamed)
    assert refused.code == 2 and "--force" in refused.stderr
    assert cli("trusted-profile-delete", renamed, "-f").code == 0
    gone = cli("trusted-profile", renamed)
    assert gone.code == 3 and "not found" in gone.stderr
    assert cli("trusted-profile", pid).code == 3
    assert cli("trusted-profile-delete", other, "-f").code == 0


def test_claim_rules_send_bare_values_as_json_strings(cli, cloud: None, sdk: IamIdentityV1) -> None:
    name = unique("cluster")
    pid = record(cli("trusted-profile-create", name))["ID"]
    made = cli(
        "trusted-profile-rule-create",
        name,
        "--name",
        "pods",
        "--type",
        "Profile-CR",
        "--cr-type",
        "iks_sa",
        "--conditions",
        "claim:namespace,operator:EQUALS,value:default",
        "--conditions",
        "claim:name,operator:IN,value:deployer,builder",
        "--output",
        "json",
    )
    rule = as_json(made)
    rid = rule["id"]  # type: ignore[index]
    stored = sdk.get_claim_rule(profile_id=pid, rule_id=rid).get_result()
    assert stored["type"] == "Profile-CR" and stored["cr_type"] == "IKS_SA"
    assert stored["conditions"] == [
        {"claim": "namespace", "operator": "EQUALS", "value": '"default"'},
        {"claim": "name", "operator": "IN", "value": '["deployer","builder"]'},
    ]

    # The human layout shows the values bare again.
    listed = cli("trusted-profile-rules", name)
    assert listed.code == 0, listed.stderr
    assert "namespace EQUALS default; name IN deployer,builder" in listed.stdout
    assert cli("trusted-profile-rules", name, "--id").out_lines == [rid]

    # An update keeps what is not given and replaces the conditions given.
    up = cli(
        "trusted-profile-rule-update",
        name,
        "pods",
        "--conditions",
        "claim:namespace,operator:EQUALS,value:prod",
        "-f",
    )
    assert up.code == 0, up.stderr
    now = sdk.get_claim_rule(profile_id=pid, rule_id=rid).get_result()
    assert now["name"] == "pods" and now["cr_type"] == "IKS_SA"
    assert now["conditions"] == [{"claim": "namespace", "operator": "EQUALS", "value": '"prod"'}]
    renamed = cli("trusted-profile-rule-update", name, rid, "--name", "workers", "-f")
    assert renamed.code == 0, renamed.stderr
    assert (
        sdk.get_claim_rule(profile_id=pid, rule_id=rid).get_result()["conditions"]
        == now["conditions"]
    )

    saml = cli(
        "trusted-profile-rule-create",
        pid,
        "--type",
        "Profile-SAML",
        "--realm-name",
        "https://idp.example.org/entity",
        "--expiration",
        "43200",
        "--conditions",
        "claim:groups,operator:CONTAINS,value:admins",
        "--output",
        "json",
    )
    assert as_json(saml)["realm_name"] == "https://idp.example.org/entity"  # type: ignore[index]

    assert cli("trusted-profile-rule-delete", name, "workers", "-f").code == 0
    remaining = sdk.list_claim_rules(profile_id=pid).get_result()["rules"]
    assert [r["type"] for r in remaining] == ["Profile-SAML"]
    assert cli("trusted-profile-rule-delete", name, "workers", "-f").code == 3
    assert cli("trusted-profile-delete", pid, "-f").code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--type", "Profile-CR", "--cr-type", "VSI"], "at least one --conditions"),
        (["--type", "Profile-XX", "--conditions", "claim:a,operator:EQUALS,value:b"], "--type"),
        (["--type", "Profile-CR", "--conditions", "claim:a,operator:EQUALS,value:b"], "--cr-type"),
        (
            ["--type", "Profile-CR", "--cr-type", "VSI", "--conditions", "claim:a,value:b"],
            "no operator",
        ),
        (
            [
                "--type",
                "Profile-CR",
                "--cr-type",
                "VSI",
                "--conditions",
                "claim:a,operator:LIKE,value:b",
            ],
            "LIKE",
        ),
        (
            [
                "--type",
                "Profile-CR",
                "--cr-type",
                "K8S",
                "--conditions",
                "claim:a,operator:EQUALS,value:b",
            ],
            "--cr-type",
        ),
        (
            ["--type", "Profile-SAML", "--conditions", "claim:a,operator:EQUALS,value:b"],
            "--realm-name",
        ),
        (
            [
                "--type",
                "Profile-CR",
                "--cr-type",
                "VSI",
                "--expiration",
                "60",
                "--conditions",
                "claim:a,operator:EQUALS,value:b",
            ],
            "Profile-SAML rules only",
        ),
    ],
)
def test_bad_rules_are_usage_errors_before_any_request(
    cli, cloud: None, args: list[str], message: str
) -> None:
    r = cli("trusted-profile-rule-create", "no-such-profile", *args)
    assert r.code == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert "not found" not in r.stderr  # refused before the profile was looked up


def test_links(cli, cloud: None, emulator: Emulator, sdk: IamIdentityV1) -> None:
    name = unique("linked")
    pid = record(cli("trusted-profile-create", name))["ID"]
    crn = (
        f"crn:v1:bluemix:public:containers-kubernetes:us-south:a/{emulator.a.account_id}"
        "::cluster:c0pigdctkkc07fs7pm06"
    )
    missing = cli("trusted-profile-link-create", name, "--cr-type", "IKS_SA", "--link-crn", crn)
    assert missing.code == 2 and "--link-namespace" in missing.stderr
    made = cli(
        "trusted-profile-link-create",
        name,
        "--name",
        "deployer-sa",
        "--cr-type",
        "IKS_SA",
        "--link-crn",
        crn,
        "--link-namespace",
        "default",
        "--link-name",
        "deployer",
        "--output",
        "json",
    )
    link = as_json(made)
    lid = link["id"]  # type: ignore[index]
    stored = sdk.get_link(profile_id=pid, link_id=lid).get_result()
    assert stored["cr_type"] == "IKS_SA"
    assert stored["link"] == {"crn": crn, "namespace": "default", "name": "deployer"}
    listed = cli("trusted-profile-links", name)
    assert listed.code == 0 and "deployer-sa" in listed.stdout and crn in listed.stdout
    assert cli("trusted-profile-links", pid, "--id").out_lines == [lid]
    assert cli("trusted-profile-link-delete", name, "deployer-sa", "-f").code == 0
    assert sdk.list_links(profile_id=pid).get_result()["links"] == []
    assert cli("trusted-profile-delete", pid, "-f").code == 0


def test_identities(cli, cloud: None, emulator: Emulator, sdk: IamIdentityV1) -> None:
    name = unique("assumable")
    pid = record(cli("trusted-profile-create", name))["ID"]
    bot = unique("bot")
    sid = record(cli("service-id-create", bot))["ID"]
    # A service ID may be named by its name; the API gets its ID.
    added = cli(
        "trusted-profile-identity-create",
        name,
        "--id",
        bot,
        "--id-type",
        "SERVICEID",
        "--description",
        "the CI robot",
    )
    assert added.code == 0, added.stderr
    stored = sdk.get_profile_identities(profile_id=pid).get_result()["identities"]
    assert [(i["type"], i["identifier"]) for i in stored] == [("serviceid", sid)]
    one = as_json(
        cli(
            "trusted-profile-identity",
            name,
            "--id",
            sid,
            "--id-type",
            "serviceid",
            "--output",
            "json",
        )
    )
    assert one["identifier"] == sid and one["description"] == "the CI robot"  # type: ignore[index]
    table = cli("trusted-profile-identities", name)
    assert table.code == 0 and "SERVICEID" in table.stdout and sid in table.stdout
    wrong = cli("trusted-profile-identity-create", name, "--id", "x", "--id-type", "GROUP")
    assert wrong.code == 2 and "USER, SERVICEID or CRN" in wrong.stderr
    accounts = cli(
        "trusted-profile-identity-create",
        name,
        "--id",
        sid,
        "--id-type",
        "serviceid",
        "--accounts",
        "a1",
    )
    assert accounts.code == 2 and "USER identities only" in accounts.stderr
    assert (
        cli(
            "trusted-profile-identity-delete", name, "--id", sid, "--id-type", "SERVICEID", "-f"
        ).code
        == 0
    )
    assert sdk.get_profile_identities(profile_id=pid).get_result().get("identities", []) == []
    assert cli("trusted-profile-delete", pid, "-f").code == 0


TRUSTED_COMMANDS = [
    ["trusted-profile-create", "p"],
    ["trusted-profiles"],
    ["trusted-profile", "p"],
    ["trusted-profile-update", "p", "-n", "q", "-f"],
    ["trusted-profile-delete", "p", "-f"],
    [
        "trusted-profile-rule-create",
        "p",
        "--type",
        "Profile-CR",
        "--cr-type",
        "VSI",
        "--conditions",
        "claim:a,operator:EQUALS,value:b",
    ],
    ["trusted-profile-rule-update", "p", "r", "--name", "n", "-f"],
    ["trusted-profile-rule-delete", "p", "r", "-f"],
    ["trusted-profile-rules", "p"],
    ["trusted-profile-link-create", "p", "--cr-type", "VSI", "--link-crn", "crn:v1:x"],
    ["trusted-profile-link-delete", "p", "l", "-f"],
    ["trusted-profile-links", "p"],
    ["trusted-profile-identity-create", "p", "--id", "x", "--id-type", "USER"],
    ["trusted-profile-identity", "p", "--id", "x", "--id-type", "USER"],
    ["trusted-profile-identity-delete", "p", "--id", "x", "--id-type", "USER", "-f"],
    ["trusted-profile-identities", "p"],
    ["trusted-profile-assume", "p"],
]


def test_the_private_family_has_no_trusted_profiles(cli, emulator: Emulator) -> None:
    r = cli(
        "login", "-a", emulator.url, "--flavor", "private", "--apikey", "-", stdin=emulator.a.apikey
    )
    assert r.code == 0, r.stderr
    for args in TRUSTED_COMMANDS:
        r = cli(*args)
        assert r.code == 2, (args, r.stderr)
        lines = [line for line in r.stderr.splitlines() if line != "FAILED"]
        assert len(lines) == 1 and "private API family" in lines[0], (args, r.stderr)
        assert r.stdout == ""
    crt = cli(
        "login",
        "-a",
        emulator.url,
        "--flavor",
        "private",
        "--cr-token",
        "x.y.z",
        "--trusted-profile",
        "p",
    )
    assert crt.code == 2 and "private API family" in crt.stderr, crt.stderr
    vpc = cli(
        "login",
        "-a",
        emulator.url,
        "--flavor",
        "private",
        "--vpc-cri",
        env={"IBMCLOUD_CR_VPC_URL": emulator.url},
    )
    assert vpc.code == 2 and "private API family" in vpc.stderr, vpc.stderr


def test_policies_of_a_trusted_profile(cli, cloud: None, emulator: Emulator) -> None:
    from ibm_platform_services import IamPolicyManagementV1

    name = unique("with-access")
    profile = as_json(cli("trusted-profile-create", name, "--output", "json"))
    iam_id = profile["iam_id"]  # type: ignore[index]
    made = cli(
        "trusted-profile-policy-create",
        name,
        "--roles",
        "Viewer",
        "--service-name",
        "iam-identity",
        "--output",
        "json",
    )
    policy = as_json(made)
    pid = policy["id"]  # type: ignore[index]
    policies = IamPolicyManagementV1(
        authenticator=IAMAuthenticator(emulator.a.apikey, url=emulator.url)
    )
    policies.set_service_url(emulator.url)
    stored = policies.list_policies(account_id=emulator.a.account_id, iam_id=iam_id).get_result()
    assert [p["id"] for p in stored["policies"]] == [pid]
    assert stored["policies"][0]["subjects"][0]["attributes"] == [
        {"name": "iam_id", "value": iam_id}
    ]

    listed = as_json(cli("trusted-profile-policies", name, "--output", "json"))
    assert [p["id"] for p in listed] == [pid]  # type: ignore[union-attr,index]
    assert cli("trusted-profile-policy", name, pid).code == 0
    up = cli("trusted-profile-policy-update", name, pid, "--roles", "Editor", "-f")
    assert up.code == 0, up.stderr
    again = policies.get_policy(policy_id=pid).get_result()
    assert [r["role_id"] for r in again["roles"]] == ["crn:v1:bluemix:public:iam::::role:Editor"]
    # Another subject's policy is not this profile's, whatever its ID.
    other = unique("other")
    assert cli("trusted-profile-create", other).code == 0
    assert cli("trusted-profile-policy", other, pid).code == 3
    assert cli("trusted-profile-policy-delete", name, pid, "-f").code == 0
    assert (
        policies.list_policies(account_id=emulator.a.account_id, iam_id=iam_id).get_result()[
            "policies"
        ]
        == []
    )
    for p in (name, other):
        assert cli("trusted-profile-delete", p, "-f").code == 0
