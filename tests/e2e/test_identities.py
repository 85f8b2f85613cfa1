"""Service IDs and API keys from the command line, on both API families."""

from __future__ import annotations

import json
import os
import stat
import uuid
from pathlib import Path

import httpx
import jwt
import pytest

from support import Emulator

FLAVORS = ["cloud", "private"]


@pytest.fixture(params=FLAVORS)
def flavor(request: pytest.FixtureRequest, cli, emulator: Emulator) -> str:  # type: ignore[no-untyped-def]
    r = cli(
        "login",
        "-a",
        emulator.url,
        "--flavor",
        request.param,
        "--apikey",
        "-",
        stdin=emulator.a.apikey,
    )
    assert r.code == 0, r.stderr
    return str(request.param)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_sid(cli, name: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    r = cli("service-id-create", name, "-d", "made by a test", "--output", "json")
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_whole_life_cycle(cli, emulator: Emulator, flavor: str, tmp_path: Path) -> None:
    name = unique("ci-bot")
    human = cli("service-id-create", name, "-d", "CI robot")
    assert human.code == 0
    assert human.stderr.splitlines()[:3] == [
        f"Creating service ID {name} bound to current account as "
        f"{'Alice Administrator' if flavor == 'cloud' else 'alice'}...",
        "OK",
        f"Service ID {name} is created successfully",
    ]
    record = dict(line.split(None, 1) for line in human.out_lines if " " in line)
    sid = record["ID"]
    assert sid.startswith("ServiceId-") and record["Name"] == name
    assert record["CRN"].endswith(f"::serviceid:{sid}")

    # A key with --file, and a login as the service ID from that file.
    key_file = tmp_path / "deploy.json"
    made = cli("service-api-key-create", "deploy", name, "--file", str(key_file))
    assert made.code == 0, made.stderr
    assert f"Successfully saved API key information to {key_file}" in made.stderr
    exported = json.loads(key_file.read_text())
    assert list(exported)[:4] == ["name", "description", "apikey", "createdAt"]
    assert exported["apikey"] not in made.stdout + made.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    as_bot = cli(
        "login",
        "-a",
        emulator.url,
        "--flavor",
        flavor,
        "--apikey",
        f"@{key_file}",
        "--profile",
        "bot",
    )
    assert as_bot.code == 0, as_bot.stderr
    token = cli("oauth-tokens", "--profile", "bot").out_lines[0].split()[3]
    if flavor == "cloud":
        assert jwt.decode(token, options={"verify_signature": False})["sub"] == sid
    assert (
        json.loads(cli("target", "--profile", "bot", "--output", "json").stdout)["identity_kind"]
        == "serviceid"
    )

    # Get by name and by ID; list its keys.
    by_name = json.loads(cli("service-id", name, "--output", "json").stdout)
    by_id = json.loads(cli("service-id", sid, "--output", "json").stdout)
    assert by_name == by_id and by_id["id"] == sid
    keys = cli("service-api-keys", name, "-q")
    assert keys.out_lines == [exported["id"]]

    # Update, then delete; the service ID's keys go with it.
    upd = cli("service-id-update", name, "-d", "renamed robot", "-f", "--output", "json")
    assert upd.code == 0 and json.loads(upd.stdout)["description"] == "renamed robot"
    assert cli("service-id-delete", sid).code == 2  # no terminal, no -f
    assert cli("service-id", sid).code == 0
    assert cli("service-id-delete", sid, "-f").code == 0
    assert cli("service-id", sid).code == 3
    assert cli("apikeys", "get", exported["id"]).code == 3
    gone = cli(
        "login",
        "-a",
        emulator.url,
        "--flavor",
        flavor,
        "--apikey",
        f"@{key_file}",
        "--profile",
        "bot2",
    )
    assert gone.code == 4


def test_create_output_mirrors_ibmcloud(cli, emulator: Emulator, flavor: str) -> None:
    name = unique("awk")
    create_sid(cli, name)
    r = cli("service-api-key-create", "k1", name, "-d", "for awk")
    assert r.code == 0
    assert "Please preserve the API key! It cannot be retrieved after it's created." in r.stderr
    last = r.out_lines[-1]
    assert last.startswith("API Key ")
    value = last.split()[-1]  # awk '{print $NF}'
    assert len(value) == 44
    ok = cli("login", "-a", emulator.url, "--flavor", flavor, "--apikey", value, "--profile", "k1")
    assert ok.code == 0
    as_json = cli("service-api-key-create", "k2", name, "--output", "json")
    body = json.loads(as_json.stdout)
    assert len(body["apikey"]) == 44 and body["name"] == "k2" and body["id"].startswith("ApiKey-")


def test_user_key_to_stdout_file(cli, emulator: Emulator, flavor: str, tmp_path: Path) -> None:
    r = cli("api-key-create", unique("mine"), "--file", "-")
    assert r.code == 0, r.stderr
    exported = json.loads(r.stdout)  # stdout is the export and nothing else
    assert len(exported["apikey"]) == 44
    listed = json.loads(cli("apikeys", "list", "--output", "json").stdout)
    assert exported["id"] in [k["id"] for k in listed]
    path = tmp_path / "mine.json"
    path.write_text(r.stdout)
    assert (
        cli(
            "login",
            "-a",
            emulator.url,
            "--flavor",
            flavor,
            "--apikey",
            f"@{path}",
            "--profile",
            "me",
        ).code
        == 0
    )


def test_lists_follow_every_page(cli, emulator: Emulator, flavor: str) -> None:
    name = unique("many")
    sid = create_sid(cli, name)
    store = emulator.store
    created = {
        store.create_api_key(
            account_id=emulator.a.account_id,
            iam_id=f"iam-{sid['id']}",
            name=f"k{i:03d}",
            description=None,
            created_by="test",
        )[0].id
        for i in range(230)
    }
    r = cli("service-api-keys", str(sid["id"]), "--output", "json")
    assert r.code == 0
    assert {k["id"] for k in json.loads(r.stdout)} == created
    table = cli("service-api-keys", name)
    assert len(table.out_lines) == 231 and table.out_lines[0].split()[:2] == ["ID", "Name"]
    assert len(cli("service-api-keys", name, "--limit", "7", "-q").out_lines) == 7
    by_flag = cli("apikeys", "list", "--service-id", name, "-q")
    assert set(by_flag.out_lines) == created


def test_service_id_list_and_filter(cli, flavor: str) -> None:
    prefix = unique("filter")
    ids = {str(create_sid(cli, f"{prefix}-{n}")["id"]) for n in ("a", "b")}
    create_sid(cli, unique("other"))
    r = cli("service-ids", "-n", prefix, "-q")
    assert set(r.out_lines) == ids
    assert json.loads(cli("service-ids", "-n", prefix, "--output", "json").stdout)[0][
        "name"
    ].startswith(prefix)


def test_apikeys_get_update_delete(cli, flavor: str) -> None:
    name = unique("keys")
    create_sid(cli, name)
    key = json.loads(cli("service-api-key-create", "k", name, "--output", "json").stdout)
    got = json.loads(cli("apikeys", "get", key["id"], "--output", "json").stdout)
    assert got["id"] == key["id"] and "apikey" not in got
    assert cli("apikeys", "update", key["id"], "--name", "renamed").code == 2  # needs -f
    upd = cli(
        "apikeys", "update", key["id"], "--name", "renamed", "-d", "new", "-f", "--output", "json"
    )
    assert upd.code == 0 and json.loads(upd.stdout)["name"] == "renamed"
    assert cli("apikeys", "delete", key["id"]).code == 2
    assert cli("apikeys", "delete", key["id"], "-f").code == 0
    assert cli("apikeys", "get", key["id"]).code == 3


def test_bound_to_crn(cli, flavor: str) -> None:
    name = unique("crn")
    sid = create_sid(cli, name)
    key = json.loads(cli("service-api-key-create", "k", name, "--output", "json").stdout)
    crn = str(sid.get("crn"))
    r = cli("apikeys", "list", "--bound-to", crn, "-q")
    assert r.out_lines == [key["id"]]
    assert cli("apikeys", "list", "--bound-to", "crn:v1:nonsense").code == 2


def test_stale_version_is_a_conflict(
    cli, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone else changes the service ID between our read and our write."""
    assert (
        cli(
            "login",
            "-a",
            emulator.url,
            "--flavor",
            "cloud",
            "--apikey",
            "-",
            stdin=emulator.a.apikey,
        ).code
        == 0
    )
    sid = create_sid(cli, unique("race"))
    from iamcli.flavors.cloud import Cloud

    real = Cloud.service_id

    def read_then_someone_writes(self: Cloud, ref: str):  # type: ignore[no-untyped-def]
        current = real(self, ref)
        httpx.put(
            f"{emulator.url}/v1/serviceids/{ref}",
            headers={**emulator.auth(), "If-Match": "*"},
            json={"description": "theirs"},
            timeout=10,
        )
        return current

    monkeypatch.setattr(Cloud, "service_id", read_then_someone_writes)
    r = cli("service-id-update", str(sid["id"]), "-d", "ours", "-f")
    assert r.code == 5, r.stderr
    assert "changed by someone else" in r.stderr
    monkeypatch.setattr(Cloud, "service_id", real)
    assert (
        json.loads(cli("service-id", str(sid["id"]), "--output", "json").stdout)["description"]
        == "theirs"
    )


def test_locks_refuse_change(cli, emulator: Emulator) -> None:
    assert (
        cli(
            "login",
            "-a",
            emulator.url,
            "--flavor",
            "cloud",
            "--apikey",
            "-",
            stdin=emulator.a.apikey,
        ).code
        == 0
    )
    name = unique("locked")
    create_sid(cli, name)
    assert cli("service-id-lock", name).code == 2
    assert cli("service-id-lock", name, "-f").code == 0
    assert json.loads(cli("service-id", name, "--output", "json").stdout)["locked"] is True
    upd = cli("service-id-update", name, "-d", "x", "-f")
    assert upd.code == 5 and "locked" in upd.stderr
    assert cli("service-id-delete", name, "-f").code == 5
    assert cli("service-id-unlock", name, "-f").code == 0
    assert cli("service-id-delete", name, "-f").code == 0
    locked_key = cli("service-api-key-create", "k", unique("sid"), "--lock")
    assert locked_key.code == 3  # no such service ID


def test_private_has_no_locks(cli, emulator: Emulator) -> None:
    assert (
        cli(
            "login",
            "-a",
            emulator.url,
            "--flavor",
            "private",
            "--apikey",
            "-",
            stdin=emulator.a.apikey,
        ).code
        == 0
    )
    name = unique("nolock")
    create_sid(cli, name)
    r = cli("service-id-lock", name, "-f")
    assert r.code == 2 and "not available on the private API family" in r.stderr


def test_unknown_and_ambiguous_names(cli, flavor: str) -> None:
    missing = cli("service-id", "no-such-service-id")
    assert missing.code == 3 and "'no-such-service-id' not found" in missing.stderr
    assert cli("service-id", f"ServiceId-{uuid.uuid4()}").code == 3
    assert cli("apikeys", "get", f"ApiKey-{uuid.uuid4()}").code == 3
    assert cli("apikeys", "get", "not-an-id").code == 2
    twin = unique("twin")
    a, b = create_sid(cli, twin), create_sid(cli, twin)
    r = cli("service-id", twin)
    assert r.code == 2
    assert str(a["id"]) in r.stderr and str(b["id"]) in r.stderr
    assert cli("service-id-delete", twin, "-f").code == 2
    assert cli("service-id", str(a["id"])).code == 0


def _key_count(cli, sid_name: str) -> int:  # type: ignore[no-untyped-def]
    return len(cli("service-api-keys", sid_name, "-q").out_lines)


def test_file_export_refuses_before_creating(cli, flavor: str, tmp_path: Path) -> None:
    name = unique("file")
    create_sid(cli, name)
    existing = tmp_path / "exists.json"
    existing.write_text("keep me")
    r = cli("service-api-key-create", "k", name, "--file", str(existing))
    assert r.code == 1 and "--force" in r.stderr
    assert existing.read_text() == "keep me" and _key_count(cli, name) == 0

    readonly = tmp_path / "ro"
    readonly.mkdir()
    os.chmod(readonly, 0o500)
    if os.geteuid() != 0:  # root writes anywhere; the unit tests cover that case
        r = cli("service-api-key-create", "k", name, "--file", str(readonly / "k.json"))
        assert r.code == 1 and _key_count(cli, name) == 0
    r = cli("service-api-key-create", "k", name, "--file", str(tmp_path / "nodir" / "k.json"))
    assert r.code == 1 and _key_count(cli, name) == 0

    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "target.json")
    r = cli("service-api-key-create", "k", name, "--file", str(link), "--force")
    assert r.code == 1 and "symbolic link" in r.stderr
    assert not (tmp_path / "target.json").exists() and _key_count(cli, name) == 0

    old_umask = os.umask(0)
    try:
        r = cli("service-api-key-create", "k", name, "--file", str(existing), "--force")
    finally:
        os.umask(old_umask)
    assert r.code == 0, r.stderr
    assert json.loads(existing.read_text())["name"] == "k"
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    assert _key_count(cli, name) == 1
