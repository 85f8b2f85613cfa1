"""Service IDs and API keys: finding them by name or ID, and what the commands ask for."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from ..errors import ConflictError, NetworkError, NotFoundError, ServerError, UsageError
from ..flavors import Flavor
from ..http import back_off, retry_budget
from ..models import ApiKey, Owner, ServiceId

SERVICE_ID_RE = re.compile(r"^ServiceId-[0-9a-fA-F-]{36}$")
API_KEY_RE = re.compile(r"^ApiKey-[0-9a-fA-F-]{36}$")
# Service-ID CRNs of either family end in `serviceid:ServiceId-<uuid>`.
_SERVICE_ID_IN_CRN = re.compile(r"^crn:v1:[^\s]*:serviceid:(ServiceId-[0-9a-fA-F-]{36})$")
_USER_IN_CRN = re.compile(r"^crn:v1:[^\s]*:user:([^:\s]+)$")

T = TypeVar("T")


class AmbiguousName(UsageError):
    """More than one entity has the name given (IBM allows duplicates)."""


def _not_found(kind: str, ref: str) -> NotFoundError:
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
            raise _not_found("service ID", ref) from None
    return _one(list(flavor.service_ids(name=ref)), "service ID", ref, lambda s: s.name == ref)


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
    """Create a service ID exactly once, even when an answer is lost.

    IBM's APIs take no idempotency key, so the service IDs of that name are listed before;
    after an unknown outcome they are listed again, and a new one of that name is the one this
    create made. If none appeared, the create is sent again. (A second client creating the same
    name at the same moment would be indistinguishable; that race is the price.)
    """
    _require_locks(flavor, locked)
    before = {s.id for s in flavor.service_ids(name=name)}
    attempts = retry_budget() + 1  # the same budget as any request's retries
    for attempt in range(attempts):
        if attempt:
            back_off(attempt - 1)
        try:
            return flavor.create_service_id(name, description, locked=locked)
        except (ServerError, NetworkError) as exc:
            if not _ambiguous(exc) or attempt == attempts - 1:
                raise
            new = [s for s in flavor.service_ids(name=name) if s.id not in before]
            if len(new) == 1:
                if note is not None:
                    note(f"the create's answer was lost, but it happened: {new[0].id}")
                return new[0]
            if len(new) > 1:
                ids = ", ".join(s.id for s in new)
                raise AmbiguousName(
                    f"several service IDs named {name!r} appeared while creating one: {ids}"
                ) from exc
    raise AssertionError("unreachable")


def create_api_key(
    flavor: Flavor,
    owner: Owner,
    name: str,
    description: str | None,
    *,
    locked: bool,
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
    before = set() if flavor.creates_are_recognisable else {k.id for k in flavor.api_keys(owner)}
    attempts = retry_budget() + 1
    for attempt in range(attempts):
        if attempt:
            back_off(attempt - 1)
        try:
            return flavor.create_api_key(
                owner, name, description, locked=locked, like=like, value=value
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


def resolve_api_key(flavor: Flavor, ref: str, owner: Owner) -> ApiKey:
    ref = ref.strip()
    if API_KEY_RE.match(ref):
        try:
            return flavor.api_key(ref)
        except NotFoundError:
            raise _not_found("API key", ref) from None
    return _one(list(flavor.api_keys(owner)), "API key", ref, lambda k: k.name == ref)


def get_api_key(flavor: Flavor, kid: str) -> ApiKey:
    if not API_KEY_RE.match(kid.strip()):
        raise UsageError(f"{kid!r} is not an API key ID (ApiKey-<uuid>)")
    try:
        return flavor.api_key(kid.strip())
    except NotFoundError:
        raise _not_found("API key", kid) from None


def _one(found: list[T], kind: str, ref: str, match: object) -> T:
    matches = [x for x in found if match(x)]  # type: ignore[operator]
    if not matches:
        raise _not_found(kind, ref)
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
        raise UsageError("--limit must be 0 or more")
    return iter(items) if limit is None else itertools.islice(items, limit)


def name_filter(items: Iterable[ServiceId], needle: str | None) -> Iterator[ServiceId]:
    """ibmcloud's `-n`: a case-sensitive substring of the name."""
    return (s for s in items if needle is None or needle in s.name)


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
    return _checked_update(
        lambda: flavor.update_service_id(current, name=name, description=description),
        lambda: flavor.service_id(current.id),
        name,
        description,
    )


def update_api_key(
    flavor: Flavor, current: ApiKey, *, name: str | None, description: str | None
) -> ApiKey:
    return _checked_update(
        lambda: flavor.update_api_key(current, name=name, description=description),
        lambda: flavor.api_key(current.id),
        name,
        description,
    )


E = TypeVar("E", ServiceId, ApiKey)


def _checked_update(
    update: Callable[[], E], reread: Callable[[], E], name: str | None, description: str | None
) -> E:
    """An update guarded by the version read before. A refusal after a retried send is checked:
    the attempt whose answer was lost may be the very change that made the version stale."""
    try:
        return update()
    except ConflictError as exc:
        if exc.attempts > 1:
            now = reread()
            if _matches(now, name, description):
                return now
        raise


def _matches(entity: ServiceId | ApiKey, name: str | None, description: str | None) -> bool:
    return (name is None or entity.name == name) and (
        description is None or (entity.description or "") == description
    )
