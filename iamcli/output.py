"""The one place that renders: results to stdout, everything else to stderr.

stdout carries only the result (a record, a table, JSON), so ``$(iamcli ...)`` and pipes to
``jq`` get nothing else; status lines, ``OK``, warnings and errors go to stderr. Colour only on
a TTY and never with ``NO_COLOR`` (or ``IBMCLOUD_COLOR=false``, or ``TERM=dumb``). rich is
imported only to draw a table on a colour TTY.

Text that came from a server is shown with control characters escaped, so that a service ID
named ``"\\x1b]2;pwned\\x07"`` cannot drive the user's terminal, and with invisible format
characters (bidi overrides such as U+202E) escaped, so that a name cannot read differently from
what it is. JSON output is escaped the same way inside its strings (see :func:`json_text`).
"""

from __future__ import annotations

import itertools
import json as jsonlib
import os
import sys
import unicodedata

# typing and collections.abc stay out of the runtime imports: `oauth-tokens` renders through
# this module on its fast path. mypy treats a name TYPE_CHECKING as true all the same.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Iterable, Iterator
    from typing import Any, TextIO

# Rows are laid out per batch so a long list streams instead of waiting for its last page.
TABLE_BATCH = 100
_COLUMN_GAP = "   "

# What must not reach a terminal raw, as ranges of code points: C0 and C1 controls and DEL
# (they drive the terminal), the format characters and line/paragraph separators of Unicode
# categories Cf, Zl and Zp (bidi embeddings, overrides, isolates and marks, zero-width
# characters, tag characters: text that displays differently from what it is), and lone
# surrogates (which cannot be encoded at all). Cf/Zl/Zp as of Unicode 15 (Python 3.11-3.13).
_UNSAFE_RANGES = (
    (0x00, 0x1F),
    (0x7F, 0x9F),
    (0xAD, 0xAD),
    (0x600, 0x605),
    (0x61C, 0x61C),
    (0x6DD, 0x6DD),
    (0x70F, 0x70F),
    (0x890, 0x891),
    (0x8E2, 0x8E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xD800, 0xDFFF),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)
_NAMED_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
_patterns: dict[bool, re.Pattern[str]] = {}


def _unsafe_pattern(*, in_json: bool) -> re.Pattern[str]:
    """The character class of :data:`_UNSAFE_RANGES`; in JSON text without C0, which the
    encoder has escaped inside strings already (the newlines left are layout)."""
    pattern = _patterns.get(in_json)
    if pattern is None:
        import re

        ranges = _UNSAFE_RANGES[1:] if in_json else _UNSAFE_RANGES
        body = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)
        pattern = _patterns[in_json] = re.compile(f"[{body}]")
    return pattern


def _escape_for_terminal(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED_ESCAPES.get(ch)
    if named is not None:
        return named
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    return f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}"


def _escape_for_json(match: re.Match[str]) -> str:
    cp = ord(match.group())
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    cp -= 0x10000  # a UTF-16 surrogate pair, as JSON spells characters beyond the BMP
    return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"


def oauth_tokens_text(
    access: str,
    refresh: str | None,
    *,
    as_json: bool,
    expires_at: int | None = None,
    raw: bool = False,
    now: float | None = None,
) -> str:
    """What `iamcli oauth-tokens` prints, as `ibmcloud iam oauth-tokens` does: two spaces after
    the colon (scripts take the token with `awk '{print $4}'`), or `{"iam_token": ...}` with
    the token's `expiration` (epoch seconds, its `exp`) and `expires_in` (seconds left now)
    after ibmcloud's fields. `raw`: the bare JWT alone, for `Authorization: Bearer $(...)`."""
    if raw:
        return clean(access.partition(" ")[2] or access) + "\n"
    if as_json:
        body: dict[str, str | int] = {"iam_token": access}
        if refresh:
            body["iam_refresh_token"] = refresh
        if expires_at is not None:
            import time

            body["expiration"] = expires_at
            body["expires_in"] = max(0, expires_at - int(time.time() if now is None else now))
        return jsonlib.dumps(body, indent=2) + "\n"
    text = f"IAM token:  {clean(access)}\n"
    if refresh:
        text += f"IAM refresh token:  {clean(refresh)}\n"
    return text


def clean(text: str) -> str:
    """``text`` safe to print to a terminal: every character of :data:`_UNSAFE_RANGES`
    escaped (``\\x1b``, ``\\n``, ``\\u202e``). Every human renderer goes through here."""
    if text.isprintable():  # no control, format or separator character: the common case
        return text
    return _unsafe_pattern(in_json=False).sub(_escape_for_terminal, text)


def json_text(
    obj: Any, *, indent: int | None = 2, separators: tuple[str, str] | None = None
) -> str:
    """``obj`` as JSON that carries no raw control, format or bidi character: UTF-8 text
    stays readable, and what :func:`clean` would escape is written as a ``\\uXXXX`` escape
    (which every JSON parser decodes back to the same string)."""
    text = jsonlib.dumps(obj, indent=indent, ensure_ascii=False, separators=separators)
    return _json_safe(text)


