"""`iamcli login` / `logout` / `target` end to end, on both API families."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from support import REAL_KEYRING, Emulator, files_containing, stored_secret

FLAVORS = ["cloud", "private"]


def login_args(emulator: Emulator, flavor: str, *extra: str) -> list[str]:
    return ["login", "-a", emulator.url, "--flavor", flavor, *extra]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_login_stores_the_key_in_the_keyring_only(
    cli, emulator: Emulator, home: Path, flavor: str
) -> None:
    r = cli(*login_args(emulator, flavor), "--apikey", "-", stdin=emulator.a.apikey + "\n")
    assert r.code == 0, r.stderr
    assert r.stderr.splitlines()[-1] == "OK"
    assert "Authenticating..." in r.stderr
    assert stored_secret("default", "apikey") == emulator.a.apikey
    assert stored_secret("default", "refresh_token") is None
    # Nothing under IAMCLI_HOME holds the API key; the cached access token is 0600.
    assert files_containing(home, emulator.a.apikey) == []
    for path in home.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path
    assert emulator.a.apikey not in r.stdout + r.stderr

    target = cli("target", "--output", "json")
    info = json.loads(target.stdout)
    assert info["endpoint"] == emulator.url and info["flavor"] == flavor
    assert info["account_id"] == emulator.a.account_id
    assert info["credential_source"] == "OS keyring (API key)"
    assert info["iam_id"].startswith("IBMid-") and info["token_expires_at"]


@pytest.mark.skipif(not REAL_KEYRING, reason="needs the Secret Service (make test)")
@pytest.mark.keyring
def test_the_secret_is_in_gnome_keyring_over_dbus(cli, emulator: Emulator) -> None:
    import keyring

    assert type(keyring.get_keyring()).__module__ == "keyring.backends.SecretService"
    r = cli(*login_args(emulator, "cloud"), "--apikey", "-", stdin=emulator.a.apikey)
    assert r.code == 0, r.stderr
    # Read back through the Secret Service, as another program would.
    from keyring.backends import SecretService

    backend = SecretService.Keyring()
    from iamcli import credentials

    assert backend.get_password(credentials.service_name(), "default/apikey") == (emulator.a.apikey)
    assert cli("logout").code == 0
    assert backend.get_password(credentials.service_name(), "default/apikey") is None


def test_literal_key_on_argv_warns(cli, emulator: Emulator) -> None:
    r = cli(*login_args(emulator, "cloud"), "--apikey", emulator.a.apikey)
    assert r.code == 0
    assert "can be read by other users" in r.stderr
    assert emulator.a.apikey not in r.stderr + r.stdout


def test_login_from_a_raw_key_file_and_a_json_export(
    cli, emulator: Emulator, tmp_path: Path
) -> None:
    raw = tmp_path / "key.txt"
    raw.write_text(emulator.a.apikey + "\n")
    assert cli(*login_args(emulator, "cloud"), "--apikey", f"@{raw}").code == 0
    exported = tmp_path / "key.json"
    exported.write_text(
        json.dumps(
            {
                "name": "k",
                "description": "",
                "apikey": emulator.b.apikey,
                "createdAt": "2026-01-01T00:00+0000",
            },
            indent=2,
        )
    )
    r = cli(*login_args(emulator, "cloud"), "--apikey", f"@{exported}", "--profile", "bob")
    assert r.code == 0, r.stderr
    assert (
        json.loads(cli("target", "--profile", "bob", "--output", "json").stdout)["account_id"]
        == emulator.b.account_id
    )


def test_a_wrong_key_stores_nothing(cli, emulator: Emulator, home: Path) -> None:
    r = cli(*login_args(emulator, "cloud"), "--apikey", "-", stdin="n" * 44)
    assert r.code == 4
    assert "BXNIM0415E: Provided API key could not be found" in r.stderr
    assert "Traceback" not in r.stderr and "n" * 44 not in r.stderr
    assert stored_secret("default", "apikey") is None
    assert (
        not (home / "config" / "config.json").exists()
        or "default" not in json.loads((home / "config" / "config.json").read_text())["profiles"]
    )
    assert cli("oauth-tokens").code == 4


def test_missing_key_without_a_terminal_is_a_usage_error(cli, emulator: Emulator) -> None:
    r = cli(*login_args(emulator, "cloud"))
    assert r.code == 2
    assert "no API key" in r.stderr and "IAMCLI_API_KEY" in r.stderr


def test_wrong_account_is_refused(cli, emulator: Emulator) -> None:
    r = cli(
        *login_args(emulator, "cloud"),
        "--apikey",
        "-",
        "-c",
        emulator.b.account_id,
        stdin=emulator.a.apikey,
    )
    assert r.code == 2 and "cannot switch accounts" in r.stderr
    assert stored_secret("default", "apikey") is None


def test_password_login_keeps_a_refresh_token_not_the_password(
    cli, emulator: Emulator, home: Path
) -> None:
    r = cli(*login_args(emulator, "private"), "-u", emulator.a.username, "-p", emulator.a.password)
    assert r.code == 0, r.stderr
    refresh = stored_secret("default", "refresh_token")
    assert refresh and stored_secret("default", "apikey") is None
    assert files_containing(home, emulator.a.password) == []
    assert files_containing(home, refresh) == []
    tokens = cli("oauth-tokens").out_lines
    assert tokens[0].startswith("IAM token:  Bearer ")
    assert tokens[1] == f"IAM refresh token:  {refresh}"


def test_password_without_a_terminal_needs_p(cli, emulator: Emulator) -> None:
    r = cli(*login_args(emulator, "private"), "-u", emulator.a.username)
    assert r.code == 2 and "-p -" in r.stderr


def test_password_from_stdin_and_the_argv_warning(cli, emulator: Emulator) -> None:
    piped = cli(
        "login",
        "-a",
        emulator.url,
        "--flavor",
        "private",
        "-u",
        emulator.a.username,
        "-p",
        "-",
        stdin=emulator.a.password + "\n",
    )
    assert piped.code == 0, piped.stderr
    assert "can be read by other users" not in piped.stderr
    literal = cli(
        "login",
        "-a",
        emulator.url,
        "--flavor",
        "private",
        "-u",
        emulator.a.username,
        "-p",
        emulator.a.password,
    )
    assert literal.code == 0 and "can be read by other users" in literal.stderr
    assert emulator.a.password not in literal.stderr


def test_flavor_is_detected(cli, emulator: Emulator) -> None:
    r = cli("login", "-a", emulator.url, "--apikey", "-", stdin=emulator.a.apikey)
    assert r.code == 0
    assert json.loads(cli("target", "--output", "json").stdout)["flavor"] == "cloud"


def test_logout_forgets_everything(cli, emulator: Emulator, home: Path) -> None:
    assert cli(*login_args(emulator, "cloud"), "--apikey", "-", stdin=emulator.a.apikey).code == 0
    assert cli("oauth-tokens").code == 0
    r = cli("logout")
    assert r.code == 0 and r.stderr.strip() == "OK"
    assert stored_secret("default", "apikey") is None
    assert list((home / "cache" / "tokens").glob("*.json")) == []
    assert cli("target").code == 4
    again = cli("logout")
    assert again.code == 0 and "was not logged in" in again.stderr


def test_profiles_are_independent(cli, emulator: Emulator) -> None:
    assert (
        cli(
            *login_args(emulator, "cloud"),
            "--apikey",
            "-",
            "--profile",
            "a",
            stdin=emulator.a.apikey,
        ).code
        == 0
    )
    assert (
        cli(
            *login_args(emulator, "private"),
            "--apikey",
            "-",
            "--profile",
            "b",
            stdin=emulator.b.apikey,
        ).code
        == 0
    )
    a = json.loads(cli("--profile", "a", "target", "--output", "json").stdout)
    b = json.loads(cli("target", "--profile", "b", "--output", "json").stdout)
    assert (a["flavor"], a["account_id"]) == ("cloud", emulator.a.account_id)
    assert (b["flavor"], b["account_id"]) == ("private", emulator.b.account_id)
    assert cli("logout", "--profile", "a").code == 0
    assert cli("target", "--profile", "b").code == 0


def test_bad_profile_name_is_a_usage_error(cli) -> None:
    r = cli("target", "--profile", "../etc")
    assert r.code == 2 and "Traceback" not in r.stderr
