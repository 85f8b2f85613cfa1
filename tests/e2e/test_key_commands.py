"""The `ibmcloud iam` key and service-ID commands, by name and by ID, against `iamcli serve`
run as a process, on both API families."""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import APIKEY_GRANT, ServeProcess, serve_process

KEY = "key-commands-admin-key-" + "k" * 24
FLAVORS = ["cloud", "private"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    db = tmp_path_factory.mktemp("serve") / "serve.db"
    with serve_process("--db", str(db), "--seed-apikey", KEY, "--quiet", "--workers", "1") as s:
        yield s


@pytest.fixture(params=FLAVORS)
def flavor(request: pytest.FixtureRequest, cli, served: ServeProcess) -> str:  # type: ignore[no-untyped-def]
    r = cli("login", "-a", served.url, "--flavor", request.param, "--apikey", "-", stdin=KEY)
    assert r.code == 0, r.stderr
    return str(request.param)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def as_json(r) -> object:  # type: ignore[no-untyped-def]
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


def record(r) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert r.code == 0, r.stderr
    pairs = (re.split(r"\s{3,}", line, maxsplit=1) for line in r.out_lines)
    return {p[0]: (p[1] if len(p) > 1 else "") for p in pairs}


def new_service_id(cli, name: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return as_json(cli("service-id-create", name, "-d", "robot of a test", "--output", "json"))  # type: ignore[return-value]


def test_service_id_key_commands_by_name_and_id(cli, flavor: str) -> None:  # type: ignore[no-untyped-def]
    sid_name = unique("bot")
    sid = new_service_id(cli, sid_name)["id"]
    extra = ["--action-if-leaked", "DELETE", "--expires-in", "90d"] if flavor == "cloud" else []
    made = as_json(
        cli(
            "service-api-key-create",
            "deploy",
            sid_name,
            "-d",
            "deploy key",
            "--output",
            "json",
            *extra,
        )
    )
    kid = made["id"]  # type: ignore[index]

    # By names and by IDs, the same key; --uuid prints only its ID.
    by_names = as_json(cli("service-api-key", "deploy", sid_name, "--output", "json"))
    by_ids = as_json(cli("service-api-key", kid, sid, "--output", "json"))
    assert by_names == by_ids and by_ids["id"] == kid  # type: ignore[index]
    assert "apikey" not in by_ids  # type: ignore[operator]
    assert cli("service-api-key", "deploy", sid, "--uuid").stdout == kid + "\n"
    if flavor == "cloud":
        assert by_ids["action_when_leaked"] == "delete"  # type: ignore[index]
        expires = datetime.datetime.strptime(by_ids["expires_at"], "%Y-%m-%dT%H:%M%z")  # type: ignore[index]
        days = (expires - datetime.datetime.now(datetime.UTC)).total_seconds() / 86400
        assert 89.9 < days <= 90.01
        shown = record(cli("service-api-key", "deploy", sid_name))
        assert shown["Action If Leaked"] == "delete" and shown["Expires At"] == by_ids["expires_at"]  # type: ignore[index]

    # A key of another service ID is not found under this one, by name or by ID.
    other = unique("other")
    new_service_id(cli, other)
    assert cli("service-api-key", "deploy", other).code == 3
    assert cli("service-api-key", kid, other).code == 3

    # Update: new name, description and (cloud) leak action.
    leak = ["--action-if-leaked", "none"] if flavor == "cloud" else []
    upd = cli(
        "service-api-key-update",
        "deploy",
        sid_name,
        "-n",
        "deploy2",
        "-d",
        "renamed",
        "-f",
        "--output",
        "json",
        *leak,
    )
    body = as_json(upd)
    assert body["name"] == "deploy2" and body["description"] == "renamed"  # type: ignore[index]
    if flavor == "cloud":
        assert body["action_when_leaked"] == "none"  # type: ignore[index]
    assert cli("service-api-key-update", "deploy2", sid, "-d", "x").code == 2  # no -f, no tty

    # Lists: the service ID's, filtered by name and description, and --all.
    assert cli("service-api-keys", sid_name, "--uuid").out_lines == [kid]
    assert cli("service-api-keys", sid, "-n", "ploy2", "-q").out_lines == [kid]
    assert cli("service-api-keys", sid, "-d", "nomatch", "-q").out_lines == []
    everything = cli("service-api-keys", "--all", "--uuid")
    assert kid in everything.out_lines
    assert cli("service-api-keys").code == 2 and cli("service-api-keys", sid, "-a").code == 2

    # Lock, disable, and back; the private family has neither, and says so in one line.
    for verb in ("lock", "unlock", "disable", "enable"):
        r = cli(f"service-api-key-{verb}", "deploy2", sid_name, "-f")
        if flavor == "private":
            assert r.code == 2 and r.stderr.splitlines()[-1].endswith("private API family"), (
                r.stderr
            )
            continue
        assert r.code == 0, r.stderr
        state = as_json(cli("service-api-key", kid, sid, "--output", "json"))
        if verb in ("lock", "unlock"):
            assert state["locked"] is (verb == "lock")  # type: ignore[index]
        else:
            assert state["disabled"] is (verb == "disable")  # type: ignore[index]
    if flavor == "cloud":
        assert cli("service-api-key-lock", kid, sid, "-f").code == 0
        refused = cli("service-api-key-delete", kid, sid, "-f")
        assert refused.code == 5
        assert f"iamcli service-api-key-unlock {kid} {sid}" in refused.stderr
        assert cli("service-api-key-unlock", kid, sid_name, "-f").code == 0

    deleted = cli("service-api-key-delete", "deploy2", sid_name, "-f")
    assert deleted.code == 0 and f"{kid} is deleted" in deleted.stderr
    assert cli("service-api-key", kid, sid).code == 3


def test_user_key_commands_by_name_and_id(cli, flavor: str) -> None:  # type: ignore[no-untyped-def]
    name = unique("mine")
    extra = ["--action-if-leaked", "none", "--expires-in", "12h"] if flavor == "cloud" else []
    made = as_json(cli("api-key-create", name, "-d", "laptop key", "--output", "json", *extra))
    kid = made["id"]  # type: ignore[index]

    assert kid in cli("api-keys", "--uuid").out_lines
    assert cli("api-keys", "-n", name, "--uuid").out_lines == [kid]
    assert cli("api-keys", "-n", name, "-d", "laptop", "-q").out_lines == [kid]
    assert cli("api-keys", "-n", name, "-d", "desktop", "-q").out_lines == []
    by_name = as_json(cli("api-key", name, "--output", "json"))
    assert by_name == as_json(cli("api-key", kid, "--output", "json"))
    assert cli("api-key", name, "--uuid").stdout == kid + "\n"
    if flavor == "cloud":
        assert by_name["action_when_leaked"] == "none" and "expires_at" in by_name  # type: ignore[index,operator]

    upd = as_json(cli("api-key-update", name, "-n", name + "-2", "-f", "--output", "json"))
    assert upd["name"] == name + "-2"  # type: ignore[index]
    if flavor == "cloud":
        leak = as_json(
            cli("api-key-update", kid, "--action-if-leaked", "disable", "-f", "--output", "json")
        )
        assert leak["action_when_leaked"] == "disable"  # type: ignore[index]
    else:
        r = cli("api-key-update", kid, "--action-if-leaked", "disable", "-f")
        assert (
            r.code == 2
            and "--action-if-leaked is not available on the private API family" in r.stderr
        )

    for verb in ("lock", "unlock", "disable", "enable"):
        r = cli(f"api-key-{verb}", kid, "-f")
        if flavor == "private":
            assert (
                r.code == 2 and "private API family" in r.stderr and len(r.stderr.splitlines()) == 2
            )
        else:
            assert r.code == 0, r.stderr
    if flavor == "cloud":
        assert cli("api-key-lock", name + "-2", "-f").code == 0
        refused = cli("api-key-delete", kid, "-f")
        assert refused.code == 5 and f"iamcli api-key-unlock {kid}" in refused.stderr
        assert cli("api-key-unlock", kid, "-f").code == 0

    assert cli("api-key-delete", name + "-2").code == 2  # no terminal and no -f
    assert cli("api-key-delete", name + "-2", "-f").code == 0
    assert cli("api-key", kid).code == 3


def test_a_service_id_key_is_not_a_user_key(cli, flavor: str) -> None:  # type: ignore[no-untyped-def]
    sid_name = unique("bot")
    new_service_id(cli, sid_name)
    kid = as_json(cli("service-api-key-create", "k", sid_name, "--output", "json"))["id"]  # type: ignore[index]
    r = cli("api-key", kid)
    assert r.code == 3 and "use service-api-key" in r.stderr


def test_store_value_keeps_the_key_retrievable(cli, served: ServeProcess) -> None:  # type: ignore[no-untyped-def]
    assert cli("login", "-a", served.url, "--flavor", "cloud", "--apikey", "-", stdin=KEY).code == 0
    sid_name = unique("bot")
    sid = new_service_id(cli, sid_name)["id"]
    made = as_json(
        cli("service-api-key-create", "kept", sid_name, "--store-value", "--output", "json")
    )
    again = as_json(cli("service-api-key", "kept", sid, "--output", "json"))
    assert again["apikey"] == made["apikey"]  # type: ignore[index]
    assert record(cli("service-api-key", "kept", sid))["API Key"] == made["apikey"]  # type: ignore[index]
    # Only a read of the key shows it; an update's answer does not repeat it.
    updated = cli("service-api-key-update", "kept", sid, "-d", "x", "-f", "--output", "json")
    assert "apikey" not in as_json(updated) and made["apikey"] not in updated.stdout  # type: ignore[index,operator]
    # A user key can never store its value (IBM refuses it); refused before anything is sent.
    r = cli("api-key-create", "x", "--store-value")
    assert r.code == 2


def test_private_refuses_cloud_only_settings_before_creating(cli, served: ServeProcess) -> None:  # type: ignore[no-untyped-def]
    assert (
        cli("login", "-a", served.url, "--flavor", "private", "--apikey", "-", stdin=KEY).code == 0
    )
    sid_name = unique("bot")
    new_service_id(cli, sid_name)
    for flags in (["--action-if-leaked", "none"], ["--expires-in", "1d"], ["--store-value"]):
        r = cli("service-api-key-create", "k", sid_name, *flags)
        assert r.code == 2, r.stderr
        assert r.stderr.splitlines() == [
            "FAILED",
            f"{flags[0]} is not available on the private API family",
        ]
    assert cli("service-api-keys", sid_name, "-q").out_lines == []


@pytest.mark.parametrize("expires_in", ["-5d", "2001-01-01", "2001-01-01T10:00Z", "0s", "soon"])
def test_a_past_or_bad_expiry_is_refused_before_anything_is_sent(
    cli, served: ServeProcess, expires_in: str
) -> None:  # type: ignore[no-untyped-def]
    assert cli("login", "-a", served.url, "--flavor", "cloud", "--apikey", "-", stdin=KEY).code == 0
    name = unique("late")
    r = cli("api-key-create", name, "--expires-in", expires_in)
    assert r.code == 2 and r.stderr.startswith("FAILED\n--expires-in"), r.stderr
    assert len(r.stderr.splitlines()) == 2
    assert cli("api-keys", "-n", name, "-q").out_lines == []


def test_the_server_refuses_a_past_expires_at(served: ServeProcess) -> None:
    """iamcli serve refuses a past `expires_at` with 400 (see README: IBM documents the field
    as the moment the key stops working; a key born dead is refused rather than made)."""
    with httpx.Client(base_url=served.url, timeout=10) as c:
        token = c.post("/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": KEY})
        access = token.json()["access_token"]
        import jwt

        iam_id = jwt.decode(access, options={"verify_signature": False})["iam_id"]
        r = c.post(
            "/v1/apikeys",
            headers={"Authorization": f"Bearer {access}"},
            json={"name": "late", "iam_id": iam_id, "expires_at": "2001-01-01T00:00+0000"},
        )
    assert r.status_code == 400 and "expires_at" in r.json()["errors"][0]["message"]


def test_service_id_filters_uuid_and_empty_lists(cli, flavor: str) -> None:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:8]
    a = new_service_id(cli, f"filter-{tag}-a")["id"]
    b = as_json(
        cli("service-id-create", f"filter-{tag}-b", "-d", f"the {tag} builder", "--output", "json")
    )["id"]  # type: ignore[index]
    assert sorted(cli("service-ids", "-n", f"filter-{tag}", "--uuid").out_lines) == sorted([a, b])
    assert cli("service-ids", "-d", f"{tag} builder", "--uuid").out_lines == [b]
    assert cli("service-id", f"filter-{tag}-a", "--uuid").stdout == a + "\n"

    empty = cli("service-ids", "-n", f"nothing-{tag}")
    assert empty.code == 0 and empty.stdout == ""
    assert empty.stderr.splitlines()[-1] == "No service IDs found"
    keys = cli("api-keys", "-n", f"nothing-{tag}")
    assert keys.stdout == "" and keys.stderr.splitlines()[-1] == "No API keys found"

    # JSON lists end with the same OK status line as text, on stderr.
    listed = cli("service-ids", "-n", f"filter-{tag}", "--output", "json")
    assert len(json.loads(listed.stdout)) == 2
    assert listed.stderr.splitlines()[-1] == "OK"
    assert cli("service-ids", "-n", f"nothing-{tag}", "--output", "json").stdout == "[]\n"


