"""One command run's link to IAM: which profile, which endpoint, which token.

Where things come from, in order:
- endpoint: `IAMCLI_ENDPOINT`, else the profile's, else https://iam.cloud.ibm.com;
- flavor: `IAMCLI_FLAVOR`, else the profile's, else detected from the endpoint;
- credential: `IAMCLI_API_KEY`, then `IBMCLOUD_API_KEY`, then the profile's own login: a
  compute resource asked again (compute_resource.py), or its stored secret (a refresh token
  if the login left one, else its API key); traded for a trusted profile's token when the
  profile has assumed one.

The access token is cached per profile (token_cache). A cached token is only used for the same
endpoint and the same credential it was minted from, so switching `IAMCLI_API_KEY` in a shell
never prints another key's token.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from . import config, token_cache
from .endpoints import DEFAULT_ENDPOINT, normalize_endpoint
from .errors import IamcliError, NotLoggedInError, UsageError
from .paths import FLAVORS, env_api_key_name

if TYPE_CHECKING:
    import httpx

    from .flavors import Flavor
    from .models import TokenGrant
    from .output import Output
    from .trace import Trace


@dataclass(frozen=True)
class Place:
    endpoint: str
    flavor: str | None  # None: not known without asking the server
    verify: bool | str
    profile: config.Profile | None  # the profile, when it is for this endpoint


@dataclass(frozen=True)
class Target:
    endpoint: str
    flavor: str
    verify: bool | str
    account_id: str | None
    namespace: str
    cluster_name: str | None


class Session:
    def __init__(
        self,
        profile_name: str,
        *,
        out: Output,
        trace: Trace | None = None,
        stdin: TextIO | None = None,
    ) -> None:
        self.profile_name = profile_name
        self.out = out
        self.trace = trace
        self.stdin = stdin
        self.profile = config.load_profile(profile_name)
        self._client: httpx.Client | None = None
        self._flavor: Flavor | None = None
        self._target: Target | None = None

    # -- where -----------------------------------------------------------------------------

    def place(self) -> Place:
        """Where this run goes and what is known of it, without the network or the keyring."""
        p = self.profile
        env_endpoint = os.environ.get("IAMCLI_ENDPOINT", "").strip()
        if p is None and env_api_key_name() is None:
            raise not_logged_in(self.profile_name)
        endpoint = (
            normalize_endpoint(env_endpoint)
            if env_endpoint
            else (p.endpoint if p else DEFAULT_ENDPOINT)
        )
        # The profile's other settings hold only for the endpoint it logged in to.
        known = p if p is not None and endpoint == p.endpoint else None
        verify: bool | str = True
        if known is not None:
            verify = False if known.skip_ssl_validation else (known.ca_bundle or True)
        flavor = os.environ.get("IAMCLI_FLAVOR", "").strip().lower() or (
            known.flavor if known is not None else None
        )
        if flavor is not None and flavor not in FLAVORS:
            raise UsageError(f"IAMCLI_FLAVOR must be cloud or private, not {flavor!r}")
        return Place(endpoint, flavor, verify, known)

    def target(self) -> Target:
        if self._target is not None:
            return self._target
        place = self.place()
        flavor = place.flavor
        if flavor is None:
            from .detect import detect_flavor

            flavor = detect_flavor(self.http_client(place.endpoint, place.verify), place.endpoint)
        p = self.profile
        self._target = Target(
            endpoint=place.endpoint,
            flavor=flavor,
            verify=place.verify,
            account_id=place.profile.account_id if place.profile is not None else None,
            namespace=p.namespace if p is not None else "default",
            cluster_name=p.cluster_name if p is not None else None,
        )
        return self._target

    def http_client(self, endpoint: str, verify: bool | str) -> httpx.Client:
        if self._client is None:
            from .http import HttpSettings, make_client

            self._client = make_client(HttpSettings(endpoint, verify=verify, trace=self.trace))
        return self._client

    def flavor(self, *, authenticated: bool = True) -> Flavor:
        if self._flavor is None:
            from .flavors import flavor_class

            t = self.target()
            self._flavor = flavor_class(t.flavor)(
                self.http_client(t.endpoint, t.verify),
                account_id=t.account_id,
                cluster_name=t.cluster_name,
                namespace=t.namespace,
            )
        if authenticated and self._flavor.bearer is None:
            token = self.access_token()
            self._flavor.bearer = token.authorization
            if self._flavor.account_id is None:
                self._flavor.account_id = self._flavor.whoami(token.access_token).account_id
        return self._flavor

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- the token -------------------------------------------------------------------------

    def cached_token(self) -> token_cache.CachedToken | None:
        """The cached token if it was minted from what this run uses, whatever its age."""
        return token_cache.usable(self.profile_name)

    def access_token(self) -> token_cache.CachedToken:
        """A usable access token: the cached one while it is fresh, else a newly minted one.

        Concurrent processes serialise on the profile's refresh lock and re-read the cache
        once they hold it, so that a crowd of them mints one token, not one each.
        """
        cached = self.cached_token()
        if cached is not None and not token_cache.needs_refresh(cached):
            return cached
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(token_cache.refresh_lock(self.profile_name))
            except IamcliError as exc:
                # The cache only saves work: a command must not fail because it is unusable.
                self.out.warn(f"not using the token cache: {exc.message}")
                return self._mint(cache=False)
            cached = self.cached_token()
            if cached is not None and not token_cache.needs_refresh(cached):
                return cached
            try:
                return self._mint()
            except IamcliError:
                # A token due for refresh but not yet expired still works: IBM's SDKs keep
                # using it when the early refresh fails, and so do we.
                if cached is not None and not token_cache.is_expired(cached):
                    return cached
                raise

    def _mint(self, *, cache: bool = True) -> token_cache.CachedToken:
        t = self.target()
        flavor = self.flavor(authenticated=False)
        env_var = env_api_key_name()
        p = self.profile
        grant = self.own_grant()
        iam_id = p.iam_id if p is not None and env_var is None else ""
        has_refresh = env_var is None and p is not None and p.has_refresh_token
        if p is not None and p.assumed_profile_id:
            from .trusted_profile_models import ProfileRef

            # The login's own token is traded for the assumed profile's every time.
            grant = flavor.token_from_assume(
                grant.access_token, ProfileRef("id", p.assumed_profile_id)
            )
            iam_id, has_refresh = flavor.whoami(grant.access_token).iam_id, False
        token = to_cached(
            grant,
            endpoint=t.endpoint,
            iam_id=iam_id,
            credential=token_cache.credential_id(self.profile_name, env_var),
            has_refresh_token=has_refresh,
        )
        if cache:
            try:
                token_cache.save(self.profile_name, token)
            except IamcliError as exc:
                self.out.warn(f"could not cache the token: {exc.message}")
        return token

    def own_grant(self) -> TokenGrant:
        """A new token from the login's own credential (never an assumed profile's)."""
        from . import credentials

        flavor = self.flavor(authenticated=False)
        env_var = env_api_key_name()
        p = self.profile
        if env_var is None and p is not None and p.compute_resource is not None:
            from . import compute_resource

            return compute_resource.for_refresh(p).grant(flavor, trace=self.trace)
        if env_var is None and p is not None and p.has_refresh_token:
            refresh = credentials.load_secret(self.profile_name, "refresh_token")
            if refresh is None:
                raise not_logged_in(
                    self.profile_name, "its refresh token is gone from the credential store"
                )
            grant = flavor.token_from_refresh(refresh)
            if grant.refresh_token and grant.refresh_token != refresh:
                credentials.store_refresh_token(self.profile_name, grant.refresh_token)
            return grant
        found = credentials.resolve_api_key(self.profile_name, None, stdin=self.stdin)
        if found is None:
            raise not_logged_in(self.profile_name, "no API key is stored for it")
        return flavor.token_from_apikey(found[0])


def to_cached(
    grant: TokenGrant,
    *,
    endpoint: str,
    iam_id: str,
    credential: str,
    has_refresh_token: bool = False,
) -> token_cache.CachedToken:
    times = token_cache.token_times(
        grant.access_token, expires_in=grant.expires_in, expiration=grant.expiration
    )
    issued_at, expires_at = times
    return token_cache.CachedToken(
        access_token=grant.access_token,
        token_type=grant.token_type or "Bearer",
        expires_at=expires_at,
        issued_at=issued_at,
        endpoint=endpoint,
        iam_id=iam_id,
        credential=credential,
        has_refresh_token=has_refresh_token,
    )


def not_logged_in(profile: str, why: str | None = None) -> NotLoggedInError:
    scope = "" if profile == config.DEFAULT_PROFILE else f" --profile {profile}"
    reason = f"profile {profile!r} is not logged in" + (f" ({why})" if why else "")
    return NotLoggedInError(
        f"Not logged in: {reason}.",
        hint=f"run 'iamcli login{scope}', or set IAMCLI_API_KEY (and IAMCLI_ENDPOINT) for CI",
    )
