"""Where iamcli keeps its files, and the profiles in ``config.json``.

Layout: ``$IAMCLI_HOME/{config,cache,data}`` when ``IAMCLI_HOME`` is set, else the platform's
user config, cache and data dirs (platformdirs). ``config.json`` holds non-secret session
state only::

    {"version": 1, "profiles": {"default": {"endpoint": "...", "flavor": "cloud", ...}}}

Every write is a read-modify-write under an exclusive ``flock`` on a sibling ``.lock`` file,
through a 0600 temp file that is fsync'd and renamed over the old one, so parallel runs (CI
matrices, shells) never lose each other's profiles (``ibmcloud`` does: ibm-cloud-cli-sdk#239).
Readers take no lock: the rename is atomic.

The file primitives here (:func:`file_lock`, :func:`write_private_json`, :func:`read_json`) are
also used by the token cache and the plaintext credential store.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from iamcli import bounded_json, paths
from iamcli.errors import IamcliError, UsageError

# typing and secrets stay out of the runtime imports: this module is on the cached-token path,
# where every import is paid on each run. Hence no `from typing import TYPE_CHECKING` either;
# mypy treats a name TYPE_CHECKING as true all the same.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

    Flavor = Literal["cloud", "private"]
    IdentityKind = Literal["user", "serviceid"]
    SecretStore = Literal["keyring", "file", "env"]

CONFIG_VERSION = 1
DEFAULT_PROFILE = paths.DEFAULT_PROFILE
LOCK_TIMEOUT = 10.0


@dataclass(frozen=True)
class Dirs:
    config: Path
    cache: Path
    data: Path


def dirs() -> Dirs:
    """The config, cache and data directories (not created; see :func:`ensure_private_dir`)."""
    known = paths.base_dirs()
    if known is not None:
        return Dirs(Path(known[0]), Path(known[1]), Path(known[2]))
    # Only where the XDG rules do not apply (macOS, Windows).
    import platformdirs

    return Dirs(
        Path(platformdirs.user_config_dir("iamcli", appauthor=False)),
        Path(platformdirs.user_cache_dir("iamcli", appauthor=False)),
        Path(platformdirs.user_data_dir("iamcli", appauthor=False)),
    )


def trust_roots() -> tuple[str, ...]:
    """Where a walk up from one of iamcli's files stops (see paths.untrusted_dirs)."""
    roots = paths.trust_roots()
    if roots is not None:
        return roots
    d = dirs()
    return (str(d.config), str(d.cache), str(d.data))


