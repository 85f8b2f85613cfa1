"""Logging in and out, and what the current session is: flavor-neutral decisions.

A login keeps the least secret it can: an API-key login keeps the API key (and no refresh
token: a new exchange of the key does the same job, and one long-lived secret is fewer than
two); a password login keeps only the refresh token, never the password. A key that came from
`IAMCLI_API_KEY`/`IBMCLOUD_API_KEY` is not stored at all: the profile remembers where to
connect, and the variable must stay set.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from .. import config, credentials, token_cache
from ..endpoints import DEFAULT_ENDPOINT, is_loopback, normalize_endpoint
from ..errors import ExitCode, IamcliError, UsageError
from ..http import HttpSettings, make_client
from ..keyfile import read_secret_arg
from ..models import Introspection, TokenGrant, Whoami
from ..output import Output
from ..paths import ENV_KEYS, env_api_key_name
from ..session import Session, to_cached
from ..trace import Trace

Prompt = Callable[[str], str]


@dataclass(frozen=True)
class LoginRequest:
    profile: str
    endpoint: str | None = None
    flavor: str | None = None
    apikey: str | None = None  # as given: KEY, @FILE or -
    username: str | None = None
    password: str | None = None
    account: str | None = None
    skip_ssl_validation: bool = False
    ca_bundle: str | None = None
    insecure_storage: bool = False
    namespace: str = "default"


@dataclass(frozen=True)
class Credential:
    apikey: str | None
    username: str | None
    password: str | None
    source: str  # "--apikey", an env var name, "prompt", "password"


def login(
    req: LoginRequest, *, out: Output, stdin: TextIO, prompt: Prompt | None, trace: Trace | None
) -> config.Profile:
    if req.skip_ssl_validation and req.ca_bundle:
        raise UsageError("--skip-ssl-validation and --ca-bundle cannot be used together")
    if req.ca_bundle and not os.path.exists(req.ca_bundle):
        raise UsageError(f"--ca-bundle {req.ca_bundle}: no such file or directory")
    endpoint = normalize_endpoint(
        req.endpoint or os.environ.get("IAMCLI_ENDPOINT") or DEFAULT_ENDPOINT
    )
    if endpoint.startswith("http://") and not is_loopback(endpoint):
        out.warn(f"{endpoint} is not encrypted: the credential travels in clear text")
    cred = _credential(req, out=out, stdin=stdin, prompt=prompt)
    verify: bool | str = False if req.skip_ssl_validation else (req.ca_bundle or True)
    out.status(f"API endpoint: {endpoint}")
    if cred.source in ENV_KEYS:
        out.status(f"Logging in with API key from environment variable {cred.source}...")
    out.status("Authenticating...")
    with make_client(HttpSettings(endpoint, verify=verify, trace=trace)) as client:
        from ..detect import detect_flavor
        from ..flavors import flavor_class

        flavor_name = (
            req.flavor
            or os.environ.get("IAMCLI_FLAVOR", "").strip().lower()
            or detect_flavor(client, endpoint)
        )
        flavor = flavor_class(flavor_name)(client, namespace=req.namespace)
        if cred.apikey is not None:
            grant = flavor.token_from_apikey(cred.apikey)
        else:
            assert cred.username is not None and cred.password is not None
            grant = flavor.token_from_password(cred.username, cred.password)
        who = flavor.whoami(grant.access_token)
    if req.account and who.account_id and req.account != who.account_id:
        raise UsageError(
            f"this credential belongs to account {who.account_id}, not {req.account}; "
            "an API key cannot switch accounts"
        )

    # Only now that the server took the credential is anything stored, and all of it under
    # the profile's lock, so that a logout or another login of the profile running at the same
    # time cannot leave the profile pointing at a secret that is gone, or the reverse.
    with token_cache.refresh_lock(req.profile):
        profile = _store_login(req, cred, grant, who, endpoint, flavor_name)
    return profile


def _store_login(
    req: LoginRequest,
    cred: Credential,
    grant: TokenGrant,
    who: Whoami,
    endpoint: str,
    flavor_name: str,
) -> config.Profile:
    refresh = grant.refresh_token if cred.apikey is None else None
    if cred.source in ENV_KEYS:
        store = "env"
        previous = config.load_profile(req.profile)
        if previous is not None:  # an earlier login's key must not outlive this one
            _forget_secrets(req.profile, previous)
    else:
        store = credentials.store_secrets(
            req.profile, cred.apikey, refresh, insecure=req.insecure_storage
        )
    profile = config.Profile(
        name=req.profile,
        endpoint=endpoint,
        flavor=flavor_name,  # type: ignore[arg-type]
        account_id=who.account_id,
        iam_id=who.iam_id,
        identity_name=who.name,
        identity_kind=who.kind,  # type: ignore[arg-type]
        skip_ssl_validation=req.skip_ssl_validation,
        ca_bundle=os.path.abspath(req.ca_bundle) if req.ca_bundle else None,
        secret_store=store,  # type: ignore[arg-type]
        has_refresh_token=refresh is not None,
        namespace=req.namespace,
        logged_in_at=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    config.save_profile(profile)
    env_var = cred.source if cred.source in ENV_KEYS else None
    token_cache.save(
        req.profile,
        to_cached(
            grant,
            endpoint=endpoint,
            iam_id=who.iam_id,
            credential=token_cache.credential_id(req.profile, env_var),
            has_refresh_token=refresh is not None,
        ),
    )
    return profile


def _credential(
    req: LoginRequest, *, out: Output, stdin: TextIO, prompt: Prompt | None
) -> Credential:
    if req.username is not None:
        if req.apikey is not None:
            raise UsageError("use either --apikey or -u/-p, not both")
        password = req.password
        if password == "-":
            password = stdin.read().rstrip("\r\n")
        elif password is not None:
            out.warn(
                "a password on the command line can be read by other users of this "
                "machine (ps, /proc); use -p - to read it from stdin"
            )
        if password is None:
            if prompt is None:
                raise UsageError(
                    "no password: pass -p - to read it from stdin (no terminal to ask on)"
                )
            password = prompt("Password: ")
        if password:
            return Credential(None, req.username, password, "password")
        raise UsageError("the password is empty")
    if req.password is not None:
        raise UsageError("-p needs -u USER")
    if req.apikey is not None:
        if req.apikey != "-" and not req.apikey.startswith("@"):
            out.warn(
                "an API key on the command line can be read by other users of this "
                "machine (ps, /proc); use --apikey @FILE, --apikey - or IAMCLI_API_KEY"
            )
        return Credential(read_secret_arg(req.apikey, stdin=stdin), None, None, "--apikey")
    if env_api_key_name() is not None:
        # Read as every other command reads it; with the variable set, the stored key is not
        # reached.
        found = credentials.resolve_api_key(req.profile, None, stdin=None)
        assert found is not None
        return Credential(found[0], None, None, found[1])
    if prompt is None:
        raise UsageError(
            "no API key: pass --apikey KEY|@FILE|- or set IAMCLI_API_KEY (no terminal to ask on)"
        )
    value = prompt("API key: ").strip()
    if not value:
        raise UsageError("the API key is empty")
    return Credential(value, None, None, "prompt")


def logout(profile: str) -> bool:
    """Forget a profile's secrets, cached token and settings; True if there was anything.

    The secrets go first: if the keyring cannot delete them, the profile stays, so that a
    later logout can try again instead of leaving a secret nothing points to.
    """
    with token_cache.refresh_lock(profile):  # the profile's lock: see login
        known = config.load_profile(profile)
        had_token = token_cache.load(profile) is not None
        _forget_secrets(profile, known)
        token_cache.clear(profile)
        config.delete_profile(profile)
    return known is not None or had_token


def _forget_secrets(profile: str, known: config.Profile | None) -> None:
    # A profile whose key came from the environment stored nothing: no keyring to wake.
    if known is None or known.secret_store != "env":
        credentials.delete_secrets(profile, store=known.secret_store if known else None)


@dataclass(frozen=True)
class TargetInfo:
    profile: str
    endpoint: str
    flavor: str | None
    account_id: str | None
    iam_id: str | None
    identity_name: str | None
    identity_kind: str | None
    token_expires_at: int | None
    credential_source: str

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def target(session: Session) -> TargetInfo:
    """What the session would use, without touching the network or the keyring."""
    place = session.place()
    p, known = session.profile, place.profile
    env_var = env_api_key_name()
    if env_var is not None:
        source = f"environment variable {env_var}"
    elif p is not None and p.secret_store == "file":
        source = f"plain-text file {credentials.plaintext_path()} (--insecure-storage)"
    elif p is not None and p.secret_store == "env":
        source = "an environment variable that is no longer set"
    else:
        kind = "refresh token" if p is not None and p.has_refresh_token else "API key"
        source = f"OS keyring ({kind})"
    cached = session.cached_token()
    return TargetInfo(
        profile=session.profile_name,
        endpoint=place.endpoint,
        flavor=place.flavor,
        account_id=known.account_id if known else None,
        iam_id=known.iam_id if known else (cached.iam_id or None if cached else None),
        identity_name=known.identity_name if known else None,
        identity_kind=known.identity_kind if known else None,
        token_expires_at=cached.expires_at if cached else None,
        credential_source=source,
    )


@dataclass(frozen=True)
class Tokens:
    access: str  # with its type: "Bearer eyJ..."
    refresh: str | None
    expires_at: int


def oauth_tokens(session: Session, min_valid: int = 0) -> Tokens:
    token = session.access_token(min_valid)
    refresh = None
    p = session.profile
    if p is not None and p.has_refresh_token and env_api_key_name() is None:
        refresh = credentials.load_secret(session.profile_name, "refresh_token")
    return Tokens(token.authorization, refresh, token.expires_at)


def introspect(session: Session, token: str | None) -> Introspection:
    current = session.access_token() if token is None else None
    if current is not None:
        token = current.access_token
    assert token is not None
    token = token.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    if not token:
        raise UsageError("no token to introspect")
    result = session.flavor(authenticated=False).introspect(token)
    if current is not None and not result.active:
        # The server does not take the token it gave: the next command mints a new one
        # rather than serve this one for the rest of its cached life.
        with contextlib.suppress(IamcliError):
            token_cache.discard(session.profile_name, current.authorization)
    return result


class TokenInactive(IamcliError):
    """Introspection said no: the result is printed, and the exit code says so too."""

    exit_code = ExitCode.AUTH

    def __init__(self, reason: str | None) -> None:
        super().__init__(f"the token is not active{': ' + reason if reason else ''}")
