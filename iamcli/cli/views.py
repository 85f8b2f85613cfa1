"""How service IDs and API keys look in the human layout, mirroring `ibmcloud iam`."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

from ..errors import UsageError

if TYPE_CHECKING:
    from ..models import ApiKey, ServiceId

SERVICE_ID_COLUMNS = ["ID", "Name", "Created At", "Last Updated", "Description", "Locked"]
API_KEY_COLUMNS = ["ID", "Name", "Description", "Created At", "Last Updated", "Locked"]

T = TypeVar("T")


def _text(value: str | None) -> str:
    return value if value else "-"


def service_id_record(s: ServiceId) -> list[tuple[str, str]]:
    pairs = [
        ("ID", s.id),
        ("Name", s.name),
        ("Description", s.description or ""),
        ("CRN", _text(s.crn)),
    ]
    if s.bound_to:
        pairs.append(("Bound To", s.bound_to))
    pairs += [("Version", _text(s.entity_tag)), ("Locked", str(s.locked).lower())]
    return pairs


def service_id_row(s: ServiceId) -> list[str]:
    return [
        s.id,
        s.name,
        _text(s.created_at),
        _text(s.modified_at),
        s.description or "",
        str(s.locked).lower(),
    ]


def api_key_record(k: ApiKey, *, with_value: bool = False) -> list[tuple[str, str]]:
    pairs = [("ID", k.id), ("Name", k.name), ("Description", k.description or "")]
    if k.bound_to:
        pairs.append(("Bound To", k.bound_to))
    pairs += [("Created At", _text(k.created_at)), ("Locked", str(k.locked).lower())]
    if k.disabled:
        pairs.append(("Disabled", "true"))
    if with_value and k.apikey is not None:
        # Last, always: scripts take the key with `awk '{print $NF}'` or `tail -1`.
        pairs.append(("API Key", k.apikey))
    return pairs


def api_key_row(k: ApiKey) -> list[str]:
    return [
        k.id,
        k.name,
        k.description or "",
        _text(k.created_at),
        _text(k.modified_at),
        str(k.locked).lower(),
    ]


def primed(rows: Iterable[T]) -> Iterator[T]:
    """The same rows, with the first already fetched: a list's first page answers (or fails)
    before the command says OK."""
    it = iter(rows)
    first = list(itertools.islice(it, 1))
    return itertools.chain(first, it)


def confirm(question: str, *, force: bool, action: str) -> bool:
    """True when the user agreed or passed -f; asks on stderr, only on a terminal."""
    if force:
        return True
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            f"refusing to {action} without --force: no terminal to ask on",
            hint="add -f/--force to confirm",
        )
    from ..output import clean

    sys.stderr.write(f"{clean(question)} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")