def test_locked_service_id_suggests_unlock(cli, served: ServeProcess) -> None:  # type: ignore[no-untyped-def]
    assert cli("login", "-a", served.url, "--flavor", "cloud", "--apikey", "-", stdin=KEY).code == 0
    name = unique("locked")
    sid = as_json(cli("service-id-create", name, "--lock", "--output", "json"))["id"]  # type: ignore[index]
    r = cli("service-id-delete", name, "-f")
    assert r.code == 5 and f"'iamcli service-id-unlock {sid}'" in r.stderr.splitlines()[-1]
    assert cli("service-id-unlock", sid, "-f").code == 0
    assert cli("service-id-delete", name, "-f").code == 0


def test_version_and_profiles(cli, served: ServeProcess, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from iamcli import __version__

    assert cli("--version").stdout == f"iamcli {__version__}\n"
    assert cli("version").stdout == f"iamcli {__version__}\n"
    assert as_json(cli("version", "--output", "json")) == {"version": __version__}

    assert cli("profiles").stderr.strip() == "No profiles: run 'iamcli login'"
    assert cli("login", "-a", served.url, "--flavor", "cloud", "--apikey", "-", stdin=KEY).code == 0
    env_login = cli(
        "login",
        "-a",
        served.url,
        "--flavor",
        "private",
        "--profile",
        "ci",
        env={"IAMCLI_API_KEY": KEY},
    )
    assert env_login.code == 0, env_login.stderr
    listed = {p["profile"]: p for p in as_json(cli("profiles", "--output", "json"))}  # type: ignore[union-attr]
    assert listed["default"]["usable"] is True and listed["default"]["flavor"] == "cloud"
    assert listed["default"]["endpoint"] == served.url
    assert listed["default"]["credential_source"].startswith(("OS keyring", "plain-text"))
    assert listed["ci"]["usable"] is False and listed["ci"]["flavor"] == "private"
    assert "no longer set" in listed["ci"]["credential_source"]
    text = cli("profiles")
    assert text.out_lines[0].split()[:3] == ["Profile", "API", "endpoint"]
    assert any(line.startswith("default *") for line in text.out_lines)


def test_login_without_endpoint_keeps_the_profiles(  # type: ignore[no-untyped-def]
    cli, served: ServeProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = cli("login", "-a", served.url, "--flavor", "private", "--apikey", "-", stdin=KEY)
    assert first.code == 0
    again = cli("login", "--apikey", "-", stdin=KEY)
    assert again.code == 0, again.stderr
    assert again.stderr.splitlines()[0] == f"API endpoint: {served.url}"
    target = as_json(cli("target", "--output", "json"))
    assert target["endpoint"] == served.url and target["flavor"] == "private"  # type: ignore[index]
    # A new profile gets the default endpoint (here a closed loopback port: no traffic leaves).
    import iamcli.services.auth

    monkeypatch.setattr(iamcli.services.auth, "DEFAULT_ENDPOINT", "http://127.0.0.1:9")
    fresh = cli("login", "--apikey", "-", "--profile", "fresh", stdin=KEY)
    assert fresh.stderr.splitlines()[0] == "API endpoint: http://127.0.0.1:9"
    assert fresh.code == 6


def test_login_and_target_json_share_field_names(cli, served: ServeProcess) -> None:  # type: ignore[no-untyped-def]
    login = as_json(cli("login", "-a", served.url, "--apikey", "-", "--output", "json", stdin=KEY))
    target = as_json(cli("target", "--output", "json"))
    shared = set(login) & set(target)  # type: ignore[arg-type]
    assert {"profile", "endpoint", "flavor", "account_id", "iam_id", "credential_source"} <= shared
    for field in shared:
        assert login[field] == target[field], field  # type: ignore[index]


def test_login_reads_terraform_and_console_key_files(  # type: ignore[no-untyped-def]
    cli, served: ServeProcess, tmp_path: Path
) -> None:
    terraform = tmp_path / "tf.json"
    terraform.write_text(json.dumps({"Name": "tf", "Description": "", "Apikey": KEY}))
    console = tmp_path / "apikey.json"
    console.write_text(
        json.dumps(
            {"name": "c", "description": "", "createdAt": "2026-01-01T00:00+0000", "apikey": KEY}
        )
    )
    for path in (terraform, console):
        r = cli(
            "login",
            "-a",
            served.url,
            "--apikey",
            f"@{path}",
            "--profile",
            path.stem.replace(".", "-"),
        )
        assert r.code == 0, r.stderr


def test_inactive_token_says_why_once(cli, served: ServeProcess) -> None:  # type: ignore[no-untyped-def]
    assert cli("login", "-a", served.url, "--flavor", "cloud", "--apikey", "-", stdin=KEY).code == 0
    r = cli("introspect", "eyJhbGciOiJub25lIn0.e30.x")
    assert r.code == 4
    assert r.stderr.splitlines() == ["FAILED", "the token is not active: not a JWT"]
    assert r.out_lines[0].split() == ["active", "false"]


def test_parser_errors_look_like_every_other_error(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("service-ids", "--profile")
    assert r.code == 2
    assert r.stderr.splitlines() == [
        "FAILED",
        "Option '--profile' requires an argument.",
        "Run 'iamcli service-ids -h' for help.",
    ]
    unknown = cli("apikeys", "list", "--bogus")
    assert unknown.stderr.splitlines() == [
        "FAILED",
        "No such option: --bogus",
        "Run 'iamcli apikeys list -h' for help.",
    ]
