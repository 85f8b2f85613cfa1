"""Delegated refresh tokens: `response_type=delegated_refresh_token` with
`receiver_client_ids` on `/identity/token` (reference/ibmcloud-iam.md §1.3,
profiles-policies-authz.md §2.4), which IBM's Cloud Object Storage SDK asks for.

A DRT is for the named receiving clients (IBM services) to exchange; this server has none, so
it mints the token, keeps its digest as a grant for those clients only (never usable as the
CLI's refresh token), and exchanges nothing. UNCONFIRMED: the DRT's format (opaque here) and
IBM's body when only the DRT is asked for; the answer here always carries the access token too,
which any client reading either field accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import formats
from ..problems import Problem
from ..store import RefreshGrant, Store

RESPONSE_TYPE = "delegated_refresh_token"
DEFAULT_EXPIRY = 518400  # six days, IBM's documented default
MAX_EXPIRY = 30 * 86400


def requested(response_type: str) -> bool:
    return RESPONSE_TYPE in response_type.replace(",", " ").split()


def add(
    body: dict[str, Any], store: Store, form: Mapping[str, str], iam_id: str, account_id: str
) -> None:
    """Put a DRT for FORM's receiver_client_ids into the token body."""
    receivers = [r for r in form.get("receiver_client_ids", "").replace(" ", ",").split(",") if r]
    if not receivers:
        raise Problem(
            400, "Property missing or empty. Property: receiver_client_ids", code="BXNIM0106E"
        )
    if len(receivers) > 20 or any(len(r) > 256 for r in receivers):
        raise Problem(400, "Validation of property 'receiver_client_ids' failed", code="BXNIM0106E")
    raw = form.get("delegated_refresh_token_expiry", "")
    try:
        expiry = int(raw) if raw else DEFAULT_EXPIRY
    except ValueError:
        expiry = -1
    if not 1 <= expiry <= MAX_EXPIRY:
        raise Problem(
            400,
            "Validation of property 'delegated_refresh_token_expiry' failed: "
            f"seconds from 1 to {MAX_EXPIRY}",
            code="BXNIM0106E",
        )
    grant = RefreshGrant(
        iam_id,
        account_id,
        None,
        "drt:" + ",".join(sorted(set(receivers))),
        form.get("grant_type", ""),
        formats.now() + expiry,
    )
    body["delegated_refresh_token"] = store.add_refresh_token(grant)
