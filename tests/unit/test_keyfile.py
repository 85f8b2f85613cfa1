from __future__ import annotations

import errno
import io
import json
import os
import stat
from pathlib import Path

import pytest

from iamcli.errors import FileExportError, UsageError
from iamcli.keyfile import check_export_target, read_secret_arg, write_key_file

KEY = "AbCdEf0123456789_-xyzKEY"
DATA = {"name": "deploy", "description": "d", "apikey": KEY, "createdAt": "2026-11-27T10:00+0000"}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp") or "probe" in p.name]


# --- read_secret_arg -----------------------------------------------------------------------------


def test_literal_is_stripped() -> None:
    assert read_secret_arg(f"  {KEY}\n", stdin=None) == KEY


def test_dash_reads_all_of_stdin() -> None:
    assert read_secret_arg("-", stdin=io.StringIO(f"{KEY}\n")) == KEY


def test_dash_without_stdin_names_the_source() -> None:
    with pytest.raises(UsageError, match="IAMCLI_API_KEY cannot be '-'"):
        read_secret_arg("-", stdin=None, source="IAMCLI_API_KEY")


def test_at_file_with_a_raw_key(tmp_path: Path) -> None:
    (tmp_path / "key.txt").write_text(f"{KEY}\n")
    assert read_secret_arg(f"@{tmp_path / 'key.txt'}", stdin=None) == KEY


@pytest.mark.parametrize("field", ["apikey", "apiKey"])
def test_at_file_with_exported_json(tmp_path: Path, field: str) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps({"name": "n", field: KEY}, indent="\t"))
    assert read_secret_arg(f"@{path}", stdin=None) == KEY


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"name": "n"}', "has no 'apikey' field"),
        ('{"apikey": ', "cannot be parsed"),
        ("   \n", "is empty"),
        (f"{KEY} {KEY}", "contains whitespace"),
    ],
)
def test_bad_key_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "key"
    path.write_text(content)
    with pytest.raises(UsageError, match=message) as info:
        read_secret_arg(f"@{path}", stdin=None)
    assert KEY not in str(info.value)
    assert str(path) in str(info.value)


def test_unreadable_file_names_the_path_not_the_content(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        read_secret_arg(f"@{tmp_path / 'missing'}", stdin=None)
    assert (
        str(info.value)
        == f"cannot read the key file {tmp_path / 'missing'}: No such file or directory"
    )


@pytest.mark.parametrize("value", ["", "   ", f"{KEY} x", "a\tb"])
def test_empty_or_spaced_literals_are_refused(value: str) -> None:
    with pytest.raises(UsageError) as info:
        read_secret_arg(value, stdin=None)
    assert KEY not in str(info.value)


# --- check_export_target -------------------------------------------------------------------------


def test_dash_and_a_new_file_are_fine(tmp_path: Path) -> None:
    check_export_target("-", force=False)
    check_export_target(str(tmp_path / "new.json"), force=False)
    assert _no_temp_files(tmp_path)


def test_existing_file_needs_force(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text("old")
    with pytest.raises(FileExportError, match=r"k\.json exists; use --force to overwrite"):
        check_export_target(str(path), force=False)
    check_export_target(str(path), force=True)


@pytest.mark.parametrize("force", [False, True])
def test_symlink_is_refused_even_with_force(tmp_path: Path, force: bool) -> None:
    (tmp_path / "target").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for name in ("link", "dangling"):
        with pytest.raises(FileExportError, match="symbolic link"):
            check_export_target(str(tmp_path / name), force=force)


def test_directory_and_missing_parent_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FileExportError, match="is a directory"):
        check_export_target(str(tmp_path), force=True)
    with pytest.raises(FileExportError, match="does not exist"):
        check_export_target(str(tmp_path / "no" / "k.json"), force=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a 0500 directory")
def test_unwritable_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(FileExportError, match="cannot create files in"):
            check_export_target(str(folder / "k.json"), force=False)
    finally:
        folder.chmod(0o700)


def test_unwritable_directory_is_refused_by_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Works as root too: the probe's create is what fails, as it would on a read-only mount.
    real_open = os.open

    def deny(path: str, flags: int, mode: int = 0o777) -> int:
        if os.path.dirname(path) == str(tmp_path) and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(FileExportError) as info:
        check_export_target(str(tmp_path / "k.json"), force=False)
    assert str(info.value) == (
        f"cannot write {tmp_path / 'k.json'}: cannot create files in {tmp_path} (Permission denied)"
    )


# --- write_key_file ------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077, 0o277])
def test_file_is_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "k.json"
    old = os.umask(umask)
    try:
        write_key_file(str(path), DATA, force=False, stdout=io.StringIO())
    finally:
        os.umask(old)
    assert _mode(path) == 0o600
    assert path.read_text() == json.dumps(DATA, indent=2) + "\n"
    assert _no_temp_files(tmp_path)


def test_dash_writes_pretty_json_to_stdout() -> None:
    out = io.StringIO()
    write_key_file("-", DATA, force=False, stdout=out)
    assert out.getvalue() == json.dumps(DATA, indent=2) + "\n"


def test_existing_file_is_kept_without_force_and_replaced_with_force(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text("old")
    with pytest.raises(FileExportError, match="exists; use --force"):
        write_key_file(str(path), DATA, force=False, stdout=io.StringIO())
    assert path.read_text() == "old"
    assert _no_temp_files(tmp_path)
    path.chmod(0o644)
    write_key_file(str(path), DATA, force=True, stdout=io.StringIO())
    assert json.loads(path.read_text()) == DATA
    assert _mode(path) == 0o600


def test_file_that_appears_after_the_check_is_not_clobbered(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    check_export_target(str(path), force=False)
    path.write_text("someone else's")
    with pytest.raises(FileExportError):
        write_key_file(str(path), DATA, force=False, stdout=io.StringIO())
    assert path.read_text() == "someone else's"


def test_symlink_planted_before_a_forced_write_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "victim"
    target.write_text("keep")
    (tmp_path / "k.json").symlink_to(target)
    for force in (False, True):
        with pytest.raises(FileExportError):
            write_key_file(str(tmp_path / "k.json"), DATA, force=force, stdout=io.StringIO())
    assert target.read_text() == "keep"
    assert (tmp_path / "k.json").is_symlink()
    assert _no_temp_files(tmp_path)


def test_failure_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_link(src: str, dst: str) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "link", broken_link)
    path = tmp_path / "k.json"
    with pytest.raises(FileExportError) as info:
        write_key_file(str(path), DATA, force=False, stdout=io.StringIO())
    assert str(info.value) == f"cannot write {path}: Input/output error"
    assert KEY not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_file_systems_without_hard_links_still_get_an_exclusive_create(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: str, dst: str) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "k.json"
    write_key_file(str(path), DATA, force=False, stdout=io.StringIO())
    assert json.loads(path.read_text()) == DATA and _mode(path) == 0o600
    assert _no_temp_files(tmp_path)
    with pytest.raises(FileExportError, match="exists"):
        write_key_file(str(path), DATA, force=False, stdout=io.StringIO())


def test_round_trip_with_read_secret_arg(tmp_path: Path) -> None:
    path = tmp_path / "deploy.json"
    check_export_target(str(path), force=False)
    write_key_file(str(path), DATA, force=False, stdout=io.StringIO())
    assert read_secret_arg(f"@{path}", stdin=None) == KEY
