"""Access policies of service IDs from the command line, on both API families, against the
real emulator over HTTP: the seed's recipe with its policy step, refusals, and the shapes
`--output json` hands to scripts."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from test_tokens import log_in as login

from support import Emulator

FLAVORS = ["cloud", "private"]
# A service each family's role list knows, and the record line the text layout gives it.
SERVICE = {"cloud": "iam-identity", "private": "idmgmt"}
WHO = {"cloud": "Alice Administrator", "private": "alice"}


@pytest.fixture(params=FLAVORS)
def family(request: pytest.FixtureRequest, cli, emulator: Emulator) -> str:  # type: ignore[no-untyped-def]
    login(cli, emulator, str(request.param))
    return str(request.param)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_sid(cli, *extra: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    r = cli("service-id-create", unique("bot"), *extra, "--output", "json")
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def record(stdout: str) -> dict[str, str]:
    """`Label:   value` lines of a policy record (the Resources block keyed by its labels)."""
    out: dict[str, str] = {}
    for line in stdout.splitlines():
        label, _, value = line.strip().partition("   ")
        out[label.strip()] = value.strip()
    return out


def role_ids(policy: dict[str, object], flavor: str) -> list[str]:
    if flavor == "private":
        return [r["id"] for r in policy["roles"]]  # type: ignore[index, attr-defined]
    if "control" in policy:
        return [r["role_id"] for r in policy["control"]["grant"]["roles"]]  # type: ignore[index]
    return [r["role_id"] for r in policy["roles"]]  # type: ignore[index, attr-defined]


def test_life_cycle_by_name_and_id(cli, family: str) -> None:
    sid = new_sid(cli)
    name, sid_id = str(sid["name"]), str(sid["id"])
    made = cli(
        "service-policy-create", name, "--roles", "Viewer", "--service-name", SERVICE[family]
    )
    assert made.code == 0, made.stderr
    assert made.stderr.splitlines()[:3] == [
        f"Creating policy under current account for service ID {name} as {WHO[family]}...",
        "OK",
        "Service policy is successfully created",
    ]
    shown = record(made.stdout)
    pid = shown["Policy ID:"]
    assert shown["Roles:"] == "Viewer"
    assert "Resources:" in shown and shown["Service Name"] == SERVICE[family]
    assert "accountId" not in made.stdout

    listed = cli("service-policies", sid_id, "--output", "json")
    assert listed.code == 0, listed.stderr
    policies = json.loads(listed.stdout)
    assert [p["id"] for p in policies] == [pid]
    assert role_ids(policies[0], family)[0].endswith(":role:Viewer")

    one = cli("service-policy", name, pid)
    assert one.code == 0 and record(one.stdout)["Policy ID:"] == pid

    upd = cli(
        "service-policy-update",
        sid_id,
        pid,
        "--roles",
        "Viewer,Operator",
        "--service-name",
        SERVICE[family],
        "-f",
    )
    assert upd.code == 0, upd.stderr
    assert "Warning" not in upd.stderr
    assert record(upd.stdout)["Roles:"] == "Viewer, Operator"
    assert record(upd.stdout)["Service Name"] == SERVICE[family]
    # As ibmcloud documents it: without resource flags the policy covers the whole account,
    # and the roles are kept without --roles; the change of resource is warned about.
    wide = cli("service-policy-update", name, pid, "--region", "us-south", "-f")
    if family == "private":  # every ICP policy names its service: refused before sending
        assert wide.code == 2, wide.stderr
        assert wide.stderr == "FAILED\n--service-name is required on the private API family\n"
        assert record(cli("service-policy", name, pid).stdout)["Service Name"] == "idmgmt"
    else:
        assert wide.code == 0, wide.stderr
        assert (
            "the policy's resource becomes serviceType=service, region=us-south "
            "(was serviceName=iam-identity)" in wide.stderr
        )
        shown = record(wide.stdout)
        assert shown["Roles:"] == "Viewer, Operator"
        assert shown["Region"] == "us-south" and "Service Name" not in shown

    gone = cli("service-policy-delete", name, pid, "-f")
    assert gone.code == 0, gone.stderr
    assert f"Service policy {pid} is deleted successfully" in gone.stderr
    assert cli("service-policy", name, pid).code == 3
    empty = cli("service-policies", name, "--output", "json")
    assert empty.code == 0 and json.loads(empty.stdout) == []


def test_unknown_role_lists_the_valid_ones(cli, family: str) -> None:
    name = str(new_sid(cli)["name"])
    r = cli(
        "service-policy-create",
        name,
        "--roles",
        "Viewer,Overlord",
        "--service-name",
        SERVICE[family],
    )
    assert r.code == 2
    message = r.stderr.splitlines()[1]
    assert message.startswith("RoleDoesnotExist: Overlord was not found. Valid roles are ")
    assert "Viewer" in message.split("Valid roles are ", 1)[1].split(", ")
    # Nothing was created.
    assert json.loads(cli("service-policies", name, "--output", "json").stdout) == []


def test_cloud_v1_wire_shape(cli, emulator: Emulator) -> None:
    login(cli, emulator, "cloud")
    sid = new_sid(cli)
    r = cli(
        "service-policy-create",
        str(sid["id"]),
        "-r",
        "Operator",
        "--service-name",
        "iam-identity",
        "--resource-type",
        "serviceid",
        "--resource",
        str(sid["id"]),
        "--output",
        "json",
    )
    assert r.code == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["type"] == "access"
    assert body["subjects"] == [{"attributes": [{"name": "iam_id", "value": sid["iam_id"]}]}]
    attrs = {a["name"]: a["value"] for a in body["resources"][0]["attributes"]}
    assert attrs == {
        "serviceName": "iam-identity",
        "resourceType": "serviceid",
        "resource": sid["id"],
        "accountId": emulator.a.account_id,
    }
    assert body["roles"][0]["role_id"] == "crn:v1:bluemix:public:iam::::role:Operator"


def test_cloud_v2_with_conditions(cli, emulator: Emulator, tmp_path: Path) -> None:
    login(cli, emulator, "cloud")
    sid = new_sid(cli)
    name = str(sid["name"])
    plain = cli(
        "service-policy-create",
        name,
        "-r",
        "Viewer",
        "--service-name",
        "iam-identity",
        "--api-version",
        "v2",
        "--output",
        "json",
    )
    assert plain.code == 0, plain.stderr
    v2 = json.loads(plain.stdout)
    assert v2["control"]["grant"]["roles"][0]["role_id"].endswith(":role:Viewer")
    assert v2["subject"]["attributes"][0] == {
        "key": "iam_id",
        "operator": "stringEquals",
        "value": sid["iam_id"],
    }

    document = {
        "type": "access",
        "control": {"grant": {"roles": [{"role_id": "crn:v1:bluemix:public:iam::::role:Editor"}]}},
        # A file naming someone else: the policy is still for the service ID named.
        "subject": {
            "attributes": [
                {"key": "iam_id", "operator": "stringEquals", "value": "IBMid-0000000000"}
            ]
        },
        "resource": {
            "attributes": [
                {"key": "serviceName", "operator": "stringEquals", "value": "iam-identity"}
            ]
        },
        "pattern": "time-based-conditions:once",
        "rule": {
            "operator": "and",
            "conditions": [
                {
                    "key": "{{environment.attributes.current_date_time}}",
                    "operator": "dateTimeGreaterThanOrEquals",
                    "value": "2020-01-01T00:00:00+00:00",
                },
                {
                    "key": "{{environment.attributes.current_date_time}}",
                    "operator": "dateTimeLessThanOrEquals",
                    "value": "2099-01-01T00:00:00+00:00",
                },
            ],
        },
    }
    doc = tmp_path / "policy.json"
    doc.write_text(json.dumps(document))
    timed = cli("service-policy-create", name, "--file", f"@{doc}")
    assert timed.code == 0, timed.stderr
    assert "the file names IBMid-0000000000 as its subject" in timed.stderr
    shown = record(timed.stdout)
    assert shown["Roles:"] == "Editor" and shown["Conditions:"] == "time-based-conditions:once"
    pid = shown["Policy ID:"]
    got = json.loads(cli("service-policy", name, pid, "--output", "json").stdout)
    assert got["subject"]["attributes"][0]["value"] == sid["iam_id"]
    assert got["rule"] == document["rule"]
    attrs = {a["key"]: a["value"] for a in got["resource"]["attributes"]}
    assert attrs["accountId"] == emulator.a.account_id

    # Without --api-version the list shows v2 policies as themselves.
    listed = json.loads(cli("service-policies", name, "--output", "json").stdout)
    assert sorted(p["id"] for p in listed) == sorted([v2["id"], pid])
    assert all("control" in p for p in listed)
    # An update by flags keeps the conditions.
    upd = cli(
        "service-policy-update",
        name,
        pid,
        "--roles",
        "Viewer",
        "--service-name",
        "iam-identity",
        "-f",
        "--output",
        "json",
    )
    assert upd.code == 0, upd.stderr
    after = json.loads(upd.stdout)
    assert after["rule"] == document["rule"] and after["pattern"] == document["pattern"]
    assert role_ids(after, "cloud") == ["crn:v1:bluemix:public:iam::::role:Viewer"]


def test_locked_service_id_is_refused_with_the_unlock_hint(cli, emulator: Emulator) -> None:
    login(cli, emulator, "cloud")
    sid = new_sid(cli)
    name = str(sid["name"])
    made = cli("service-policy-create", name, "-r", "Viewer", "-q")
    assert made.code == 0, made.stderr
    pid = made.stdout.strip()
    assert cli("service-id-lock", name, "-f").code == 0
    for args in (
        ("service-policy-create", name, "-r", "Viewer"),
        ("service-policy-update", name, pid, "-r", "Operator", "-f"),
        ("service-policy-delete", name, pid, "-f"),
    ):
        r = cli(*args)
        assert r.code == 5, (args, r.stderr)
        assert f"service ID {name} is locked" in r.stderr
        assert f"unlock it first: iamcli service-id-unlock {sid['id']}" in r.stderr
    still = json.loads(cli("service-policies", name, "--output", "json").stdout)
    assert [p["id"] for p in still] == [pid]
    assert role_ids(still[0], "cloud")[0].endswith(":role:Viewer")
    assert cli("service-id-unlock", name, "-f").code == 0
    assert cli("service-policy-delete", name, pid, "-f").code == 0


def test_a_policy_of_another_service_id_is_not_found(cli, family: str) -> None:
    a, b = str(new_sid(cli)["name"]), str(new_sid(cli)["name"])
    pid = cli(
        "service-policy-create", a, "-r", "Viewer", "--service-name", SERVICE[family], "-q"
    ).stdout.strip()
    assert pid
    for args in (("service-policy", b, pid), ("service-policy-delete", b, pid, "-f")):
        r = cli(*args)
        assert r.code == 3, r.stderr
    assert [p["id"] for p in json.loads(cli("service-policies", a, "--output", "json").stdout)] == [
        pid
    ]


def test_roles(cli, family: str) -> None:
    r = cli("roles", "--output", "json")
    assert r.code == 0, r.stderr
    # Each family's own role objects; ICP's name key is unconfirmed (name or displayName).
    names = {
        next(role[k] for k in ("display_name", "displayName", "name") if k in role)
        for role in json.loads(r.stdout)
    }
    assert {"Viewer", "Operator", "Administrator"} <= names
    text = cli("roles", "--service", SERVICE[family])
    assert text.code == 0, text.stderr
    assert text.out_lines[0].split() == ["Name", "CRN", "Description"]
    assert any(line.startswith("Viewer ") for line in text.out_lines)


def test_cloud_identity_roles_have_spaces(cli, emulator: Emulator) -> None:
    login(cli, emulator, "cloud")
    name = str(new_sid(cli)["name"])
    r = cli(
        "service-policy-create",
        name,
        "-r",
        "Service ID creator",
        "--service-name",
        "iam-identity",
        "--output",
        "json",
    )
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["roles"][0]["role_id"].endswith(
        "iam-identity::::serviceRole:ServiceIdCreator"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-r", "Viewer", "--attributes", "region"), "--attributes: 'region' is not name=value"),
        (("-r", "Viewer", "--api-version", "v3"), "--api-version must be v1 or v2"),
        ((), "give --roles R1,R2"),
        (("-r", " , "), "--roles needs at least one role name"),
        (("-r", "Viewer", "--file", "@x.json"), "--file is exclusive"),
        (("--file", "@/nonexistent/policy.json"), "--file /nonexistent/policy.json"),
        (
            ("-r", "Viewer", "--account-management", "--service-name", "x"),
            "mutually exclusive|not available on the private API family",
        ),
    ],
)
def test_bad_input_is_a_usage_error(cli, family: str, args: tuple[str, ...], message: str) -> None:
    name = str(new_sid(cli)["name"])
    r = cli("service-policy-create", name, *args)
    assert r.code == 2, r.stderr
    assert any(m in r.stderr for m in message.split("|")), r.stderr
    assert "Traceback" not in r.stderr


def test_bad_file_is_a_usage_error(cli, family: str, tmp_path: Path) -> None:
    name = str(new_sid(cli)["name"])
    bad = tmp_path / "bad.json"
    for content, message in (
        ("{", "not valid JSON"),
        ("[1]", "a policy is a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ):
        bad.write_text(content)
        r = cli("service-policy-create", name, "--file", f"@{bad}")
        assert r.code == 2 and message in r.stderr, r.stderr


def test_private_has_one_api_version(cli, emulator: Emulator) -> None:
    login(cli, emulator, "private")
    name = str(new_sid(cli)["name"])
    for args in (("--api-version", "v2"), ("--account-management",)):
        r = cli("service-policy-create", name, "-r", "Viewer", *args)
        assert r.code == 2 and "not available on the private API family" in r.stderr, r.stderr


def test_the_seeds_recipe_the_policy_step_grants_access(
    cli, emulator: Emulator, family: str, tmp_path: Path
) -> None:
    """Log in, create a service ID, assign it a policy, create its key, get its token: the
    service ID may read other service IDs only once the policy exists, and no more than its
    role allows."""
    bot, other = new_sid(cli), new_sid(cli)
    key = tmp_path / "bot.json"
    made = cli("service-api-key-create", "deploy", str(bot["name"]), "--file", str(key))
    assert made.code == 0, made.stderr
    as_bot = cli(
        "login", "-a", emulator.url, "--flavor", family, "--apikey", f"@{key}", "--profile", "bot"
    )
    assert as_bot.code == 0, as_bot.stderr
    assert cli("oauth-tokens", "--profile", "bot").out_lines[0].startswith("IAM token:  Bearer ")

    before = cli("service-id", str(other["id"]), "--profile", "bot")
    assert before.code == 4, before.stderr  # 403: no policy yet

    grant = cli(
        "service-policy-create",
        str(bot["name"]),
        "--roles",
        "Viewer",
        "--service-name",
        SERVICE[family],
    )
    assert grant.code == 0, grant.stderr
    after = cli("service-id", str(other["id"]), "--profile", "bot", "--output", "json")
    assert after.code == 0, after.stderr
    assert json.loads(after.stdout)["id"] == other["id"]
    # Viewer reads, and does not change.
    change = cli("service-id-update", str(other["id"]), "-d", "x", "-f", "--profile", "bot")
    assert change.code == 4, change.stderr
    unchanged = json.loads(cli("service-id", str(other["id"]), "--output", "json").stdout)
    assert unchanged.get("description") != "x"
    # The bot cannot grant itself more: policy changes need Administrator on the target.
    escalate = cli(
        "service-policy-create",
        str(bot["id"]),
        "-r",
        "Administrator",
        "--service-name",
        SERVICE[family],
        "--profile",
        "bot",
    )
    assert escalate.code == 4, escalate.stderr


def test_ibms_sdk_and_the_cli_see_the_same_policies(cli, emulator: Emulator) -> None:
    """A policy made by the CLI is a proper v1 policy to IBM's own SDK, and one made by the
    SDK (v2) is listed, shown and deleted by the CLI."""
    from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
    from ibm_platform_services import IamPolicyManagementV1
    from ibm_platform_services.iam_policy_management_v1 import (
        Control,
        Grant,
        Roles,
        V2PolicyResource,
        V2PolicyResourceAttribute,
        V2PolicySubject,
        V2PolicySubjectAttribute,
    )

    login(cli, emulator, "cloud")
    sid = new_sid(cli)
    sdk = IamPolicyManagementV1(authenticator=IAMAuthenticator(emulator.a.apikey, url=emulator.url))
    sdk.set_service_url(emulator.url)

    pid = cli("service-policy-create", str(sid["name"]), "-r", "Editor", "-q").stdout.strip()
    got = sdk.get_policy(policy_id=pid).get_result()
    assert got["subjects"][0]["attributes"][0]["value"] == sid["iam_id"]
    assert got["roles"][0]["role_id"] == "crn:v1:bluemix:public:iam::::role:Editor"
    assert {a["name"]: a["value"] for a in got["resources"][0]["attributes"]} == {
        "serviceType": "service",
        "accountId": emulator.a.account_id,
    }

    made = sdk.create_v2_policy(
        type="access",
        control=Control(
            grant=Grant(roles=[Roles(role_id="crn:v1:bluemix:public:iam::::role:Viewer")])
        ),
        subject=V2PolicySubject(
            attributes=[
                V2PolicySubjectAttribute(key="iam_id", operator="stringEquals", value=sid["iam_id"])
            ]
        ),
        resource=V2PolicyResource(
            attributes=[
                V2PolicyResourceAttribute(
                    key="accountId", operator="stringEquals", value=emulator.a.account_id
                ),
                V2PolicyResourceAttribute(
                    key="serviceName", operator="stringEquals", value="iam-identity"
                ),
            ]
        ),
    ).get_result()
    listed = json.loads(cli("service-policies", str(sid["id"]), "--output", "json").stdout)
    assert sorted(p["id"] for p in listed) == sorted([pid, made["id"]])
    shown = cli("service-policy", str(sid["name"]), made["id"])
    assert shown.code == 0, shown.stderr
    assert record(shown.stdout)["Roles:"] == "Viewer"
    assert cli("service-policy-delete", str(sid["name"]), made["id"], "-f").code == 0
    assert sdk.get_v2_policy(id=made["id"]).get_result()["state"] == "deleted"


def test_a_policy_id_stays_a_path_segment(cli, family: str) -> None:
    name = str(new_sid(cli)["name"])
    pid = cli(
        "service-policy-create", name, "-r", "Viewer", "--service-name", SERVICE[family], "-q"
    ).stdout.strip()
    traversal = cli("service-policy", name, "../x")
    assert traversal.code == 2 and "is not a policy ID" in traversal.stderr
    for odd in (f"{pid}?account_id=x", f"{pid}#", f"{pid}%2F"):
        r = cli("service-policy", name, odd)
        assert r.code == 3, (odd, r.stderr)


def test_a_custom_role_is_granted_by_its_display_name(cli, emulator: Emulator) -> None:
    from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
    from ibm_platform_services import IamPolicyManagementV1

    login(cli, emulator, "cloud")
    sdk = IamPolicyManagementV1(authenticator=IAMAuthenticator(emulator.a.apikey, url=emulator.url))
    sdk.set_service_url(emulator.url)
    suffix = uuid.uuid4().hex[:6]
    role = sdk.create_role(
        display_name=f"Key reader {suffix}",
        actions=["iam-identity.apikey.get", "iam-identity.apikey.list"],
        name=f"KeyReader{suffix}",
        account_id=emulator.a.account_id,
        service_name="iam-identity",
    ).get_result()
    listed = cli("roles", "--service", "iam-identity", "--output", "json")
    assert role["crn"] in [r["crn"] for r in json.loads(listed.stdout)]
    name = str(new_sid(cli)["name"])
    r = cli(
        "service-policy-create",
        name,
        "-r",
        f"Key reader {suffix},Viewer",
        "--service-name",
        "iam-identity",
        "--output",
        "json",
    )
    assert r.code == 0, r.stderr
    assert [x["role_id"] for x in json.loads(r.stdout)["roles"]] == [
        role["crn"],
        "crn:v1:bluemix:public:iam::::role:Viewer",
    ]


def test_a_v1_file_is_sent_for_the_service_id_named(
    cli, emulator: Emulator, tmp_path: Path
) -> None:
    login(cli, emulator, "cloud")
    sid = new_sid(cli)
    doc = tmp_path / "v1.json"
    doc.write_text(
        json.dumps(
            {
                "roles": [{"role_id": "crn:v1:bluemix:public:iam::::role:Viewer"}],
                "resources": [
                    {
                        "attributes": [
                            {"name": "serviceName", "value": "iam-*", "operator": "stringMatch"}
                        ]
                    }
                ],
            }
        )
    )
    r = cli("service-policy-create", str(sid["name"]), "--file", f"@{doc}", "--output", "json")
    assert r.code == 0, r.stderr
    assert "Warning" not in r.stderr
    body = json.loads(r.stdout)
    assert body["subjects"][0]["attributes"][0]["value"] == sid["iam_id"]
    attrs = body["resources"][0]["attributes"]
    assert attrs[0] == {"name": "serviceName", "value": "iam-*", "operator": "stringMatch"}
    assert {"name": "accountId", "value": emulator.a.account_id} in [
        {k: a[k] for k in ("name", "value")} for a in attrs
    ]
    # --api-version contradicting the file is a usage error, before anything is sent.
    wrong = cli(
        "service-policy-create", str(sid["name"]), "--file", f"@{doc}", "--api-version", "v2"
    )
    assert wrong.code == 2 and "written for the v1 API, not v2" in wrong.stderr


@pytest.mark.parametrize(
    "document",
    [
        {"subject": {"attributes": 7}, "control": {}},
        {"subjects": "me", "roles": 1, "resources": [3]},
        {"subject": [], "control": {"grant": {"roles": "x"}}, "resource": {"attributes": 5}},
    ],
)
def test_a_hostile_file_gets_an_answer_not_a_traceback(
    cli, emulator: Emulator, tmp_path: Path, document: dict[str, object]
) -> None:
    login(cli, emulator, "cloud")
    doc = tmp_path / "odd.json"
    doc.write_text(json.dumps(document))
    r = cli("service-policy-create", str(new_sid(cli)["name"]), "--file", f"@{doc}")
    assert r.code in (1, 2), r.stderr  # the server's 400, or ours
    assert "\nFAILED\n" in f"\n{r.stderr}" and "Traceback" not in r.stderr