def check_trusted_dirs(directory: Path, *, reading: Path | None = None) -> None:
    """Refuse ``directory`` when it, or one above it up to the iamcli home, could be changed by
    another user: what is read from there (or written there) could then be theirs."""
    found = paths.untrusted_dirs(str(directory), trust_roots())
    if found is None:
        return
    where, why = found
    doing = f"refusing to read {reading}" if reading else f"refusing to use {directory}"
    raise IamcliError(f"{doing}: {where} {why}", hint=paths.trust_hint(where, why))


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as 0700 whatever the umask, and tighten it if we own it.

    Refuses a directory owned by someone else, or one that it or a directory above it (up to
    the iamcli home) is writable by group or others: secrets must not go where another user
    can swap files. Such a directory is refused, not tightened: what is in it may already be
    someone else's.
    """
    check_trusted_dirs(path)  # before anything is made in a place that is not ours
    try:
        # Every directory made here is private, parents included (mkdir(parents=True) would
        # give the parents the umask's mode).
        missing = []
        probe = path
        while not probe.exists() and probe != probe.parent:
            missing.append(probe)
            probe = probe.parent
        for directory in reversed(missing):
            with contextlib.suppress(FileExistsError):
                directory.mkdir(mode=0o700)
                os.chmod(directory, 0o700)
        st = path.stat()
    except FileExistsError:
        raise IamcliError(f"{path} exists and is not a directory") from None
    except OSError as exc:
        raise IamcliError(f"cannot create directory {path}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise IamcliError(f"{path} exists and is not a directory")
    if st.st_uid != os.getuid():
        raise IamcliError(
            f"{path} belongs to another user; iamcli keeps private files only in its own "
            "directories",
            hint="set IAMCLI_HOME to a directory you own",
        )
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def validate_profile_name(name: str, *, source: str = "--profile") -> str:
    if not paths.is_valid_profile_name(name):
        raise UsageError(
            f"invalid profile name {name!r} (from {source})",
            hint="use 1 to 64 letters, digits, '.', '_' or '-'",
        )
    return name


def select_profile_name(flag: str | None) -> str:
    """``--profile NAME``, else ``IAMCLI_PROFILE``, else ``default``; validated."""
    name, source = paths.profile_name_from(flag)
    return validate_profile_name(name, source=source)


@dataclass
class Profile:
    """One login: where, as whom, and where its secrets live (never the secrets)."""

    name: str
    endpoint: str = ""
    flavor: Flavor = "cloud"
    account_id: str | None = None
    iam_id: str = ""
    identity_name: str = ""
    identity_kind: IdentityKind = "user"
    skip_ssl_validation: bool = False
    ca_bundle: str | None = None
    secret_store: SecretStore = "keyring"
    has_refresh_token: bool = False
    namespace: str = "default"
    cluster_name: str | None = None
    logged_in_at: str = ""
    # Keys written by a newer iamcli: kept so that an older one does not drop them on save.
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        known = {name: getattr(self, name) for name in _FIELD_TYPES}
        return {**self.extra, **known}

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any], *, source: Path) -> Profile:
        values: dict[str, Any] = {}
        for key, types in _FIELD_TYPES.items():
            if key not in data:
                continue
            value = data[key]
            # bool is an int; no field here takes an int, so a plain isinstance check is fine.
            if not isinstance(value, types) or value not in _CHOICES.get(key, (value,)):
                raise IamcliError(
                    f"{source}: profile {name!r} has an invalid {key!r}",
                    hint=f"fix the file, or run 'iamcli logout --profile {name}' and log in again",
                )
            values[key] = value
        extra = {k: v for k, v in data.items() if k not in _FIELD_TYPES and k != "name"}
        return cls(name=name, extra=extra, **values)


_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "endpoint": str,
    "flavor": str,
    "account_id": (str, type(None)),
    "iam_id": str,
    "identity_name": str,
    "identity_kind": str,
    "skip_ssl_validation": bool,
    "ca_bundle": (str, type(None)),
    "secret_store": str,
    "has_refresh_token": bool,
    "namespace": str,
    "cluster_name": (str, type(None)),
    "logged_in_at": str,
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "flavor": ("cloud", "private"),
    "identity_kind": ("user", "serviceid"),
    "secret_store": ("keyring", "file", "env"),
}


def config_path() -> Path:
    return dirs().config / "config.json"


def load_profile(name: str) -> Profile | None:
    validate_profile_name(name)
    path = config_path()
    raw = _profiles(_read_config(path), path).get(name)
    return None if raw is None else Profile.from_dict(name, _as_dict(raw, path, name), source=path)


def list_profiles() -> list[Profile]:
    path = config_path()
    profiles = _profiles(_read_config(path), path)
    return [
        Profile.from_dict(name, _as_dict(raw, path, name), source=path)
        for name, raw in sorted(profiles.items())
    ]


def save_profile(profile: Profile, *, lock_timeout: float = LOCK_TIMEOUT) -> None:
    validate_profile_name(profile.name)
    path = config_path()
    ensure_private_dir(path.parent)
    with file_lock(_lock_path(path), timeout=lock_timeout, what="the configuration"):
        config = _read_config(path)
        _profiles(config, path)[profile.name] = profile.to_dict()
        write_private_json(path, config)


def delete_profile(name: str, *, lock_timeout: float = LOCK_TIMEOUT) -> bool:
    """Remove a profile; False when there was none."""
    validate_profile_name(name)
    path = config_path()
    if not path.exists():
        return False
    with file_lock(_lock_path(path), timeout=lock_timeout, what="the configuration"):
        config = _read_config(path)
        profiles = _profiles(config, path)
        if name not in profiles:
            return False
        del profiles[name]
        write_private_json(path, config)
        return True


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = read_json(path)
    except ValueError as exc:
        raise IamcliError(f"{path} is not valid JSON ({exc}); fix it or move it away") from None
    except OSError as exc:
        raise IamcliError(f"cannot read {path}: {exc.strerror or exc}") from None
    if data is None:
        return {"version": CONFIG_VERSION, "profiles": {}}
    if not isinstance(data, dict):
        raise IamcliError(f"{path} is not an iamcli configuration (expected a JSON object)")
    version = data.get("version", CONFIG_VERSION)
    if not isinstance(version, int) or version > CONFIG_VERSION:
        raise IamcliError(
            f"{path} has configuration version {version!r}, newer than this iamcli understands",
            hint="upgrade iamcli",
        )
    data.setdefault("profiles", {})
    return data


def _profiles(config: dict[str, Any], path: Path) -> dict[str, Any]:
    profiles = config["profiles"]
    if not isinstance(profiles, dict):
        raise IamcliError(f"{path}: 'profiles' is not a JSON object; fix it or move it away")
    return profiles


def _as_dict(raw: Any, path: Path, name: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise IamcliError(f"{path}: profile {name!r} is not a JSON object")
    return raw


# --- file primitives -------------------------------------------------------------------------


@contextlib.contextmanager
def file_lock(path: Path, *, timeout: float, what: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created 0600), waiting at most ``timeout`` s.

    The lock file is never removed: removing it would let two processes lock two different
    inodes. The kernel drops the lock when the holder exits, so a crash cannot leave it stuck.
    """
    ensure_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise IamcliError(f"cannot open the lock file {path}: {exc.strerror or exc}") from None
    try:
        deadline = time.monotonic() + timeout
        pause = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IamcliError(
                        f"timed out after {timeout:g} s waiting for the lock on {what} ({path})",
                        hint="another iamcli process is holding it; wait for it to finish",
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.1)
        yield
    finally:
        os.close(fd)


