"""Values offered on TAB for options that take one of a few words, or a local profile.

Completion runs the CLI on every TAB: these read nothing but the config file, and import
nothing heavy.
"""

from __future__ import annotations

from ..paths import FLAVORS
from .flags import OUTPUT_FORMATS

LEAK_ACTIONS = ("none", "disable", "delete")


def _starting(values: tuple[str, ...] | list[str], incomplete: str) -> list[str]:
    return [v for v in values if v.startswith(incomplete)]


def flavors(incomplete: str) -> list[str]:
    return _starting(FLAVORS, incomplete)


def output_formats(incomplete: str) -> list[str]:
    return _starting(OUTPUT_FORMATS, incomplete)


def leak_actions(incomplete: str) -> list[str]:
    return _starting(LEAK_ACTIONS, incomplete)


def profiles(incomplete: str) -> list[str]:
    from ..config import list_profiles

    try:
        return _starting([p.name for p in list_profiles()], incomplete)
    except Exception:  # a broken config must not break the shell's TAB
        return []
