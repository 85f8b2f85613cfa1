from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from iamcli.output import TABLE_BATCH, Output


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def make(
    json: bool = False, quiet: bool = False, tty: bool = False
) -> tuple[Output, io.StringIO, io.StringIO]:
    out: io.StringIO = Tty() if tty else io.StringIO()
    err: io.StringIO = Tty() if tty else io.StringIO()
    return Output(json=json, quiet=quiet, stdout=out, stderr=err), out, err


def test_status_ok_warn_error_go_to_stderr() -> None:
    o, out, err = make()
    o.status("Creating service ID ci-bot...")
    o.ok()
    o.warn("the key is in plain text")
    o.error("Unable to authenticate.", hint="Run 'iamcli login'.")
    assert out.getvalue() == ""
    assert err.getvalue() == (
        "Creating service ID ci-bot...\n"
        "OK\n"
        "Warning: the key is in plain text\n"
        "FAILED\n"
        "Unable to authenticate.\n"
        "Run 'iamcli login'.\n"
    )


def test_quiet_suppresses_status_and_ok_but_not_warnings_or_errors() -> None:
    o, _, err = make(quiet=True)
    o.status("hidden")
    o.ok()
    o.warn("shown")
    o.error("also shown")
    assert err.getvalue() == "Warning: shown\nFAILED\nalso shown\n"


def test_record_aligns_labels_like_ibmcloud() -> None:
    o, out, _ = make()
    o.record(
        [
            ("ID", "ServiceId-e9bf1d88"),
            ("Name", "sid_academy"),
            ("Description", "Technical Service ID"),
            ("Locked", "false"),
        ]
    )
    assert out.getvalue() == (
        "ID            ServiceId-e9bf1d88\n"
        "Name          sid_academy\n"
        "Description   Technical Service ID\n"
        "Locked        false\n"
    )


def test_quiet_record_prints_the_first_value() -> None:
    o, out, _ = make(quiet=True)
    o.record([("ID", "ServiceId-1"), ("Name", "x")])
    assert out.getvalue() == "ServiceId-1\n"


def test_plain_table_is_aligned() -> None:
    o, out, _ = make()
    o.table(
        ["UUID", "Name", "Locked"],
        [["ServiceId-1", "a", "false"], ["ServiceId-22", "longer-name", "true"]],
    )
    assert out.getvalue() == (
        "UUID           Name          Locked\n"
        "ServiceId-1    a             false\n"
        "ServiceId-22   longer-name   true\n"
    )


def test_empty_table_prints_the_header() -> None:
    o, out, _ = make()
    o.table(["UUID", "Name"], [])
    assert out.getvalue() == "UUID   Name\n"


def test_quiet_table_prints_the_first_column() -> None:
    o, out, _ = make(quiet=True)
    o.table(["UUID", "Name"], [["a", "x"], ["b", "y"]])
    assert out.getvalue() == "a\nb\n"


def test_wide_characters_are_aligned_by_display_width() -> None:
    o, out, _ = make()
    o.table(["Name", "X"], [["日本", "1"], ["ab", "2"]])
    assert out.getvalue().splitlines() == ["Name   X", "日本   1", "ab     2"]


def test_table_streams_rows_batch_by_batch() -> None:
    pulled = 0
    seen_at_first_write: list[int] = []

    def rows() -> Iterator[list[str]]:
        nonlocal pulled
        for i in range(3 * TABLE_BATCH):
            pulled += 1
            yield [f"id-{i}", "x"]

    class Spy(io.StringIO):
        def write(self, s: str) -> int:
            if not seen_at_first_write:
                seen_at_first_write.append(pulled)
            return super().write(s)

    spy = Spy()
    Output(stdout=spy, stderr=io.StringIO()).table(["ID", "N"], rows())
    assert seen_at_first_write == [TABLE_BATCH]
    assert len(spy.getvalue().splitlines()) == 3 * TABLE_BATCH + 1


def test_server_text_cannot_drive_the_terminal() -> None:
    o, out, err = make()
    evil = "x\x1b]2;pwned\x07\nfake line"
    o.table(["Name"], [[evil]])
    o.record([("Name", evil)])
    o.error(evil)
    for text in (out.getvalue(), err.getvalue()):
        assert "\x1b" not in text and "\x07" not in text
    assert "x\\x1b]2;pwned\\x07\\nfake line" in out.getvalue()
    assert len(out.getvalue().splitlines()) == 3