# iamcli's own files are a few kilobytes; anything far larger is not one of them.
MAX_FILE = 1024 * 1024


def read_json(path: Path, *, max_bytes: int = MAX_FILE) -> Any:
    """The decoded JSON in ``path``, or None when the file does not exist.

    The file and the directories above it must be ones no other user can change (IamcliError
    otherwise, naming the path and the fix); it is read only up to ``max_bytes`` and decoded
    only to bounded_json's depth. Raises ValueError for a file that is not such JSON, OSError
    when it cannot be read.
    """
    check_trusted_dirs(path.parent, reading=path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IamcliError(f"{path} is not a regular file; move it away")
        why = paths.untrusted(st, directory=False)
        if why is not None:
            raise IamcliError(
                f"refusing to read {path}: it {why}", hint=paths.trust_hint(str(path), why)
            )
        data = _read_at_most(fd, max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise IamcliError(f"{path} is larger than {max_bytes // 1024} KiB; fix it or move it away")
    return bounded_json.loads(data)


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def write_private_json(path: Path, obj: Any) -> None:
    text = json.dumps(obj, indent=2, ensure_ascii=False)
    try:
        data = text.encode()
    except UnicodeEncodeError:
        # A lone surrogate (valid in JSON text, e.g. a name from a server) has no UTF-8 form:
        # escaped, it reads back as the same string.
        data = json.dumps(obj, indent=2).encode()
    write_private_file(path, data + b"\n")


def write_private_file(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with a 0600 file holding ``data``.

    Written to a temp file in the same directory (so the rename cannot cross file systems),
    fsync'd, renamed, then the directory is fsync'd so the rename survives a crash.
    """
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    try:
        create_private_file(tmp, data)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise IamcliError(f"cannot write {path}: {exc.strerror or exc}") from None
    fsync_dir(path.parent)


def create_private_file(path: str | Path, data: bytes) -> None:
    """Create ``path`` (which must not exist, nor be a symlink) as 0600, write, fsync."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        # open() can only narrow the mode through the umask; make it exactly 0600 so the owner
        # can read the file back even under an odd umask such as 0o277.
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
