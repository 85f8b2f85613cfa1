"""An account's identity settings: the command line's values checked as IBM documents them,
and an update that never overwrites a change made meanwhile.

The update reads the settings first and sends their version (If-Match): a change someone made
between the read and the write is refused by the server (409), and that refusal is what the
user sees, with exit code 5, rather than their change silently undoing the other one.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ConflictError, UsageError

if TYPE_CHECKING:
    from ..account_models import AccountSettings
    from ..flavors.cloud_account import AccountSettingsApi

NOT_SET = "NOT_SET"
RESTRICTIONS = ("RESTRICTED", "NOT_RESTRICTED", NOT_SET)
# IBM's MFA traits (ibmcloud documents six; the API also has NONE_NO_ROPC).
MFA_TRAITS = ("NONE", "NONE_NO_ROPC", "TOTP", "TOTP4ALL", "LEVEL1", "LEVEL2", "LEVEL3")


@dataclass(frozen=True)
class Number:
    """A setting that is a whole number in a range, or NOT_SET (IBM's documented ranges)."""

    low: int
    high: int | None


NUMBERS = {
    "session_expiration_in_seconds": Number(900, 86400),
    "session_invalidation_in_seconds": Number(900, 7200),
    "max_sessions_per_identity": Number(1, None),
    "system_access_token_expiration_in_seconds": Number(900, 3600),
    "system_refresh_token_expiration_in_seconds": Number(900, 259200),
}


def restriction(value: str, flag: str) -> str:
    upper = value.strip().upper()
    if upper not in RESTRICTIONS:
        raise UsageError(f"{flag} must be one of {', '.join(RESTRICTIONS)}, not {value!r}")
    return upper


def mfa_trait(value: str) -> str:
    upper = value.strip().upper()
    if upper not in MFA_TRAITS:
        raise UsageError(f"--mfa must be one of {', '.join(MFA_TRAITS)}, not {value!r}")
    return upper


def number_setting(value: str, setting: str, flag: str) -> str:
    text = value.strip()
    if text.upper() == NOT_SET:
        return NOT_SET
    rule = NUMBERS[setting]
    span = f"from {rule.low} to {rule.high}" if rule.high else f"of at least {rule.low}"
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise UsageError(f"{flag} must be a whole number {span}, or NOT_SET; not {value!r}")
    number = int(text)
    if number < rule.low or (rule.high is not None and number > rule.high):
        raise UsageError(f"{flag} must be a whole number {span}, or NOT_SET; not {value!r}")
    return str(number)


def ip_addresses(value: str) -> str:
    """ibmcloud's ADDRESS_LIST: IP addresses and subnets, separated by commas."""
    parts = [p.strip() for p in value.split(",")]
    if not any(parts):
        raise UsageError(
            "--allowed-ip-addresses needs at least one address or subnet",
            hint="use --unset-allowed-ip-addresses to clear the restriction",
        )
    for part in parts:
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise UsageError(
                f"--allowed-ip-addresses: {part[:60]!r} is not an IP address or subnet"
            ) from None
    return ",".join(p for p in parts if p)


def update_settings(api: AccountSettingsApi, changes: dict[str, str]) -> AccountSettings:
    """Apply CHANGES on top of the settings as they are now, or raise ConflictError if they
    changed between this read and the write."""
    current = api.settings()
    try:
        return api.update_settings(current.entity_tag or "*", changes)
    except ConflictError as exc:
        if exc.attempts > 1:
            # The attempt whose answer was lost may be the very change that made the version
            # stale: if the settings now are what was asked, it was ours.
            now = api.settings()
            if all(now.values.get(k) == v for k, v in changes.items()):
                return now
        exc.message = "The account settings were changed by someone else since they were read"
        exc.hint = "nothing was changed: run 'iamcli account-settings' to see them, then try again"
        raise