def test_tty_table_uses_rich_with_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    o, out, _ = make(tty=True)
    o.table(["UUID", "Name"], [["ServiceId-1", "[bold]not markup[/bold]"]])
    text = out.getvalue()
    assert "\x1b[" in text  # bold header
    assert "ServiceId-1" in text and "[bold]not markup[/bold]" in text


@pytest.mark.parametrize(
    ("var", "value"), [("NO_COLOR", "1"), ("IBMCLOUD_COLOR", "false"), ("TERM", "dumb")]
)
def test_no_color_gives_plain_text_on_a_tty(
    var: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv(var, value)
    o, out, err = make(tty=True)
    o.table(["UUID", "Name"], [["ServiceId-1", "a"]])
    o.error("boom")
    assert out.getvalue() == "UUID          Name\nServiceId-1   a\n"
    assert err.getvalue() == "FAILED\nboom\n"


def test_failed_is_red_on_a_colour_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    o, _, err = make(tty=True)
    o.error("boom")
    assert err.getvalue() == "\x1b[31;1mFAILED\x1b[0m\nboom\n"


def test_json_value() -> None:
    o, out, _ = make(json=True)
    o.json_value({"iam_token": "Bearer x", "name": "café"})
    assert out.getvalue() == '{\n  "iam_token": "Bearer x",\n  "name": "café"\n}\n'


@pytest.mark.parametrize("key", [None, "apikeys"])
@pytest.mark.parametrize("count", [0, 1, 3])
def test_json_stream_list_is_the_list_one_item_per_line(key: str | None, count: int) -> None:
    items = [
        {"id": f"ApiKey-{i}", "name": "ü", "nested": {"a": [1, {"b": None}]}, "e": []}
        for i in range(count)
    ]
    streamed, out, _ = make(json=True)
    streamed.json_stream_list(key, iter(items))
    text = out.getvalue()
    assert json.loads(text) == (items if key is None else {key: items})
    assert (text.endswith("\n") and "ü" in text) or count == 0
    lines = text.splitlines()
    assert len(lines) == (1 if count == 0 else count + 2)
    for line, item in zip(lines[1:-1], items, strict=False):
        assert json.loads(line.strip().rstrip(",")) == item


def test_json_stream_list_does_not_hold_the_list() -> None:
    pulled = 0
    first_write_at: list[int] = []

    def items() -> Iterator[dict[str, object]]:
        nonlocal pulled
        for i in range(5000):
            pulled += 1
            yield {"id": i}

    class Spy(io.StringIO):
        def write(self, s: str) -> int:
            if '"id"' in s and not first_write_at:
                first_write_at.append(pulled)
            return super().write(s)

    spy = Spy()
    Output(json=True, stdout=spy).json_stream_list("serviceids", items())
    assert first_write_at == [1]
    assert len(json.loads(spy.getvalue())["serviceids"]) == 5000


def test_only_free_text_wraps_at_word_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("NO_COLOR", "1")
    o, out, _ = make(tty=True)
    row = ["ServiceId-0123", "bot", "the administrator of nightly builds", "false"]
    o.table(["ID", "Name", "Description", "Locked"], [row], wrap=frozenset({"Description"}))
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("ServiceId-0123   bot ") and lines[1].endswith("false")
    assert all(len(line) <= 60 for line in lines)
    assert sorted(" ".join(lines[1:]).split()) == sorted(" ".join(row).split())  # words whole
    assert len(lines) > 2  # it did wrap


def test_a_table_too_wide_overflows_rather_than_folds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "20")
    monkeypatch.setenv("NO_COLOR", "1")
    o, out, _ = make(tty=True)
    o.table(
        ["ID", "Description"],
        [["ServiceId-0123456789", "administrator rights"]],
        wrap=frozenset({"Description"}),
    )
    assert out.getvalue().splitlines() == [
        "ID                     Description",
        "ServiceId-0123456789   administrator",
        "                       rights",
    ]


def test_an_empty_table_says_so_on_stderr() -> None:
    o, out, err = make()
    o.table(["ID"], [], empty="No service IDs found")
    assert out.getvalue() == "" and err.getvalue() == "No service IDs found\n"
