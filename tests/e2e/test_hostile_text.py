"""Text from the server reaches the terminal escaped: names and descriptions that carry
terminal escapes, C1 controls or bidi overrides cannot drive the terminal or read as
something they are not, and JSON output carries them only as \\u escapes."""

from __future__ import annotations

import json
import uuid

import pytest

from support import Emulator

# An OSC title change, a C1 CSI, a right-to-left override, an isolate, a zero-width joiner and
# a tag character: each drives a terminal or makes text display as something else.
HOSTILE = "\x1b]2;pwned\x07ok\x9b31m\u202etxt.exe\u2066\u200d\U000e0041\x7f"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u200d", "\U000e0041", "\x7f")


@pytest.fixture
def hostile_sid(cli, emulator: Emulator) -> str:  # type: ignore[no-untyped-def]
    r = cli("login", "-a", emulator.url, "--apikey", "-", stdin=emulator.a.apikey)
    assert r.code == 0, r.stderr
    name = f"evil-{uuid.uuid4().hex[:8]}{HOSTILE}"
    with emulator.client() as c:
        created = c.post(
            "/v1/serviceids",
            headers=emulator.auth(),
            json={"account_id": emulator.a.account_id, "name": name, "description": HOSTILE},
        )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


@pytest.mark.parametrize(
    "args",
    [["service-ids"], ["service-id", "{sid}"]],
    ids=["table", "record"],
)
def test_human_output_escapes_what_the_server_named(cli, hostile_sid: str, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    r = cli(*(a.format(sid=hostile_sid) for a in args))
    assert r.code == 0, r.stderr
    for ch in RAW:
        assert ch not in r.stdout and ch not in r.stderr, repr(ch)
    assert "\\x1b]2;pwned\\x07ok\\x9b31m\\u202etxt.exe\\u2066\\u200d\\U000e0041\\x7f" in r.stdout


def test_json_output_carries_no_raw_control_character(cli, hostile_sid: str) -> None:  # type: ignore[no-untyped-def]
    for args in (
        ["service-ids", "--output", "json"],
        ["service-id", hostile_sid, "--output", "json"],
    ):
        r = cli(*args)
        assert r.code == 0, r.stderr
        for ch in RAW:
            assert ch not in r.stdout, repr(ch)
        data = json.loads(r.stdout)
        items = data if isinstance(data, list) else [data]
        # Escaped, not lost: a JSON parser reads back exactly what the server sent.
        assert any(i["description"] == HOSTILE for i in items)


def test_trace_escapes_the_server_answer(cli, hostile_sid: str) -> None:  # type: ignore[no-untyped-def]
    r = cli("service-id", hostile_sid, "--trace")
    assert r.code == 0, r.stderr
    for ch in RAW:
        assert ch not in r.stderr, repr(ch)
