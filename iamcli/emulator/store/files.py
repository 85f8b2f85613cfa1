"""Trust in the files `iamcli serve` keeps its secrets in.

The database holds the token signing key, and the seal key file unlocks stored API key values:
whoever can read either can forge any token or read those keys. So, as ssh's StrictModes does
for its keys, a file the server did not make private is not used:

- the database, its seal key and SQLite's side files (-wal, -shm, -journal) must be regular
  files (not symbolic links) owned by the user running the server, with no permission for
  group or others; the server makes its own that way;
- the directory that holds them must belong to that user (or root) and be writable by no one
  else, unless it is sticky like /tmp (where others cannot replace a file they do not own);
- directories the server creates are 0700, parents included, whatever the umask.

A refusal names the file and the fix; nothing is changed on the user's behalf, because a file
that was readable may already have been read.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .records import StoreError

SIDE_FILES = ("-wal", "-shm", "-journal")


class StoreFileError(StoreError):
    """The store's files cannot be used: untrusted, unreadable, read-only or damaged."""


def private_dirs(directory: Path) -> None:
    """Create `directory` and its missing parents, each 0700 whatever the umask."""
    missing = []
    probe = directory
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for made in reversed(missing):
        try:
            made.mkdir(mode=0o700)
        except FileExistsError:
            continue
        except OSError as exc:
            raise StoreFileError(f"cannot create directory {made}: {exc.strerror}") from None
        os.chmod(made, 0o700)  # mkdir's mode passes through the umask, which may add nothing


def check_dir(directory: Path) -> None:
    try:
        st = directory.stat()
    except OSError as exc:
        raise StoreFileError(f"cannot use directory {directory}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise StoreFileError(f"{directory} is not a directory")
    if st.st_uid not in (os.geteuid(), 0):
        raise StoreFileError(
            f"directory {directory} belongs to another user, who could replace the server's "
            "files; keep the database in a directory of your own"
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
        raise StoreFileError(
            f"directory {directory} is writable by other users, who could replace the "
            f"server's files; run: chmod go-w {directory}"
        )


def check_file(path: str, st: os.stat_result, what: str) -> None:
    """Refuse a file another user owns or may read or write (see the module's rules)."""
    if stat.S_ISLNK(st.st_mode):
        raise StoreFileError(f"{what} {path} is a symbolic link; refusing to follow it")
    if not stat.S_ISREG(st.st_mode):
        raise StoreFileError(f"{what} {path} is not a regular file")
    if st.st_uid != os.geteuid():
        raise StoreFileError(
            f"{what} {path} belongs to another user; iamcli serve trusts only its own user's files"
        )
    if st.st_mode & 0o077:
        raise StoreFileError(
            f"{what} {path} is open to other users (mode {stat.S_IMODE(st.st_mode):04o}): "
            "whoever read it could forge tokens or unseal API keys; if no one did, run: "
            f"chmod 600 {path}"
        )


def open_private(path: str, flags: int, what: str) -> int:
    """A descriptor of `path`, made 0600 when `flags` creates it, after check_file."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise _open_error(path, exc, what) from None
    try:
        check_file(path, os.fstat(fd), what)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_side_files(db: str) -> None:
    """SQLite opens these beside the database as they are; one left by another user would hold
    (or receive) pages of the database."""
    for suffix in SIDE_FILES:
        path = db + suffix
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise _open_error(path, exc, "database file") from None
        check_file(path, st, "database file")


def _open_error(path: str, exc: OSError, what: str) -> StoreFileError:
    if exc.errno == errno.ELOOP:
        return StoreFileError(f"{what} {path} is a symbolic link; refusing to follow it")
    if exc.errno == errno.EISDIR:
        return StoreFileError(f"{what} {path} is a directory")
    fix = "iamcli serve needs to write it: use a writable copy, or --db :memory:"
    if exc.errno == errno.EROFS:
        return StoreFileError(f"{what} {path} is on a read-only file system; {fix}")
    if exc.errno in (errno.EACCES, errno.EPERM) and os.path.lexists(path):
        return StoreFileError(f"{what} {path} is read-only for this user; {fix}")
    return StoreFileError(f"cannot open {what} {path}: {exc.strerror}")
