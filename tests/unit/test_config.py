from __future__ import annotations

import fcntl
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from iamcli import config
from iamcli.config import (
    Dirs,
    Profile,
    delete_profile,
    dirs,
    ensure_private_dir,
    list_profiles,
    load_profile,
    save_profile,
    select_profile_name,
)
from iamcli.errors import IamcliError, UsageError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_dirs_under_iamcli_home(isolated_home: Path) -> None:
    assert dirs() == Dirs(isolated_home / "config", isolated_home / "cache", isolated_home / "data")


def test_dirs_from_platformdirs_without_iamcli_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IAMCLI_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xc"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xk"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xd"))
    got = dirs()
    assert got.config == tmp_path / "xc" / "iamcli"
    assert got.cache == tmp_path / "xk" / "iamcli"
    assert got.data == tmp_path / "xd" / "iamcli"


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_ensure_private_dir_is_0700_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        path = ensure_private_dir(tmp_path / "a" / "b")
    finally:
        os.umask(old)
    assert _mode(path) == 0o700


def test_ensure_private_dir_tightens_an_existing_dir(tmp_path: Path) -> None:
    path = tmp_path / "open"
    path.mkdir(mode=0o755)
    path.chmod(0o755)
    ensure_private_dir(path)
    assert _mode(path) == 0o700


def test_ensure_private_dir_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(IamcliError, match="not a directory"):
        ensure_private_dir(tmp_path / "f")


@pytest.mark.parametrize("name", ["default", "a", "ci-bot_2.prod", "x" * 64])
def test_valid_profile_names(name: str) -> None:
    assert select_profile_name(name) == name


@pytest.mark.parametrize("name", ["", "a b", "../x", "a/b", "x" * 65, "é", ".", ".."])
def test_invalid_profile_names(name: str) -> None:
    with pytest.raises(UsageError, match="invalid profile name"):
        select_profile_name(name)


def test_profile_selection_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert select_profile_name(None) == "default"
    monkeypatch.setenv("IAMCLI_PROFILE", "from-env")
    assert select_profile_name(None) == "from-env"
    assert select_profile_name("from-flag") == "from-flag"
    monkeypatch.setenv("IAMCLI_PROFILE", "bad name")
    with pytest.raises(UsageError, match="IAMCLI_PROFILE"):
        select_profile_name(None)


def _profile(name: str = "default", **kw: object) -> Profile:
    base: dict[str, object] = {
        "endpoint": "https://iam.example.com",
        "flavor": "cloud",
        "account_id": "acct-1",
        "iam_id": "iam-ServiceId-1",
        "identity_name": "ci-bot",
        "identity_kind": "serviceid",
        "logged_in_at": "2026-11-27T10:00:00Z",
    }
    base.update(kw)
    return Profile(name=name, **base)  # type: ignore[arg-type]


def test_save_and_load_round_trip_with_private_modes(isolated_home: Path) -> None:
    old = os.umask(0)
    try:
        save_profile(_profile(skip_ssl_validation=True, ca_bundle="/etc/ca.pem"))
    finally:
        os.umask(old)
    path = isolated_home / "config" / "config.json"
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    data = json.loads(path.read_text())
    assert data["version"] == 1
    assert data["profiles"]["default"]["identity_name"] == "ci-bot"
    assert "name" not in data["profiles"]["default"]
    assert load_profile("default") == _profile(skip_ssl_validation=True, ca_bundle="/etc/ca.pem")
    assert load_profile("other") is None


def test_missing_keys_default_and_unknown_keys_survive(isolated_home: Path) -> None:
    path = isolated_home / "config" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "future_top": {"x": 1},
                "profiles": {"p": {"endpoint": "https://e", "future_key": [1, 2]}},
            }
        )
    )
    p = load_profile("p")
    assert p is not None
    assert (p.flavor, p.namespace, p.secret_store, p.has_refresh_token) == (
        "cloud",
        "default",
        "keyring",
        False,
    )
    p.identity_name = "renamed"
    save_profile(p)
    data = json.loads(path.read_text())
    assert data["future_top"] == {"x": 1}
    assert data["profiles"]["p"]["future_key"] == [1, 2]
    assert data["profiles"]["p"]["identity_name"] == "renamed"


