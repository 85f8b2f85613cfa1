"""Service IDs and API keys: finding them by name or ID, and what the commands ask for."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from typing import TypeVar

from ..errors import NotFoundError, UsageError
from ..flavors import Flavor
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


def create_service_id(
    flavor: Flavor, name: str, description: str | None, *, locked: bool
) -> ServiceId:
    return flavor.create_service_id(name, description, locked=locked)


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
