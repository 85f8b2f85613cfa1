"""The one place that renders: results to stdout, everything else to stderr.

stdout carries only the result (a record, a table, JSON), so ``$(iamcli ...)`` and pipes to
``jq`` get nothing else; status lines, ``OK``, warnings and errors go to stderr. Colour only on
a TTY and never with ``NO_COLOR`` (or ``IBMCLOUD_COLOR=false``, or ``TERM=dumb``). rich is
not used here: tables are laid out by this module, so that an ID never folds.

Text that came from a server is shown with control characters escaped, so that a service ID
named ``"\\x1b]2;pwned\\x07"`` cannot drive the user's terminal, and with invisible format
characters (bidi overrides such as U+202E) escaped, so that a name cannot read differently from
what it is. JSON output is escaped the same way inside its strings (see :func:`json_text`).
"""

from __future__ import annotations

import os
import sys
import unicodedata

# typing, collections.abc, json and itertools stay out of the module's imports: `oauth-tokens`
# renders through this module on its fast path (json alone, with the re and enum it imports,
# costs about as much as the rest of a cached `oauth-tokens`). mypy treats a name
# TYPE_CHECKING as true all the same.
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
        import json

        return json.dumps(body, indent=2) + "\n"
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
    import json

    text = json.dumps(obj, indent=indent, ensure_ascii=False, separators=separators)
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
    import itertools

    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _fit(
    columns: list[str],
    cells: list[list[str]],
    widths: list[int],
    wrapping: list[bool],
    limit: int | None,
) -> list[int]:
    """Column widths for a terminal `limit` columns wide: the wrapping columns give up what
    they can, down to their longest word (or header), and share what is left."""
    total = sum(widths) + len(_COLUMN_GAP) * (len(widths) - 1)
    if limit is None or total <= limit or not any(wrapping):
        return widths
    fitted = list(widths)
    for i, wraps in enumerate(wrapping):
        if not wraps:
            continue
        words = (w for row in cells if i < len(row) for w in row[i].split())
        floor = max([_width(columns[i]), *(_width(w) for w in words)])
        fitted[i] = max(floor, widths[i] - (total - limit))
        total -= widths[i] - fitted[i]
    return fitted


def _wrapped(row: list[str], widths: list[int], wrapping: list[bool]) -> list[list[str]]:
    """The lines one row takes: wrapping cells folded at spaces to their width, the other
    cells on the first line only."""
    import textwrap

    parts: list[list[str]] = []
    for cell, width, wraps in zip(row, widths, wrapping, strict=False):
        if wraps and _width(cell) > width:
            parts.append(
                textwrap.wrap(cell, width, break_long_words=False, break_on_hyphens=False) or [""]
            )
        else:
            parts.append([cell])
    height = max((len(p) for p in parts), default=1)
    return [[p[n] if n < len(p) else "" for p in parts] for n in range(height)]


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

    def line(self, text: str) -> None:
        """One line of result (an ID), whatever the quiet setting."""
        self._out(clean(text))

    def record(self, pairs: list[tuple[str, str]]) -> None:
        """A key/value block: labels padded to the longest label plus three spaces."""
        if self.quiet:
            if pairs:
                self._out(clean(pairs[0][1]))
            return
        width = max((_width(label) for label, _ in pairs), default=0)
        for label, value in pairs:
            self._out(f"{_pad(label, width)}{_COLUMN_GAP}{clean(value)}".rstrip())

    def separator(self) -> None:
        """The blank line between two records of a list (none when quiet: IDs only)."""
        if not self.quiet:
            self._out("")

    def table(
        self,
        columns: list[str],
        rows: Iterable[list[str]],
        *,
        empty: str | None = None,
        wrap: frozenset[str] = frozenset(),
    ) -> None:
        """A table that streams: rows are read and printed a batch at a time.

        On a terminal too narrow for it, only the columns named in ``wrap`` (free text) wrap,
        at word boundaries; IDs, names, dates and booleans never split, and a line that still
        does not fit runs past the edge, as ibmcloud's do. No rows: ``empty`` on stderr
        instead of a bare header.
        """
        if self.quiet:
            for row in rows:
                if row:
                    self._out(clean(row[0]))
            return
        limit = self._terminal_columns()
        wrapping = [c in wrap for c in columns]
        widths = [_width(c) for c in columns]
        header_done = False
        for batch in _batches(rows, TABLE_BATCH):
            cells = [[clean(c) for c in row] for row in batch]
            for row in cells:
                widths = [max(w, _width(c)) for w, c in zip(widths, row, strict=False)]
            shown = _fit(columns, cells, widths, wrapping, limit)
            if not header_done:
                self._out(self._bold(self._line(columns, shown)))
                header_done = True
            for row in cells:
                for line in _wrapped(row, shown, wrapping):
                    self._out(self._line(line, shown))
        if not header_done:
            if empty is not None:
                self.status(empty)
            else:
                self._out(self._bold(self._line(columns, widths)))

    def _terminal_columns(self) -> int | None:
        isatty = getattr(self.stdout, "isatty", None)
        if not (isatty and isatty()):
            return None  # a pipe or a file: lines are never wrapped
        import shutil

        return shutil.get_terminal_size((0, 0)).columns or None

    def _bold(self, line: str) -> str:
        return f"\x1b[1m{line}\x1b[0m" if self.color else line

    @staticmethod
    def _line(cells: list[str], widths: list[int]) -> str:
        padded = [_pad(c, w) for c, w in zip(cells, widths, strict=False)]
        return _COLUMN_GAP.join(padded).rstrip()

    def json_value(self, obj: Any) -> None:
        self._out(json_text(obj))

    def json_stream_list(self, key: str | None, items: Iterable[dict[str, Any]]) -> None:
        """Write ``[...]`` (or ``{"key": [...]}``) one item at a time, one item per line.

        Items are written compact, not indented: the C encoder does the work (indenting runs
        Python's own encoder, several times slower on a 5,000-item list), each line is one
        object for `grep` and humans alike, and nothing holds the whole list.
        """
        import json

        encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
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
