"""Service IDs and API keys: finding them by name or ID, and what the commands ask for."""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

from ..errors import ConflictError, NetworkError, NotFoundError, ServerError, UsageError
from ..flavors import Flavor
from ..http import back_off, retry_budget
from ..models import ApiKey, KeySettings, Owner, ServiceId

SERVICE_ID_RE = re.compile(r"^ServiceId-[0-9a-fA-F-]{36}$")
API_KEY_RE = re.compile(r"^ApiKey-[0-9a-fA-F-]{36}$")
# Service-ID CRNs of either family end in `serviceid:ServiceId-<uuid>`.
_SERVICE_ID_IN_CRN = re.compile(r"^crn:v1:[^\s]*:serviceid:(ServiceId-[0-9a-fA-F-]{36})$")
_USER_IN_CRN = re.compile(r"^crn:v1:[^\s]*:user:([^:\s]+)$")

T = TypeVar("T")


class AmbiguousName(UsageError):
    """More than one entity has the name given (IBM allows duplicates)."""


def not_found(kind: str, ref: str) -> NotFoundError:
    return NotFoundError(f"{kind} {ref!r} not found", status=404)


def resolve_service_id(flavor: Flavor, ref: str) -> ServiceId:
    """The service ID a user named, by ID or by (unique) name."""
    ref = ref.strip()
    if not ref:
        raise UsageError("a service ID name or ID is required")
    if SERVICE_ID_RE.match(ref):
        try:
            return flavor.service_id(ref)
        except NotFoundError:
            raise not_found("service ID", ref) from None
    return one_match(list(flavor.service_ids(name=ref)), "service ID", ref, lambda s: s.name == ref)


def _ambiguous(exc: ServerError | NetworkError) -> bool:
    """Whether a failed create may still have happened on the server: it answered 5xx, or the
    connection broke after the request was sent. (Failures to connect were retried by the HTTP
    layer already and are final; 4xx answers are refusals and never get here.)"""
    return isinstance(exc, ServerError) or exc.may_have_arrived


def _require_locks(flavor: Flavor, locked: bool) -> None:
    if locked and not flavor.supports_locks:
        raise flavor.unsupported("--lock")


def create_service_id(
    flavor: Flavor,
    name: str,
    description: str | None,
    *,
    locked: bool,
    note: Callable[[str], None] | None = None,
) -> ServiceId:
    """Create a service ID exactly once, even when an answer is lost (see create_once)."""
    _require_locks(flavor, locked)
    return create_once(
        lambda: flavor.create_service_id(name, description, locked=locked),
        lambda: flavor.service_ids(name=name),
        kind="service ID",
        name=name,
        note=note,
    )


