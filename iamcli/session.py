"""One command run's link to IAM: which profile, which endpoint, which token.

Where things come from, in order:
- endpoint: `IAMCLI_ENDPOINT`, else the profile's, else https://iam.cloud.ibm.com;
- flavor: `IAMCLI_FLAVOR`, else the profile's, else detected from the endpoint;
- credential: `IAMCLI_API_KEY`, then `IBMCLOUD_API_KEY`, then the profile's own login: a
  compute resource asked again (compute_resource.py), or its stored secret (a refresh token
  if the login left one, else its API key); traded for a trusted profile's token when the
  profile has assumed one.

A profile's stored secret (API key or refresh token) goes only to the endpoint and flavor it
was logged in with: a run whose endpoint or flavor differs (`IAMCLI_ENDPOINT`, `IAMCLI_FLAVOR`)
uses an environment key or fails (see :meth:`Session.check_secret_bound`), so that pointing a
shell at another host never hands that host the key.

The access token is cached per profile (token_cache). A cached token is only used for the same
endpoint and the same credential it was minted from, so switching `IAMCLI_API_KEY` in a shell
never prints another key's token, and a token is never sent to a host it was not minted by.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from . import config, token_cache
from .endpoints import DEFAULT_ENDPOINT, normalize_endpoint
from .errors import IamcliError, NotLoggedInError, TokenLifetimeError, UsageError
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
        self._renewed = False
        # The family the stdlib token grant found (lean_http), so that target() asks no more.
        self._detected: str | None = None

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
        flavor = place.flavor or self._detected
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
        if authenticated:
            self._check_place_of_stored_secret()
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
            from .http import on_refused_token

            token = self.access_token()
            self._flavor.bearer = token.authorization
            on_refused_token(self._flavor.client, self._renew_refused)
            if self._flavor.account_id is None:
                self._flavor.account_id = self._flavor.whoami(token.access_token).account_id
        return self._flavor

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- the token -------------------------------------------------------------------------

    def cached_token(self) -> token_cache.CachedToken | None:
        """The cached token if it was minted from what this run uses, by the endpoint this run
        goes to, whatever its age."""
        cached = token_cache.usable(self.profile_name)
        if cached is None or cached.endpoint != self.place().endpoint:
            return None
        return cached

    def _check_place_of_stored_secret(self) -> None:
        # Before the flavor is detected: a host the stored secret is not for hears nothing.
        if env_api_key_name() is None:
            place = self.place()
            self.check_secret_bound(place.endpoint, place.flavor)

    def check_secret_bound(self, endpoint: str, flavor: str | None) -> None:
        """Refuse to use the profile's stored secret anywhere but where it was logged in.

        The secret was given to one server; another one (a typo in IAMCLI_ENDPOINT, a shell
        left pointing at a test server, a hostile host) must never receive it. An environment
        key is the way to reach another endpoint without logging in to it.
        """
        p = self.profile
        if p is None or (endpoint == p.endpoint and flavor in (None, p.flavor)):
            return
        here = endpoint if flavor in (None, p.flavor) else f"{endpoint} ({flavor})"
        there = p.endpoint if flavor in (None, p.flavor) else f"{p.endpoint} ({p.flavor})"
        raise NotLoggedInError(
            f"Not logged in to {here}: profile {self.profile_name!r} is logged in to {there}, "
            "and its stored credential is sent only there.",
            hint=(
                f"set IAMCLI_API_KEY for {endpoint}, log in to it with 'iamcli login -a "
                f"{endpoint} --profile NAME', or unset IAMCLI_ENDPOINT and IAMCLI_FLAVOR"
            ),
        )

    def access_token(self, min_valid: int = 0) -> token_cache.CachedToken:
        """A usable access token: the cached one while it is fresh, else a newly minted one;
        with `min_valid`, one still valid that many seconds from now, or TokenLifetimeError.

        Concurrent processes serialise on the profile's refresh lock and re-read the cache
        once they hold it, so that a crowd of them mints one token, not one each.
        """
        cached = self.cached_token()
        if cached is not None and token_cache.fresh_enough(cached, min_valid):
            return cached
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(token_cache.refresh_lock(self.profile_name))
            except IamcliError as exc:
                # The cache only saves work: a command must not fail because it is unusable.
                self.out.warn(f"not using the token cache: {exc.message}")
                return _long_enough(self._mint(cache=False), min_valid)
            cached = self.cached_token()
            if cached is not None and token_cache.fresh_enough(cached, min_valid):
                return cached
            try:
                return _long_enough(self._mint(), min_valid)
            except TokenLifetimeError:
                raise
            except IamcliError:
                # A token due for refresh but not yet expired still works: IBM's SDKs keep
                # using it when the early refresh fails, and so do we.
                if (
                    cached is not None
                    and not token_cache.is_expired(cached)
                    and token_cache.lasts(cached, min_valid)
                ):
                    return cached
                raise

    def _renew_refused(self, refused: str) -> str | None:
        """The server answered 401 to ``refused``: drop it from the cache and mint a new one,
        once per run (a server that refuses every token gets one more try, not a loop)."""
        if self._renewed:
            return None
        self._renewed = True
        # An unusable cache is no reason to fail: the new token is minted without it.
        with contextlib.suppress(IamcliError):
            token_cache.discard(self.profile_name, refused)
        token = self.access_token()
        if token.authorization == refused:
            token = self._mint(cache=False)
        if self._flavor is not None:
            self._flavor.bearer = token.authorization
        return token.authorization

    def _mint(self, *, cache: bool = True) -> token_cache.CachedToken:
        env_var = env_api_key_name()
        p = self.profile
        # First: own_grant checks where the credential may go before anything is sent (even
        # the flavor detection that target() may do).
        grant = self._stdlib_grant() or self.own_grant()
        t = self.target()
        iam_id = p.iam_id if p is not None and env_var is None else ""
        has_refresh = env_var is None and p is not None and p.has_refresh_token
        if p is not None and p.assumed_profile_id:
            from .trusted_profile_models import ProfileRef

            # The login's own token is traded for the assumed profile's every time.
            flavor = self.flavor(authenticated=False)
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

    def _stdlib_grant(self) -> TokenGrant | None:
        """An environment API key's token without loading httpx (iamcli/lean_http.py), when
        that path can do it exactly as the full one; None: the full path does it."""
        p = self.profile
        if (
            env_api_key_name() is None
            or self.trace is not None
            or self._client is not None
            or (p is not None and p.assumed_profile_id)
        ):
            return None
        from .lean_http import apikey_grant

        done = apikey_grant(self)
        if done is None:
            return None
        self._detected, grant = done
        return grant

    def own_grant(self) -> TokenGrant:
        """A new token from the login's own credential (never an assumed profile's)."""
        from . import credentials

        env_var = env_api_key_name()
        self._check_place_of_stored_secret()
        if env_var is None:
            # A profile's credential (a stored secret, or a compute resource's token) goes
            # only to the endpoint and flavor it logged in with, checked before any request.
            t = self.target()
            self.check_secret_bound(t.endpoint, t.flavor)
        flavor = self.flavor(authenticated=False)
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


def _long_enough(token: token_cache.CachedToken, min_valid: int) -> token_cache.CachedToken:
    if token_cache.lasts(token, min_valid):
        return token
    from .durations import describe

    life = token.expires_at - token.issued_at
    raise TokenLifetimeError(
        f"the server's tokens live {describe(life)}: no token is valid for "
        f"--min-valid {describe(min_valid)}"
    )


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
    reason = f"profile {profile!r}" + (f" ({why})" if why else "")
    return NotLoggedInError(
        f"Not logged in: {reason}.",
        hint=f"run 'iamcli login{scope}', or set IAMCLI_API_KEY (and IAMCLI_ENDPOINT) for CI",
    )