@pytest.mark.parametrize(
    ("key", "value"),
    [("flavor", "public"), ("skip_ssl_validation", "yes"), ("endpoint", 5), ("secret_store", None)],
)
def test_invalid_field_names_the_file(isolated_home: Path, key: str, value: object) -> None:
    path = isolated_home / "config" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"version": 1, "profiles": {"p": {key: value}}}))
    with pytest.raises(IamcliError) as info:
        load_profile("p")
    assert str(path) in str(info.value) and repr(key) in str(info.value)


@pytest.mark.parametrize(
    "content",
    ['{"version": 1, "profiles": {', "[]", '{"version": 1, "profiles": []}', "\xff\xfe"],
)
def test_corrupt_config_is_a_clear_error(isolated_home: Path, content: str) -> None:
    path = isolated_home / "config" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="latin-1")
    with pytest.raises(IamcliError) as info:
        list_profiles()
    assert str(path) in str(info.value)
    with pytest.raises(IamcliError):
        save_profile(_profile())
    assert path.read_text(encoding="latin-1") == content  # never overwritten


def test_newer_config_version_is_refused(isolated_home: Path) -> None:
    path = isolated_home / "config" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"version": 2, "profiles": {}}')
    with pytest.raises(IamcliError, match="newer"):
        load_profile("default")


def test_list_and_delete(isolated_home: Path) -> None:
    assert list_profiles() == []
    assert delete_profile("nope") is False
    for name in ("b", "a", "c"):
        save_profile(_profile(name))
    assert [p.name for p in list_profiles()] == ["a", "b", "c"]
    assert delete_profile("b") is True
    assert delete_profile("b") is False
    assert [p.name for p in list_profiles()] == ["a", "c"]
    leftovers = [p.name for p in (isolated_home / "config").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_lock_wait_is_bounded(isolated_home: Path) -> None:
    save_profile(_profile())
    lock = isolated_home / "config" / "config.json.lock"
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(IamcliError, match=r"timed out after 0\.2 s waiting for the lock"):
            save_profile(_profile(identity_name="changed"), lock_timeout=0.2)
        assert time.monotonic() - started < 2
    finally:
        os.close(fd)
    loaded = load_profile("default")
    assert loaded is not None and loaded.identity_name == "ci-bot"


def test_concurrent_writers_lose_nothing(isolated_home: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from iamcli.config import Profile, save_profile
        n = sys.argv[1]
        for i in range(20):
            save_profile(Profile(name=f"p{n}", endpoint=f"https://e/{i}", identity_name=n))
        """
    )
    env = {**os.environ, "IAMCLI_HOME": str(isolated_home)}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(n)], env=env) for n in range(16)]
    assert [p.wait(timeout=60) for p in procs] == [0] * 16
    data = json.loads((isolated_home / "config" / "config.json").read_text())
    assert sorted(data["profiles"]) == sorted(f"p{n}" for n in range(16))
    assert {v["endpoint"] for v in data["profiles"].values()} == {"https://e/19"}


def test_readers_see_complete_files_during_writes(isolated_home: Path) -> None:
    save_profile(_profile("seed"))
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from iamcli.config import Profile, save_profile\n"
            "for i in range(200): save_profile(Profile(name='w', endpoint=str(i) * 500))",
        ],
        env={**os.environ, "IAMCLI_HOME": str(isolated_home)},
    )
    reads = 0
    while writer.poll() is None:
        assert any(p.name == "seed" for p in list_profiles())
        reads += 1
    assert writer.returncode == 0 and reads > 0


def test_config_import_is_cheap() -> None:
    code = (
        "import sys, iamcli.config as c; c.dirs(); "
        "print(sorted(m for m in ('platformdirs', 'httpx', 'keyring', 'rich', 'typer') "
        "if m in sys.modules))"
    )
    env = {**os.environ, "IAMCLI_HOME": "/nonexistent"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_lock_timeout_default_is_ten_seconds() -> None:
    assert config.LOCK_TIMEOUT == 10.0
