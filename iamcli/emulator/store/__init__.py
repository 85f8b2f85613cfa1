"""The emulator's state: one SQLite database shared by both API families.

Secrets never rest here in usable form. API key values, refresh tokens and opaque access tokens
are stored as SHA-256 digests, and user passwords as scrypt hashes. The values this server makes
are 256 to 384 random bits, which no hash speed makes guessable; a value a caller chooses (a
pass-through `apikey`, `--seed-apikey`) is only as strong as the caller made it. The only
readable key values are those of service-ID keys created with `store_value`, and those are
sealed with AES-GCM under a key kept in a separate 0600 file next to the database, so the
database file alone holds no usable key.

The store speaks in rows and plain exceptions; each route module renders them in its family's
wire format.
"""

from __future__ import annotations

from .account_settings import AccountSettings, AccountSettingsStore, Preference
from .accounts import AccountStore
from .activity import Activity, ActivityStore
from .grants import GrantStore
from .limits import DEFAULT_LIMITS, IdentityLimitStore, LimitExceeded
from .passwords import LoginLocked
from .policies import CustomRoleRow, PolicyRow, PolicyStore
from .profile_templates import ManagedProfile, ProfileTemplateStore
from .profiles import ProfileStore
from .records import (
    ApiKey,
    Bootstrap,
    Conflict,
    Identity,
    Invalid,
    Locked,
    NotFound,
    Page,
    Profile,
    RefreshGrant,
    ServiceId,
    StaleVersion,
    StoreError,
    User,
    digest,
)
from .service_ids import ServiceIdStore
from .serviceid_groups import DEFAULT_GROUP, ServiceIdGroup, ServiceIdGroupStore
from .templates import Assignment, Template, TemplateStore

__all__ = [
    "DEFAULT_GROUP",
    "DEFAULT_LIMITS",
    "AccountSettings",
    "Activity",
    "ApiKey",
    "Assignment",
    "Bootstrap",
    "Conflict",
    "CustomRoleRow",
    "Identity",
    "Invalid",
    "LimitExceeded",
    "Locked",
    "LoginLocked",
    "ManagedProfile",
    "NotFound",
    "Page",
    "PolicyRow",
    "Preference",
    "Profile",
    "RefreshGrant",
    "ServiceId",
    "ServiceIdGroup",
    "StaleVersion",
    "Store",
    "StoreError",
    "Template",
    "User",
    "digest",
]


class Store(
    AccountStore,
    ServiceIdStore,
    GrantStore,
    ServiceIdGroupStore,
    AccountSettingsStore,
    ProfileTemplateStore,
    TemplateStore,
    ProfileStore,
    PolicyStore,
    ActivityStore,
    IdentityLimitStore,
):
    """All emulator state. Safe to share between threads; one instance per process."""
