"""The two API families behind one set of verbs.

Commands and services never branch on the flavor: they call a :class:`Flavor`, and
`flavors/cloud.py` or `flavors/private.py` maps each verb onto its family's wire format.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, ClassVar, TypeVar

from ..errors import ProtocolError, UsageError
from ..models import ApiKey, Introspection, KeySettings, Owner, ServiceId, TokenGrant, Whoami
from ._wire import Reader

if TYPE_CHECKING:
    # httpx only for its types: the token grant of the fast path reads answers with this
    # package's helpers without loading httpx (see iamcli/lean_http.py).
    import httpx

    from ..trusted_profile_models import ProfileRef
    from .cloud_account import AccountSettingsApi, TemplateApi
    from .cloud_profiles import TrustedProfileApi
    from .policy_api import PolicyApi

P = TypeVar("P")
# Both families take an API key with the grant type IBM defines for it.
APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
# The most an API lets a list ask for in one page: fewer round trips for long lists.
PAGE_SIZE = 100
# A list longer than this many pages (a million entities) is a server that never stops.
MAX_PAGES = 10_000


class Flavor(ABC):
    """One API family, spoken over one client. `bearer` must be set before entity calls."""

    name: ClassVar[str]
    # Whether a create sent twice is recognised by the server (IBM Cloud's pass-through key
    # values are), so that a lost answer needs no clean-up by the caller.
    creates_are_recognisable: ClassVar[bool] = False
    supports_locks: ClassVar[bool] = False
    # Disabling and enabling API keys (without deleting them).
    supports_disable: ClassVar[bool] = False
    # action_when_leaked, expires_at and store_value on API keys.
    supports_key_settings: ClassVar[bool] = False

    def __init__(
        self,
        client: httpx.Client,
        *,
        account_id: str | None = None,
        cluster_name: str | None = None,
        namespace: str = "default",
    ) -> None:
        self.client = client
        self.account_id = account_id
        self.cluster_name = cluster_name
        self.namespace = namespace
        self.bearer: str | None = None

    @property
    def where(self) -> str:
        return self.client.base_url.host or str(self.client.base_url)

    def auth_headers(self) -> dict[str, str]:
        if self.bearer is None:
            raise RuntimeError("no access token set")  # a programming error, not a user one
        return {"Authorization": self.bearer}

    def _get(self, path: str) -> Reader:
        from ..http import Retry, json_object, send

        response = send(
            self.client, "GET", path, retry=Retry.IDEMPOTENT, headers=self.auth_headers()
        )
        return Reader(json_object(response), self.where)

    def unsupported(self, what: str) -> UsageError:
        return UsageError(f"{what} is not available on the {self.name} API family")

    # -- tokens ----------------------------------------------------------------------------

    @abstractmethod
    def token_from_apikey(self, apikey: str) -> TokenGrant: ...

    @abstractmethod
    def token_from_password(self, username: str, password: str) -> TokenGrant: ...

    @abstractmethod
    def token_from_refresh(self, refresh_token: str) -> TokenGrant: ...

    @abstractmethod
    def whoami(self, access_token: str) -> Whoami: ...

    # -- trusted profiles (the public cloud only; elsewhere a usage error naming the family)

    def token_from_cr_token(self, cr_token: str, profile: ProfileRef) -> TokenGrant:
        raise self.unsupported("logging in with a compute-resource token")

    def token_from_assume(self, access_token: str, profile: ProfileRef) -> TokenGrant:
        raise self.unsupported("assuming a trusted profile")

    def trusted_profiles(self) -> TrustedProfileApi:
        raise self.unsupported("trusted profiles")

    def account_settings(self) -> AccountSettingsApi:
        raise self.unsupported("managing account settings")

    def templates(self, kind: str) -> TemplateApi:
        """Enterprise templates of one kind (`account_settings`, `profile`)."""
        raise self.unsupported("managing enterprise templates and assignments")

    @abstractmethod
    def introspect(self, access_token: str) -> Introspection: ...

    # -- service IDs -----------------------------------------------------------------------

    @abstractmethod
    def service_ids(self, *, name: str | None = None) -> Iterator[ServiceId]: ...

    @abstractmethod
    def service_id(self, sid: str) -> ServiceId: ...

    @abstractmethod
    def create_service_id(
        self, name: str, description: str | None, *, locked: bool
    ) -> ServiceId: ...

    @abstractmethod
    def update_service_id(
        self, current: ServiceId, *, name: str | None, description: str | None
    ) -> ServiceId: ...

    @abstractmethod
    def delete_service_id(self, sid: str) -> None: ...

    @abstractmethod
    def lock_service_id(self, sid: str, locked: bool) -> None: ...

    # -- API keys --------------------------------------------------------------------------

    @abstractmethod
    def api_keys(self, owner: Owner) -> Iterator[ApiKey]: ...

    @abstractmethod
    def api_key(self, kid: str) -> ApiKey: ...

    def service_api_keys(self) -> Iterator[ApiKey]:
        """Every service-ID API key of the account: each service ID's keys in turn (a family
        with an account-wide list overrides this)."""
        for sid in self.service_ids():
            yield from self.api_keys(Owner(sid))

    @abstractmethod
    def create_api_key(
        self,
        owner: Owner,
        name: str,
        description: str | None,
        *,
        locked: bool,
        like: ApiKey | None = None,
        value: str | None = None,
        settings: KeySettings = KeySettings(),
    ) -> ApiKey:
        """Create a key; `like` gives the leak action and expiry to carry over (where the
        family has them), `value` the key itself where the family lets the client choose it
        (`chooses_values`), `settings` what the user asked for (IBM Cloud only)."""

    @abstractmethod
    def update_api_key(
        self,
        current: ApiKey,
        *,
        name: str | None,
        description: str | None,
        action_when_leaked: str | None = None,
    ) -> ApiKey: ...

    @abstractmethod
    def delete_api_key(self, kid: str) -> None: ...

    # -- access policies and roles (flavors/policy_api.py) --------------------------------

    def policy_api(self) -> PolicyApi:
        raise self.unsupported("access policies")

    # Whether create_api_key takes a value chosen here (IBM Cloud's pass-through keys).
    chooses_values: ClassVar[bool] = False

    def lock_api_key(self, kid: str, locked: bool) -> None:
        raise self.unsupported("locking API keys")

    def api_key_by_value(self, value: str) -> ApiKey | None:
        """The key whose value this is, where the family can look it up; else None."""
        return None

    def disable_api_key(self, kid: str, disabled: bool = True) -> None:
        raise self.unsupported("disabling API keys")


def paged(
    fetch: Callable[[P], list[Reader]],
    first: P,
    following: Callable[[P, list[Reader]], P | None],
    *,
    where: str,
    identity: Callable[[Reader], object],
) -> Iterator[Reader]:
    """The items of a list, page after page, ending however the server answers.

    `fetch(cursor)` gets one page's items, `following(cursor, items)` names the next page or
    None, `identity(item)` tells items apart. The next page is fetched (by one helper thread)
    while the caller works on the current one: a long list then costs the server's time or
    ours, not both added up. Only one request is ever in flight, so the HTTP client is used
    by one thread at a time.

    A server that names a page it already sent (a repeated page token, an ignored page number
    that brings the same items again) or a page with nothing new would make a list that never
    ends: that is a ProtocolError, as is a list longer than MAX_PAGES pages.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iamcli-page")
    seen_pages: set[str] = {repr(first)}
    seen_items: set[str] = set()
    try:
        cursor: P | None = first
        pending: Future[list[Reader]] | None = pool.submit(fetch, first)
        for number in itertools.count(1):
            assert pending is not None and cursor is not None
            items = pending.result()
            after = following(cursor, items)
            if after is not None:
                if number >= MAX_PAGES:
                    raise ProtocolError(f"the list from {where} goes on past {MAX_PAGES} pages")
                if repr(after) in seen_pages:
                    raise ProtocolError(
                        f"the list from {where} does not end: its next page is one it already sent"
                    )
                fresh = {repr(identity(i)) for i in items} - seen_items
                if not fresh:
                    raise ProtocolError(
                        f"the list from {where} does not end: page {number} brought nothing new"
                    )
                seen_pages.add(repr(after))
            seen_items.update(repr(identity(i)) for i in items)
            pending = pool.submit(fetch, after) if after is not None else None
            cursor = after
            yield from items
            if pending is None:
                return
    finally:
        # A reader that stopped early (--limit, Ctrl-C, an error) does not wait for the page
        # being fetched; the process exits without it.
        pool.shutdown(wait=False, cancel_futures=True)


def flavor_class(name: str) -> type[Flavor]:
    if name == "cloud":
        from .cloud import Cloud

        return Cloud
    if name == "private":
        from .private import Private

        return Private
    raise UsageError(f"unknown flavor {name!r}; choose cloud or private")
