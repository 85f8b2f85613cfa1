"""iamcli reads nothing from a place another user can change: config.json, credentials.json,
the token cache, and the directories above them up to IAMCLI_HOME must be this user's and not
writable by group or others. Reads are bounded in size and depth. Each refusal is one line
naming the path, a hint with the fix, and exit 1. (The suite runs as root, which may chown a
file to another uid.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from support import Emulator

OTHER_UID = 4242


def logged_in(cli, emulator: Emulator, *extra: str) -> None:  # type: ignore[no-untyped-def]
    r = cli("login", "-a", emulator.url, "--apikey", "-", *extra, stdin=emulator.a.apikey)
    assert r.code == 0, r.stderr


def refused(r, path: Path, why: str) -> None:  # type: ignore[no-untyped-def]
    assert r.code == 1, r.stderr
    lines = r.stderr.splitlines()
    lines = lines[lines.index("FAILED") + 1 :]
    assert why in lines[0] and str(path) in lines[0], lines
    assert "Traceback" not in r.stderr and len(lines) == 2  # the message and its hint


@pytest.mark.parametrize(
    ("spoil", "why"),
    [
        (lambda p: os.chown(p, OTHER_UID, -1), "belongs to another user"),
        (lambda p: os.chmod(p, 0o666), "is writable by group or others"),
        (lambda p: os.chmod(p, 0o620), "is writable by group or others"),
    ],
    ids=["other-owner", "world-writable", "group-writable"],
)
def test_a_config_another_user_could_have_written_is_not_read(  # type: ignore[no-untyped-def]
    cli, emulator: Emulator, home: Path, spoil, why: str
) -> None:
    logged_in(cli, emulator)
    config = home / "config" / "config.json"
    spoil(config)
    for args in (["target"], ["service-ids"], ["logout"]):
        r = cli(*args)
        refused(r, config, f"refusing to read {config}: it {why}")


@pytest.mark.parametrize("where", ["home", "config"])
def test_a_directory_above_the_config_that_others_can_write_is_refused(
    cli, emulator: Emulator, home: Path, where: str
) -> None:  # type: ignore[no-untyped-def]
    logged_in(cli, emulator)
    directory = home if where == "home" else home / "config"
    directory.chmod(0o777)
    r = cli("target")
    refused(r, directory, f"{directory} is writable by group or others")
    assert f"chmod go-w {directory}" in r.stderr


def test_a_premade_world_writable_home_is_refused_not_used(
    cli, emulator: Emulator, home: Path
) -> None:  # type: ignore[no-untyped-def]
    home.mkdir(mode=0o777)
    home.chmod(0o777)
    r = cli("login", "-a", emulator.url, "--apikey", "-", stdin=emulator.a.apikey)
    refused(r, home, f"{home} is writable by group or others")
    assert list(home.iterdir()) == []  # nothing written there either
    # Even a run that needs no stored file: a config could appear there at any moment.
    as_ci = cli("oauth-tokens", env={"IAMCLI_API_KEY": emulator.a.apikey})
    refused(as_ci, home, f"{home} is writable by group or others")
    assert list(home.iterdir()) == []


def test_a_config_directory_of_another_user_is_refused(cli, emulator: Emulator, home: Path) -> None:  # type: ignore[no-untyped-def]
    logged_in(cli, emulator)
    os.chown(home / "config", OTHER_UID, -1)
    refused(cli("target"), home / "config", "belongs to another user")


def test_plaintext_credentials_others_can_write_are_not_read(
    cli, emulator: Emulator, home: Path
) -> None:  # type: ignore[no-untyped-def]
    logged_in(cli, emulator)
    # As --insecure-storage leaves it, whatever the keyring of this run.
    profile = json.loads((home / "config" / "config.json").read_text())
    profile["profiles"]["default"]["secret_store"] = "file"
    (home / "config" / "config.json").write_text(json.dumps(profile))
    creds = home / "data" / "credentials.json"
    creds.parent.mkdir(mode=0o700)
    creds.write_text(json.dumps({"version": 1, "profiles": {"default": {"apikey": "x" * 30}}}))
    creds.chmod(0o646)
    (home / "cache" / "tokens" / "default.json").unlink()
    refused(cli("oauth-tokens"), creds, f"refusing to read {creds}: it is writable by group")


@pytest.mark.parametrize(
    ("spoil", "warned"),
    [
        (lambda home: os.chown(home / "cache" / "tokens" / "default.json", OTHER_UID, -1), ""),
        (lambda home: (home / "cache" / "tokens").chmod(0o777), "tokens is writable by group"),
        (lambda home: (home / "cache").chmod(0o775), "cache is writable by group"),
    ],
    ids=["token-file-of-another-user", "tokens-dir-world-writable", "cache-dir-group-writable"],
)
def test_a_cached_token_others_could_have_planted_is_not_used(  # type: ignore[no-untyped-def]
    cli, emulator: Emulator, home: Path, spoil, warned: str
) -> None:
    logged_in(cli, emulator)
    cache = home / "cache" / "tokens" / "default.json"
    planted = json.loads(cache.read_text())
    planted["access_token"] = "planted-token-" + "p" * 30
    cache.write_text(json.dumps(planted))
    spoil(home)
    for args in (["oauth-tokens"], ["oauth-tokens", "--output", "json"]):
        r = cli(*args)
        assert r.code == 0, r.stderr
        assert "planted-token" not in r.stdout  # a new one was minted instead
        if warned:  # the cache is left alone, and the warning says why
            assert "Warning: not using the token cache: refusing to use" in r.stderr
            assert warned in r.stderr
        else:  # the planted file is replaced by one of ours
            assert cache.stat().st_uid == os.getuid()


def test_a_huge_config_is_one_line_not_500_mb(cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    (home / "config").mkdir(parents=True, mode=0o700)
    home.chmod(0o700)
    config = home / "config" / "config.json"
    with config.open("w") as f:
        f.write('{"version": 1, "profiles": {}, "pad": "')
        f.write("x" * (3 * 1024 * 1024))
        f.write('"}')
    r = cli("target")
    assert r.code == 1 and r.stderr.splitlines()[1] == (
        f"{config} is larger than 1024 KiB; fix it or move it away"
    )


@pytest.mark.parametrize("text", ["[" * 200_000, '{"a":' * 100 + "1" + "}" * 100])
def test_a_deeply_nested_config_is_one_line(cli, home: Path, text: str) -> None:  # type: ignore[no-untyped-def]
    (home / "config").mkdir(parents=True, mode=0o700)
    home.chmod(0o700)
    config = home / "config" / "config.json"
    config.write_text(text)
    r = cli("target")
    assert r.code == 1, r.stderr
    assert r.stderr.splitlines()[1].startswith(f"{config} is not valid JSON (nested more than 64")
    assert "Traceback" not in r.stderr