class _Identified(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


C = TypeVar("C", bound=_Identified)


def create_once(
    create: Callable[[], C],
    named: Callable[[], Iterable[C]],
    *,
    kind: str,
    name: str,
    note: Callable[[str], None] | None = None,
) -> C:
    """Create an entity exactly once, even when an answer is lost.

    IBM's APIs take no idempotency key, so the entities of that name (`named`) are listed
    before; after an unknown outcome they are listed again, and a new one of that name is the
    one this create made. If none appeared, the create is sent again. (A second client
    creating the same name at the same moment would be indistinguishable; that race is the
    price.)
    """
    before = {s.id for s in named()}
    attempts = retry_budget() + 1  # the same budget as any request's retries
    for attempt in range(attempts):
        if attempt:
            back_off(attempt - 1)
        try:
            return create()
        except (ServerError, NetworkError) as exc:
            if not _ambiguous(exc) or attempt == attempts - 1:
                raise
            new = [s for s in named() if s.id not in before and s.name == name]
            if len(new) == 1:
                if note is not None:
                    note(f"the create's answer was lost, but it happened: {new[0].id}")
                return new[0]
            if len(new) > 1:
                ids = ", ".join(s.id for s in new)
                raise AmbiguousName(
                    f"several {kind}s named {name!r} appeared while creating one: {ids}"
                ) from exc
    raise AssertionError("unreachable")


def create_api_key(
    flavor: Flavor,
    owner: Owner,
    name: str,
    description: str | None,
    *,
    locked: bool,
    settings: KeySettings = KeySettings(),
    note: Callable[[str], None] | None = None,
    like: ApiKey | None = None,
    value: str | None = None,
) -> ApiKey:
    """Create an API key exactly once, with its value in hand.

    On IBM Cloud the flavor makes this safe itself (the value is chosen here and passed
    through, so a repeated create is recognised). Elsewhere, after an unknown outcome, a key
    of this name that appeared meanwhile holds a value nobody received: it is deleted, so that
    no unusable key is left behind, and the create is sent again.
    """
    _require_locks(flavor, locked)
    require_key_settings(flavor, settings)
    if settings.store_value and owner.is_self:
        # IBM: store_value "must be false/omitted for user keys".
        raise UsageError("--store-value is only for service ID API keys")
    before = set() if flavor.creates_are_recognisable else {k.id for k in flavor.api_keys(owner)}
    attempts = retry_budget() + 1
    for attempt in range(attempts):
        if attempt:
            back_off(attempt - 1)
        try:
            return flavor.create_api_key(
                owner,
                name,
                description,
                locked=locked,
                like=like,
                value=value,
                settings=settings,
            )
        except (ServerError, NetworkError) as exc:
            if not _ambiguous(exc) or attempt == attempts - 1 or flavor.creates_are_recognisable:
                raise
            for orphan in (
                k for k in flavor.api_keys(owner) if k.id not in before and k.name == name
            ):
                if note is not None:
                    note(
                        f"the create's answer was lost with the key's value; deleting the "
                        f"unusable key {orphan.id} and creating it again"
                    )
                flavor.delete_api_key(orphan.id)
    raise AssertionError("unreachable")


ACTIONS_WHEN_LEAKED = ("none", "disable", "delete")


def leak_action(value: str | None) -> str | None:
    """`--action-if-leaked` as IBM's API spells it (ibmcloud takes NONE|DISABLE|DELETE)."""
    if value is None:
        return None
    action = value.strip().lower()
    if action not in ACTIONS_WHEN_LEAKED:
        raise UsageError(f"--action-if-leaked must be none, disable or delete, not {value!r}")
    return action


def require_key_settings(flavor: Flavor, settings: KeySettings) -> None:
    """Refuse what the family lacks before anything is sent."""
    if settings.is_default or flavor.supports_key_settings:
        return
    given = [
        flag
        for flag, set_ in (
            ("--action-if-leaked", settings.action_when_leaked is not None),
            ("--expires-in", settings.expires_at is not None),
            ("--store-value", settings.store_value),
        )
        if set_
    ]
    raise flavor.unsupported(" and ".join(given))


def expiry(text: str | None, *, now: datetime.datetime | None = None) -> str | None:
    """`--expires-in` as IBM's `expires_at` ("yyyy-MM-ddTHH:mm+0000"): a duration from now
    (`90d`, `12h`) or a date (`2027-01-31`, `2027-01-31T18:30Z`). IBM keeps minutes only, so
    the time is rounded up to the next whole minute: a key never expires before it was asked
    to. A moment already past is refused here, before anything is sent."""
    from ..durations import DurationError, parse_duration

    if text is None:
        return None
    raw = text.strip()
    current = now or datetime.datetime.now(datetime.UTC)
    when: datetime.datetime
    if re.match(r"^\d{4}-\d{2}-\d{2}", raw):
        try:
            when = datetime.datetime.fromisoformat(raw.replace("+0000", "+00:00"))
        except ValueError:
            raise UsageError(
                f"--expires-in {raw[:40]!r} is not a date: use 2027-01-31 or 2027-01-31T18:30Z"
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        if when <= current:
            raise UsageError(
                f"--expires-in {raw[:40]}: that moment is already past; "
                "a key must expire in the future"
            )
    else:
        if raw.startswith("-"):
            raise UsageError(
                f"--expires-in {raw[:40]}: a key must expire in the future; "
                "give a duration from now, such as 90d or 12h"
            )
        try:
            seconds = parse_duration(raw)
        except DurationError as exc:
            raise UsageError(f"--expires-in: {exc}") from None
        when = current + datetime.timedelta(seconds=seconds)
    when = when.astimezone(datetime.UTC)
    if when.second or when.microsecond:
        when = when.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    return when.strftime("%Y-%m-%dT%H:%M+0000")


def resolve_api_key(flavor: Flavor, ref: str, owner: Owner) -> ApiKey:
    """The API key a user named, by ID or by (unique) name, among the owner's keys: a key of
    someone else is "not found", as if it were not there."""
    ref = ref.strip()
    if not ref:
        raise UsageError("an API key name or ID is required")
    if API_KEY_RE.match(ref):
        try:
            key = flavor.api_key(ref)
        except NotFoundError:
            raise not_found("API key", ref) from None
        if not belongs_to(key, owner):
            whose = f"service ID {owner.service_id.name}" if owner.service_id else "you"
            hint = "it is a service ID's key: use service-api-key" if owner.is_self else None
            raise NotFoundError(f"API key {ref} of {whose} not found", status=404, hint=hint)
        return key
    return one_match(list(flavor.api_keys(owner)), "API key", ref, lambda k: k.name == ref)


def belongs_to(key: ApiKey, owner: Owner) -> bool:
    """Whether a key is the owner's: by the IAM ID it logs in as (IBM Cloud) or the CRN it is
    bound to (private: either of ICP's service ID CRN forms ends in `serviceid:<ID>`)."""
    sid = owner.service_id
    bound = key.bound_to or ""
    if sid is None:
        return not (
            (key.iam_id or "").startswith("iam-ServiceId-") or ":serviceid:ServiceId-" in bound
        )
    if key.iam_id is not None and sid.iam_id is not None:
        return key.iam_id == sid.iam_id
    return bound.endswith(f":serviceid:{sid.id}")


def get_api_key(flavor: Flavor, kid: str) -> ApiKey:
    if not API_KEY_RE.match(kid.strip()):
        raise UsageError(f"{kid!r} is not an API key ID (ApiKey-<uuid>)")
    try:
        return flavor.api_key(kid.strip())
    except NotFoundError:
        raise not_found("API key", kid) from None


def one_match(found: list[T], kind: str, ref: str, match: object) -> T:
    matches = [x for x in found if match(x)]  # type: ignore[operator]
    if not matches:
        raise not_found(kind, ref)
    if len(matches) > 1:
        ids = ", ".join(getattr(m, "id", "?") for m in matches)
        raise AmbiguousName(
            f"{len(matches)} {kind}s are named {ref!r}: {ids}", hint="name it by its ID instead"
        )
    return matches[0]


def owner_from_bound_to(flavor: Flavor, bound_to: str) -> Owner:
    """The owner a CRN names: a service ID (either family's CRN), or the caller (`self`, or
    the caller's own user CRN)."""
    value = bound_to.strip()
    if value == "self":
        return Owner()
    if m := _SERVICE_ID_IN_CRN.match(value):
        return Owner(resolve_service_id(flavor, m[1]))
    if _USER_IN_CRN.match(value):
        # Only one's own user keys can be listed; the server refuses anyone else's.
        return Owner()
    raise UsageError(f"--bound-to {value!r} is not a service ID CRN, a user CRN or 'self'")


def limited(items: Iterable[T], limit: int | None) -> Iterator[T]:
    if limit is not None and limit < 0:
        raise UsageError(f"--limit must be 0 or more, not {limit}")
    return iter(items) if limit is None else itertools.islice(items, limit)


N = TypeVar("N", ServiceId, ApiKey)


def text_filter(items: Iterable[N], name: str | None, description: str | None) -> Iterator[N]:
    """ibmcloud's `-n` and `-d`: case-sensitive substrings of the name and the description."""
    return (
        x
        for x in items
        if (name is None or name in x.name)
        and (description is None or description in (x.description or ""))
    )


def export_record(key: ApiKey, *, iam_id: str | None, account_id: str | None) -> dict[str, str]:
    """What `--file` writes: the fields `cloudctl`'s export has (name, description, apikey,
    createdAt), then what identifies the key (id, iam_id, account_id)."""
    record = {
        "name": key.name,
        "description": key.description or "",
        "apikey": key.apikey or "",
        "createdAt": key.created_at or "",
        "id": key.id,
        "iam_id": key.iam_id or iam_id or "",
        "account_id": key.account_id or account_id or "",
    }
    return record


def update_service_id(
    flavor: Flavor, current: ServiceId, *, name: str | None, description: str | None
) -> ServiceId:
    return checked_update(
        lambda: flavor.update_service_id(current, name=name, description=description),
        lambda: flavor.service_id(current.id),
        name,
        description,
        None,
    )


def update_api_key(
    flavor: Flavor,
    current: ApiKey,
    *,
    name: str | None,
    description: str | None,
    action_when_leaked: str | None = None,
) -> ApiKey:
    return checked_update(
        lambda: flavor.update_api_key(
            current, name=name, description=description, action_when_leaked=action_when_leaked
        ),
        lambda: flavor.api_key(current.id),
        name,
        description,
        action_when_leaked,
    )


class _Described(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str | None: ...


E = TypeVar("E", bound=_Described)


def checked_update(
    update: Callable[[], E],
    reread: Callable[[], E],
    name: str | None,
    description: str | None,
    action_when_leaked: str | None = None,
) -> E:
    """An update guarded by the version read before. A refusal after a retried send is checked:
    the attempt whose answer was lost may be the very change that made the version stale."""
    try:
        return update()
    except ConflictError as exc:
        if exc.attempts > 1:
            now = reread()
            if _matches(now, name, description, action_when_leaked):
                return now
        raise


def _matches(
    entity: _Described,
    name: str | None,
    description: str | None,
    action_when_leaked: str | None,
) -> bool:
    leak = getattr(entity, "action_when_leaked", None)
    return (
        (name is None or entity.name == name)
        and (description is None or (entity.description or "") == description)
        and (action_when_leaked is None or leak == action_when_leaked)
    )
