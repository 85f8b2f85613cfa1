"""Where iamcli's files live, and which profile and environment key a run is for.

Standard library only, and only its cheapest parts (no pathlib, re or dataclasses): this module
is on the path of `iamcli oauth-tokens` with a cached token, where every import is paid on each
run. `config.dirs()` builds on it, so there is one answer to "where".
"""

from __future__ import annotations

import os
import sys

DEFAULT_PROFILE = "default"
FLAVORS = ("cloud", "private")
# IAMCLI_TRACE values that mean "no trace".
TRACE_OFF = frozenset({"false", "0", "no", "off", ""})
# Environment variables that hold an API key, in order of precedence.
ENV_KEYS = ("IAMCLI_API_KEY", "IBMCLOUD_API_KEY")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def base_dirs() -> tuple[str, str, str] | None:
    """(config, cache, data) directories, or None where only platformdirs knows them.

    `IAMCLI_HOME` puts all three under one directory. On Linux and the BSDs the XDG base
    directory rules answer directly (what platformdirs answers there too), which keeps
    platformdirs off the hot path; elsewhere the caller asks platformdirs.
    """
    home = os.environ.get("IAMCLI_HOME")
    if home:
        base = os.path.expanduser(home)
        return (
            os.path.join(base, "config"),
            os.path.join(base, "cache"),
            os.path.join(base, "data"),
        )
    if sys.platform == "darwin" or sys.platform.startswith(("win", "cygwin")):
        return None
    user = os.path.expanduser("~")

    def xdg(var: str, default: str) -> str:
        value = os.environ.get(var, "").strip()
        return os.path.join(
            value if os.path.isabs(value) else os.path.join(user, default), "iamcli"
        )

    return (
        xdg("XDG_CONFIG_HOME", ".config"),
        xdg("XDG_CACHE_HOME", ".cache"),
        xdg("XDG_DATA_HOME", os.path.join(".local", "share")),
    )


def is_valid_profile_name(name: str) -> bool:
    return 0 < len(name) <= 64 and set(name) <= _NAME_CHARS and set(name) != {"."}


def profile_name_from(flag: str | None) -> tuple[str, str]:
    """(name, where it came from): `--profile`, else `IAMCLI_PROFILE`, else `default`.
    Not validated here; see config.select_profile_name."""
    if flag is not None:
        return flag, "--profile"
    env = os.environ.get("IAMCLI_PROFILE")
    if env:
        return env, "IAMCLI_PROFILE"
    return DEFAULT_PROFILE, "default"


def env_api_key_name() -> str | None:
    """The environment variable that holds an API key, if one does (its value is not read)."""
    return next((v for v in ENV_KEYS if os.environ.get(v, "").strip()), None)


# --- trust -----------------------------------------------------------------------------------
# What iamcli reads back (its configuration, the plaintext credentials, the token cache) must be
# in a place no other user can change, as ssh's StrictModes demands of ~/.ssh: the file and
# every directory above it up to the iamcli home (IAMCLI_HOME, else each platform directory's
# `iamcli` folder) owned by this user (directories may also be root's) and not writable by
# group or others (unless sticky, as /tmp). Where there are no POSIX owners (Windows), the
# OS's ACLs decide instead.


def trust_roots() -> tuple[str, ...] | None:
    """Where the trust walk stops, or None where only platformdirs knows (see config)."""
    home = os.environ.get("IAMCLI_HOME")
    if home:
        return (os.path.abspath(os.path.expanduser(home)),)
    known = base_dirs()
    return None if known is None else tuple(os.path.abspath(d) for d in known)


def untrusted(st: os.stat_result, *, directory: bool) -> str | None:
    """Why a file or directory with this stat could have been changed by another user."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return None
    if st.st_uid != getuid() and not (directory and st.st_uid == 0):
        return "belongs to another user"
    # A sticky directory (/tmp) lets others add entries but not replace or remove ours.
    if st.st_mode & 0o022 and not (directory and st.st_mode & 0o1000):
        return "is writable by group or others"
    return None


def untrusted_dirs(directory: str, roots: tuple[str, ...]) -> tuple[str, str] | None:
    """``(path, why)`` for the first directory from ``directory`` up to the root it is in
    (inclusive) that another user could change; None when all are safe. Directories that do
    not exist yet are skipped (they will be made private)."""
    current = os.path.abspath(directory)
    stops = set(roots)
    while True:
        try:
            st = os.stat(current)
        except OSError:
            pass  # not there (yet), or not a directory: what uses it fails, and says so
        else:
            why = untrusted(st, directory=True)
            if why is not None:
                return current, why
        parent = os.path.dirname(current)
        if current in stops or parent == current:
            return None
        current = parent


def trust_hint(path: str, why: str) -> str:
    if why == "is writable by group or others":
        return f"run 'chmod go-w {path}' if that is safe, or set IAMCLI_HOME to a private directory"
    return f"set IAMCLI_HOME to a directory you own, or make {path} yours"
