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
