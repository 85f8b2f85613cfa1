import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamcli.durations import MAX_SECONDS, DurationError, describe, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("10m", 600),
        ("1h", 3600),
        ("2d", 172800),
        ("90d", 7776000),
        ("45", 45),
        ("1h30m", 5400),
        (" 12H ", 43200),
        ("1w", 604800),
    ],
)
def test_parses(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "h", "1x", "-1h", "1.5h", "0s", "1h 2m", "1e9", "99999999999w", "9999999999w"]
)
def test_refuses_with_one_line(text: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    assert "\n" not in str(info.value)


@given(st.integers(min_value=1, max_value=MAX_SECONDS))
def test_describe_round_trips(seconds: int) -> None:
    assert parse_duration(describe(seconds)) == seconds


@given(st.text(max_size=30))
def test_never_raises_anything_else(text: str) -> None:
    with contextlib.suppress(DurationError):
        assert 0 < parse_duration(text) <= MAX_SECONDS


def test_expires_in_is_ibm_time_rounded_up_to_the_minute() -> None:
    import datetime

    from iamcli.errors import UsageError
    from iamcli.services.identities import expiry

    now = datetime.datetime(2026, 1, 31, 23, 59, 30, tzinfo=datetime.UTC)
    assert expiry("90d", now=now) == "2026-05-02T00:00+0000"
    assert expiry("10s", now=now) == "2026-02-01T00:00+0000"
    assert expiry("2027-01-31", now=now) == "2027-01-31T00:00+0000"
    assert expiry("2027-01-31T18:30+0000", now=now) == "2027-01-31T18:30+0000"
    assert expiry(None) is None
    for past in ("2026-01-31T23:59Z", "-1d", "2020-01-01"):
        with pytest.raises(UsageError, match=r"past|future"):
            expiry(past, now=now)
    with pytest.raises(UsageError, match="not a date"):
        expiry("2027-13-45", now=now)