def _json_safe(text: str) -> str:
    if text.isascii() and "\x7f" not in text:
        return text
    return _unsafe_pattern(in_json=True).sub(_escape_for_json, text)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _color_allowed(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    if os.environ.get("IBMCLOUD_COLOR", "").lower() == "false":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _batches(rows: Iterable[list[str]], size: int) -> Iterator[list[list[str]]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class Output:
    """Render results and messages for one command run.

    ``json``: the command prints JSON (with :meth:`json_value` / :meth:`json_stream_list`).
    ``quiet``: no status lines or ``OK``; tables and records print only their first column
    (IDs), one per line.
    """

    def __init__(
        self,
        json: bool = False,
        quiet: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.json = json
        self.quiet = quiet
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr

    @property
    def color(self) -> bool:
        """Whether stdout is a terminal that may get colour."""
        return _color_allowed(self.stdout)

    # --- stderr ---------------------------------------------------------------------------------

    def status(self, msg: str) -> None:
        if not self.quiet:
            self._err(clean(msg))

    def ok(self) -> None:
        if not self.quiet:
            self._err(self._paint("OK", "32;1"))

    def warn(self, msg: str) -> None:
        self._err(f"{self._paint('Warning:', '33')} {clean(msg)}")

    def error(self, msg: str, hint: str | None = None) -> None:
        """``FAILED``, the message, and the hint, on stderr, as ``ibmcloud`` prints them."""
        self._err(self._paint("FAILED", "31;1"))
        self._err(clean(msg))
        if hint:
            self._err(clean(hint))

    def _err(self, line: str) -> None:
        self.stderr.write(line + "\n")
        self.stderr.flush()

    def _paint(self, text: str, sgr: str) -> str:
        return f"\x1b[{sgr}m{text}\x1b[0m" if _color_allowed(self.stderr) else text

    # --- stdout ---------------------------------------------------------------------------------

    def record(self, pairs: list[tuple[str, str]]) -> None:
        """A key/value block: labels padded to the longest label plus three spaces."""
        if self.quiet:
            if pairs:
                self._out(clean(pairs[0][1]))
            return
        width = max((_width(label) for label, _ in pairs), default=0)
        for label, value in pairs:
            self._out(f"{_pad(label, width)}{_COLUMN_GAP}{clean(value)}".rstrip())

    def table(self, columns: list[str], rows: Iterable[list[str]]) -> None:
        """A table that streams: rows are read and printed a batch at a time."""
        if self.quiet:
            for row in rows:
                if row:
                    self._out(clean(row[0]))
            return
        if self.color:
            self._rich_table(columns, rows)
            return
        widths = [_width(c) for c in columns]
        header_done = False
        for batch in _batches(rows, TABLE_BATCH):
            cells = [[clean(c) for c in row] for row in batch]
            for row in cells:
                widths = [max(w, _width(c)) for w, c in zip(widths, row, strict=False)]
            if not header_done:
                self._out(self._line(columns, widths))
                header_done = True
            for row in cells:
                self._out(self._line(row, widths))
        if not header_done:
            self._out(self._line(columns, widths))

    @staticmethod
    def _line(cells: list[str], widths: list[int]) -> str:
        padded = [_pad(c, w) for c, w in zip(cells, widths, strict=False)]
        return _COLUMN_GAP.join(padded).rstrip()

    def _rich_table(self, columns: list[str], rows: Iterable[list[str]]) -> None:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        console = Console(file=self.stdout, highlight=False, emoji=False)

        def new_table(show_header: bool) -> Table:
            table = Table(
                box=None,
                show_header=show_header,
                header_style="bold",
                pad_edge=False,
                padding=(0, 3, 0, 0),
            )
            for name in columns:
                # Fold rather than truncate: a cut-off ID is worse than a wrapped one.
                table.add_column(name, overflow="fold")
            return table

        printed = False
        for batch in _batches(rows, TABLE_BATCH):
            table = new_table(show_header=not printed)
            for row in batch:
                table.add_row(*(Text(clean(c)) for c in row))
            console.print(table)
            printed = True
        if not printed:
            console.print(new_table(show_header=True))

    def json_value(self, obj: Any) -> None:
        self._out(json_text(obj))

    def json_stream_list(self, key: str | None, items: Iterable[dict[str, Any]]) -> None:
        """Write ``[...]`` (or ``{"key": [...]}``) one item at a time, one item per line.

        Items are written compact, not indented: the C encoder does the work (indenting runs
        Python's own encoder, several times slower on a 5,000-item list), each line is one
        object for `grep` and humans alike, and nothing holds the whole list.
        """
        encode = jsonlib.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
        write = self.stdout.write
        write("{" + json_text(key) + ": [" if key is not None else "[")
        empty = True
        for item in items:
            write(("\n  " if empty else ",\n  ") + _json_safe(encode(item)))
            empty = False
        write("]" if empty else "\n]")
        write("}\n" if key is not None else "\n")
        self.stdout.flush()

    def _out(self, line: str) -> None:
        self.stdout.write(line + "\n")
