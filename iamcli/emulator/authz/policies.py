"""The engine's view of a stored policy body, v1 or v2 (reference §3.1, §3.2)."""

from __future__ import annotations

from typing import Any

from .engine import Grant


def _attrs(items: Any, name_key: str) -> tuple[tuple[str, str, Any], ...] | None:
    if not isinstance(items, list):
        return None
    out = []
    for a in items:
        if not isinstance(a, dict) or not isinstance(a.get(name_key), str):
            return None
        out.append((a[name_key], str(a.get("operator") or "stringEquals"), a.get("value")))
    return tuple(out)


def grant_of(policy_id: str, body: dict[str, Any]) -> Grant | None:
    """The Grant an access policy body makes, or None when it grants no identity anything
    (an access-group subject, which this server has no groups for, or a malformed body)."""
    if "subjects" in body:  # v1
        subject = _attrs((body.get("subjects") or [{}])[0].get("attributes"), "name")
        resources = body.get("resources") or [{}]
        resource = _attrs(resources[0].get("attributes"), "name")
        tags = bool(resources[0].get("tags"))
        roles = tuple(r.get("role_id") for r in body.get("roles") or [] if isinstance(r, dict))
        rule = None
    else:  # v2
        subject = _attrs((body.get("subject") or {}).get("attributes"), "key")
        resource = _attrs((body.get("resource") or {}).get("attributes"), "key")
        tags = bool((body.get("resource") or {}).get("tags"))
        grant = ((body.get("control") or {}).get("grant")) or {}
        roles = tuple(r.get("role_id") for r in grant.get("roles") or [] if isinstance(r, dict))
        rule = body.get("rule")
    if subject is None or resource is None:
        return None
    iam_ids = [v for k, op, v in subject if k == "iam_id" and op == "stringEquals"]
    if len(iam_ids) != 1 or not isinstance(iam_ids[0], str):
        return None
    others = tuple(a for a in subject if a[0] != "iam_id")
    return Grant(
        policy_id,
        iam_ids[0],
        resource,
        tuple(r for r in roles if isinstance(r, str)),
        rule if isinstance(rule, dict) else None,
        others,
        tags,
    )
