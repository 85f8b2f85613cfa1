"""Durations as people type them on the command line: `90s`, `10m`, `1h`, `2d`, `90d`.

One parser for every flag that takes a duration (`--expires-in`, `--min-valid`, ...), so that
the same text means the same length everywhere. A bare number is seconds, as `sleep` reads it.
"""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_TERM = re.compile(r"(\d{1,10})([smhdw]?)")
# Far past any token or key lifetime, and small enough that epoch arithmetic never overflows.
MAX_SECONDS = 100 * 365 * 86400


class DurationError(ValueError):
    """The text is not a duration; the message is one line fit for a usage error."""


def parse_duration(text: str) -> int:
    """Seconds in TEXT: one or more `<number><unit>` terms (`1h30m`), unit one of s m h d w."""
    raw = text.strip().lower()
    pos, total = 0, 0
    while pos < len(raw):
        m = _TERM.match(raw, pos)
        if m is None:
            break
        total += int(m[1]) * _UNITS[m[2] or "s"]
        pos = m.end()
    if not raw or pos != len(raw):
        raise DurationError(
            f"{text[:40]!r} is not a duration: use a number and a unit, such as 90s, 10m, 1h or 2d"
        )
    if total <= 0:
        raise DurationError(f"{text[:40]!r} is not a duration: it must be longer than zero")
    if total > MAX_SECONDS:
        raise DurationError(f"{text[:40]!r} is too long: at most 100 years")
    return total


def describe(seconds: int) -> str:
    """The shortest exact spelling of SECONDS, as parse_duration reads it back."""
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"
