"""How service IDs and API keys look in the human layout, mirroring `ibmcloud iam`."""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ConflictError, UsageError

if TYPE_CHECKING:
    from ..models import ApiKey, ServiceId
    from ..output import Output
    from ..session import Session

SERVICE_ID_COLUMNS = ["ID", "Name", "Created At", "Last Updated", "Description", "Locked"]
API_KEY_COLUMNS = ["ID", "Name", "Description", "Created At", "Last Updated", "Locked"]
# Only free text wraps (at word boundaries); IDs, names, dates and booleans never do.
WRAPPING = frozenset({"Description"})

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
    pairs += [
        ("Created At", _text(k.created_at)),
        ("Locked", str(k.locked).lower()),
        ("Disabled", str(k.disabled).lower()),
    ]
    if k.action_when_leaked is not None:
        pairs.append(("Action If Leaked", k.action_when_leaked))
    if k.expires_at is not None:
        pairs.append(("Expires At", k.expires_at))
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


def identity_label(session: Session) -> str:
    """Who a command acts as, for its status line."""
    p = session.profile
    return p.identity_name if p is not None and p.identity_name else "the API key's identity"


def stream_json_list(out: Output, items: Iterable[dict[str, Any]]) -> None:
    """A list as JSON, streamed; primed: the first page answers (or fails) before "[" is
    written, and OK follows the list."""
    out.json_stream_list(None, primed(items))
    out.ok()


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


@contextlib.contextmanager
def suggest_unlock(unlock: str) -> Iterator[None]:
    """A refusal because the entity is locked names the command that unlocks it."""
    try:
        yield
    except ConflictError as exc:
        if exc.hint is None and "lock" in exc.message.lower():
            exc.hint = f"it is locked: unlock it first with '{unlock}'"
        raise


def unlock_command(key: ApiKey) -> str:
    """The command that unlocks a key: its service ID's, or the user's own."""
    iam_id = key.iam_id or ""
    if iam_id.startswith("iam-ServiceId-"):
        return f"iamcli service-api-key-unlock {key.id} {iam_id[4:]}"
    return f"iamcli api-key-unlock {key.id}"
