"""Secrets in from arguments, API keys out to files.

In: ``--apikey VALUE | @FILE | -`` (and the same in env vars, minus ``-``). A file holds either
the bare key or the JSON that ``--file`` exports (``{"apikey": ...}``; ``apiKey`` as the private
API spells it).

Out: ``--file PATH``. The path is checked before the key is created, so a bad path never
orphans a key; the file is created 0600 in the target directory, fsync'd, and published
without ever overwriting an existing file unless ``--force`` was given. ``-`` means stdout.

Standard library only. No message here ever contains the secret.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat

from iamcli.config import create_private_file, fsync_dir
from iamcli.errors import FileExportError, UsageError

# Not `from typing import TYPE_CHECKING`: importing typing costs ~5 ms on the fast path;
# mypy treats a name TYPE_CHECKING as true all the same.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

# A key file is a few hundred bytes; anything far larger is the wrong file.
_MAX_KEY_FILE = 64 * 1024


def read_secret_arg(value: str, *, stdin: TextIO | None, source: str = "--apikey") -> str:
    """The secret named by a flag or env value: ``-`` (stdin), ``@PATH`` or a literal.

    ``stdin=None`` disallows ``-`` (an environment variable cannot mean stdin). ``source``
    names the flag or variable in error messages.
    """
    if value == "-":
        if stdin is None:
            raise UsageError(f"{source} cannot be '-': only --apikey reads the key from stdin")
        secret = stdin.read()
        origin = f"stdin ({source} -)"
    elif value.startswith("@"):
        path = os.path.expanduser(value[1:])
        if not path:
            raise UsageError(f"{source}: '@' must be followed by the path of a key file")
        secret = _secret_from_file(path)
        origin = path
    else:
        secret = value
        origin = source
    secret = secret.strip()
    if not secret:
        raise UsageError(f"the API key from {origin} is empty")
    if any(ch.isspace() for ch in secret):
        raise UsageError(f"the API key from {origin} contains whitespace; it is not an API key")
    return secret


def _secret_from_file(path: str) -> str:
    try:
        with open(path, "rb") as f:
            raw = f.read(_MAX_KEY_FILE + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the key file {path}: {exc.strerror or exc}") from None
    if len(raw) > _MAX_KEY_FILE:
        raise UsageError(f"{path} is too large to be an API key file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a text file; expected an API key") from None
    if not text.lstrip().startswith("{"):
        return text
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise UsageError(f"{path} looks like JSON but cannot be parsed") from None
    for key in ("apikey", "apiKey"):
        if isinstance(data, dict) and isinstance(data.get(key), str):
            return str(data[key])
    raise UsageError(f"{path} has no 'apikey' field")


def check_export_target(path: str, *, force: bool) -> None:
    """Fail now, before a key exists, if ``write_key_file(path, ...)`` could not succeed."""
    if path == "-":
        return
    try:
        st: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise FileExportError(f"cannot use {path}: {exc.strerror or exc}") from None
    if st is not None:
        _refuse_existing(path, st, force=force)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileExportError(f"cannot write {path}: directory {parent} does not exist")
    # Permission bits lie (ACLs, read-only mounts, root): prove it by creating a file.
    probe = os.path.join(parent, f".iamcli-probe-{os.urandom(6).hex()}")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise FileExportError(
            f"cannot write {path}: cannot create files in {parent} ({exc.strerror or exc})"
        ) from None
    os.close(fd)
    os.unlink(probe)


def _refuse_existing(path: str, st: os.stat_result, *, force: bool) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise FileExportError(f"{path} is a symbolic link; refusing to write a key through it")
    if stat.S_ISDIR(st.st_mode):
        raise FileExportError(f"{path} is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise FileExportError(f"{path} is not a regular file")
    if not force:
        raise FileExportError(f"{path} exists; use --force to overwrite")


def write_key_file(path: str, data: dict[str, Any], *, force: bool, stdout: TextIO) -> None:
    """Write ``data`` as pretty JSON to ``path`` (0600, atomic), or to stdout for ``-``.

    Without ``force`` an existing file is never replaced, even one that appeared after
    :func:`check_export_target`. On failure nothing is left behind at ``path``.
    """
    from .output import json_text

    text = json_text(data) + "\n"
    if path == "-":
        stdout.write(text)
        stdout.flush()
        return
    parent = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(parent, f".{os.path.basename(path)}.{os.urandom(6).hex()}.tmp")
    try:
        create_private_file(tmp, text.encode())
        if force:
            with contextlib.suppress(FileNotFoundError):
                _refuse_existing(path, os.lstat(path), force=True)
            os.replace(tmp, path)
        else:
            _publish_no_clobber(tmp, path)
    except FileExportError:
        _remove_quietly(tmp)
        raise
    except OSError as exc:
        _remove_quietly(tmp)
        raise FileExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    fsync_dir(parent)


def _publish_no_clobber(tmp: str, path: str) -> None:
    try:
        # link() fails if path exists, which rename() would silently replace.
        os.link(tmp, path)
    except FileExistsError:
        raise FileExportError(f"{path} exists; use --force to overwrite") from None
    except OSError as exc:
        if exc.errno is None or exc.errno not in _NO_HARDLINKS:
            raise
        # Some file systems (vfat, some FUSE and SMB mounts) have no hard links: fall back to
        # an exclusive create. A crash mid-write could then leave a partial file, so remove it
        # on any error we see.
        with open(tmp, "rb") as f:
            data = f.read()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            raise FileExportError(f"{path} exists; use --force to overwrite") from None
        try:
            with os.fdopen(fd, "wb") as out:
                os.fchmod(out.fileno(), 0o600)
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except OSError:
            _remove_quietly(path)  # ours: O_EXCL created it
            raise
    os.unlink(tmp)


_NO_HARDLINKS = frozenset({errno.EPERM, errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP})


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
