"""Rule conditions as the command line writes them, and as IBM's API stores them."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamcli.errors import UsageError
from iamcli.services.trusted_profiles import display_value, encode_value, parse_condition
from iamcli.trusted_profile_models import Condition


def test_bare_values_become_json_strings() -> None:
    assert parse_condition("claim:namespace,operator:EQUALS,value:default") == Condition(
        "namespace", "EQUALS", '"default"'
    )
    # IBM's own example value, exactly.
    assert encode_value("cloud-docs-dev", "EQUALS") == '"cloud-docs-dev"'


def test_in_takes_a_comma_list_and_keys_come_in_any_order() -> None:
    assert parse_condition("value:a, b,claim:name,operator:in") == Condition(
        "name", "IN", '["a","b"]'
    )


def test_json_text_is_sent_as_written() -> None:
    assert encode_value('"a,b"', "EQUALS") == '"a,b"'
    assert encode_value('["x","y"]', "CONTAINS") == '["x","y"]'
    assert encode_value("[not json", "EQUALS") == '"[not json"'


@pytest.mark.parametrize(
    "text",
    [
        "",
        "claim:a,operator:EQUALS",
        "operator:EQUALS,value:b",
        "junk,claim:a,operator:EQUALS,value:b",
        "claim:a,claim:b,operator:EQUALS,value:c",
        "claim:a,operator:LIKE,value:b",
        "claim:,operator:EQUALS,value:b",
    ],
)
def test_malformed_conditions_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_condition(text)


def _plain(value: str) -> bool:
    # What a bare value cannot be: empty, JSON text, or holding the next key.
    return (
        bool(value.strip())
        and value.strip()[0] not in '"['
        and re.search(r",\s*(claim|operator|value):", value) is None
    )


@given(st.text(min_size=1).filter(_plain))
def test_a_bare_value_survives_the_round_trip(value: str) -> None:
    stored = parse_condition(f"claim:c,operator:EQUALS,value:{value}").value
    assert json.loads(stored) == value.strip()
    assert display_value(stored) == value.strip()
