"""Attribute operators and v2 rule conditions (reference/profiles-policies-authz.md §3.1-§3.2).

Attribute values are matched as IBM documents: `stringEquals`, `stringMatch` (`*` any run, `?` one
character, `{{*}}` `{{?}}` `{{$}}` the literal characters), `stringExists` (true: present, false:
absent), `stringEqualsAnyOf`, `stringMatchAnyOf`. Time conditions compare the server's clock:
`dateTime…` against an RFC 3339 instant, `time…` against `hh:mm:ss±hh:mm` in that offset's local
time, `dayOfWeek…` against `d±hh:mm` (1 = Monday … 7 = Sunday) in that offset.
An operator or key the engine does not know makes the condition false: a policy that cannot be
understood grants nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})$")
_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2}))?([+-]\d{2}:\d{2})$")
_DAY = re.compile(r"^([1-7])([+-]\d{2}:\d{2})?$")
_ENV = "{{environment.attributes."
_RESOURCE = "{{resource.attributes."
_SUBJECT = "{{subject.attributes."

STRING_OPERATORS = frozenset(
    {"stringEquals", "stringMatch", "stringExists", "stringEqualsAnyOf", "stringMatchAnyOf"}
)
TIME_OPERATORS = frozenset(
    {
        "dateTimeGreaterThanOrEquals",
        "dateTimeLessThanOrEquals",
        "timeGreaterThanOrEquals",
        "timeLessThanOrEquals",
        "dayOfWeekAnyOf",
        "dayOfWeekEquals",
    }
)
OPERATORS = STRING_OPERATORS | TIME_OPERATORS


@lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        literal = next((c for c in "*?$" if pattern.startswith("{{" + c + "}}", i)), None)
        if literal is not None:
            out.append(re.escape(literal))
            i += 5
            continue
        c = pattern[i]
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def string_matches(operator: str, expected: Any, actual: str | None) -> bool:
    if operator == "stringExists":
        return (actual is not None) == (expected is True or expected == "true")
    if actual is None:
        return False
    if operator == "stringEquals":
        return isinstance(expected, str) and actual == expected
    if operator == "stringMatch":
        return isinstance(expected, str) and _glob(expected).fullmatch(actual) is not None
    if operator in ("stringEqualsAnyOf", "stringMatchAnyOf"):
        if not isinstance(expected, list):
            return False
        single = "stringEquals" if operator == "stringEqualsAnyOf" else "stringMatch"
        return any(string_matches(single, e, actual) for e in expected)
    return False


def _offset(text: str) -> timezone | None:
    m = _OFFSET.search(text)
    if m is None:
        return None
    delta = timedelta(hours=int(m[2]), minutes=int(m[3]))
    return timezone(-delta if m[1] == "-" else delta)


def _instant(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _time_of_day(text: Any) -> tuple[int, timezone] | None:
    if not isinstance(text, str):
        return None
    m = _TIME.match(text)
    zone = _offset(text)
    if m is None or zone is None:
        return None
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3] or 0), zone


def _day(text: Any) -> tuple[int, timezone] | None:
    if isinstance(text, int):
        text = str(text)
    if not isinstance(text, str):
        return None
    m = _DAY.match(text)
    if m is None:
        return None
    return int(m[1]), (_offset(m[2]) if m[2] else None) or UTC


def time_holds(operator: str, expected: Any, now: float) -> bool:
    at = datetime.fromtimestamp(now, UTC)
    if operator.startswith("dateTime"):
        bound = _instant(expected)
        if bound is None:
            return False
        return at >= bound if operator.endswith("GreaterThanOrEquals") else at <= bound
    if operator.startswith("time"):
        parsed = _time_of_day(expected)
        if parsed is None:
            return False
        seconds, zone = parsed
        local = at.astimezone(zone)
        current = local.hour * 3600 + local.minute * 60 + local.second
        return (
            current >= seconds if operator.endswith("GreaterThanOrEquals") else current <= seconds
        )
    if operator in ("dayOfWeekAnyOf", "dayOfWeekEquals"):
        values = expected if operator == "dayOfWeekAnyOf" else [expected]
        if not isinstance(values, list):
            return False
        for value in values:
            parsed_day = _day(value)
            if (
                parsed_day is not None
                and at.astimezone(parsed_day[1]).isoweekday() == parsed_day[0]
            ):
                return True
        return False
    return False


def rule_holds(
    rule: dict[str, Any] | None,
    *,
    now: float,
    resource: dict[str, str],
    subject: dict[str, str],
    depth: int = 0,
) -> bool:
    """Whether a v2 `rule` ({key, operator, value} or {operator: and|or, conditions}) holds."""
    if rule is None:
        return True
    if depth > 3:
        return False
    conditions = rule.get("conditions")
    if conditions is not None:
        if not isinstance(conditions, list) or not conditions:
            return False
        results = (
            rule_holds(c, now=now, resource=resource, subject=subject, depth=depth + 1)
            if isinstance(c, dict)
            else False
            for c in conditions
        )
        op = rule.get("operator")
        if op == "and":
            return all(results)
        if op == "or":
            return any(results)
        return False
    key, operator, value = rule.get("key"), rule.get("operator"), rule.get("value")
    if not isinstance(key, str) or not isinstance(operator, str):
        return False
    if key.startswith(_ENV):
        return operator in TIME_OPERATORS and time_holds(operator, value, now)
    for prefix, attrs in ((_RESOURCE, resource), (_SUBJECT, subject)):
        if key.startswith(prefix) and key.endswith("}}"):
            name = key[len(prefix) : -2]
            return operator in STRING_OPERATORS and string_matches(operator, value, attrs.get(name))
    return False
