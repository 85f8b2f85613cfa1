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
from typing import TYPE_CHECKING, TextIO

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

if TYPE_CHECKING:
    from ..compute_resource import ComputeCredential

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
    namespace: str | None = None  # None: the profile's, else "default"
    cr_token: str | None = None  # as given: TOKEN or @FILE
    trusted_profile: str | None = None
    vpc_cri: bool = False


@dataclass(frozen=True)
class Credential:
    apikey: str | None
    username: str | None
    password: str | None
    source: str  # "--apikey", an env var name, "prompt", "password", "cr-token", "vpc"
    compute: ComputeCredential | None = None


def login(
    req: LoginRequest, *, out: Output, stdin: TextIO, prompt: Prompt | None, trace: Trace | None
) -> config.Profile:
    if req.skip_ssl_validation and req.ca_bundle:
        raise UsageError("--skip-ssl-validation and --ca-bundle cannot be used together")
    if req.ca_bundle and not os.path.exists(req.ca_bundle):
        raise UsageError(f"--ca-bundle {req.ca_bundle}: no such file or directory")
    previous = config.load_profile(req.profile)
    # As ibmcloud keeps its API endpoint: a login without -a goes where the profile went.
    given = req.endpoint or os.environ.get("IAMCLI_ENDPOINT")
    endpoint = normalize_endpoint(
        given or (previous.endpoint if previous is not None else DEFAULT_ENDPOINT)
    )
    # The profile's other settings hold for the endpoint it logged in to, and only there.
    kept = previous if previous is not None and previous.endpoint == endpoint else None
    if endpoint.startswith("http://") and not is_loopback(endpoint):
        out.warn(f"{endpoint} is not encrypted: the credential travels in clear text")
    if _will_store(req):
        # Before asking for a key or sending it anywhere: a login that cannot keep its
        # secret fails now, not after the user typed it and the server took it.
        credentials.check_store(req.profile, insecure=req.insecure_storage)
    skip_ssl, ca_bundle = req.skip_ssl_validation, req.ca_bundle
    if kept is not None and not skip_ssl and ca_bundle is None:
        skip_ssl, ca_bundle = kept.skip_ssl_validation, kept.ca_bundle
    namespace = req.namespace or (kept.namespace if kept is not None else None) or "default"
    cred = _credential(req, out=out, stdin=stdin, prompt=prompt)
    verify: bool | str = False if skip_ssl else (ca_bundle or True)
    out.status(f"API endpoint: {endpoint}")
    if cred.source in ENV_KEYS:
        out.status(f"Logging in with API key from environment variable {cred.source}...")
    elif cred.compute is not None:
        out.status(f"Logging in as a trusted profile with a {cred.compute.kind} credential...")
    out.status("Authenticating...")
    with make_client(HttpSettings(endpoint, verify=verify, trace=trace)) as client:
        from ..detect import detect_flavor
        from ..flavors import flavor_class

        flavor_name = (
            req.flavor
            or os.environ.get("IAMCLI_FLAVOR", "").strip().lower()
            or (kept.flavor if kept is not None else None)
            or detect_flavor(client, endpoint)
        )
        flavor = flavor_class(flavor_name)(client, namespace=namespace)
        if cred.compute is not None:
            grant = cred.compute.grant(flavor, trace=trace)
        elif cred.apikey is not None:
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
        profile = _store_login(
            req,
            cred,
            grant,
            who,
            endpoint,
            flavor_name,
            tls=(skip_ssl, ca_bundle),
            namespace=namespace,
        )
    return profile


def _store_login(
    req: LoginRequest,
    cred: Credential,
    grant: TokenGrant,
    who: Whoami,
    endpoint: str,
    flavor_name: str,
    *,
    tls: tuple[bool, str | None],
    namespace: str,
) -> config.Profile:
    skip_ssl, ca_bundle = tls
    # Only a password login keeps a refresh token; a compute resource is asked again instead.
    refresh = grant.refresh_token if cred.username is not None else None
    if cred.source in ENV_KEYS or cred.compute is not None:
        store = "env"
        previous = config.load_profile(req.profile)  # again, under the lock
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
        skip_ssl_validation=skip_ssl,
        ca_bundle=os.path.abspath(ca_bundle) if ca_bundle else None,
        secret_store=store,  # type: ignore[arg-type]
        has_refresh_token=refresh is not None,
        namespace=namespace,
        logged_in_at=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **(cred.compute.profile_fields() if cred.compute is not None else {}),
    )
    config.save_profile(profile)
    env_var = cred.source if cred.source in ENV_KEYS else None
    if cred.compute is not None:
        # The token is the profile's by now; the environment must not name another key.
        env_var = env_api_key_name()
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


def _will_store(req: LoginRequest) -> bool:
    """Whether this login keeps a secret (a key from the environment is not stored, and a
    trusted-profile login stores none: it asks its compute resource again)."""
    from .. import compute_resource

    if req.cr_token is not None or req.trusted_profile is not None or req.vpc_cri:
        return False
    if req.apikey is not None or req.username is not None:
        return True
    return env_api_key_name() is None and not compute_resource.in_environment()


def _credential(
    req: LoginRequest, *, out: Output, stdin: TextIO, prompt: Prompt | None
) -> Credential:
    from .. import compute_resource

    asked = req.cr_token is not None or req.trusted_profile is not None or req.vpc_cri
    if asked and (req.apikey is not None or req.username is not None):
        raise UsageError(
            "--cr-token, --vpc-cri and --trusted-profile log in without --apikey or -u"
        )
    if asked or (
        req.apikey is None
        and req.username is None
        and env_api_key_name() is None
        and compute_resource.in_environment()
    ):
        if env_api_key_name() is not None:
            out.warn(
                f"{env_api_key_name()} is set: the commands of this profile will use that key, "
                "not the trusted profile, until it is unset"
            )
        compute = compute_resource.for_login(
            cr_token=req.cr_token, trusted_profile=req.trusted_profile, vpc_cri=req.vpc_cri, out=out
        )
        return Credential(None, None, None, compute.kind, compute)
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
    assumed_profile: str | None = None  # trusted-profile-assume: "name (ID)"

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def target(session: Session) -> TargetInfo:
    """What the session would use, without touching the network or the keyring."""
    place = session.place()
    p, known = session.profile, place.profile
    _, source = credential_state(session.profile_name, p)
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
        assumed_profile=(
            f"{p.assumed_profile_name} ({p.assumed_profile_id})"
            if p is not None and p.assumed_profile_id
            else None
        ),
    )


def credential_state(name: str, p: config.Profile | None) -> tuple[bool, str]:
    """Whether the profile has a credential it can use now, and where it comes from, without
    the network. A stored secret is read to be sure: "OS keyring" is said only of a secret
    that is there and readable."""
    env_var = env_api_key_name()
    if env_var is not None:
        return True, f"environment variable {env_var}"
    if p is None:
        return False, "none (not logged in)"
    if p.compute_resource == "cr-token":
        where = p.cr_token_file or "environment variable IBMCLOUD_CR_TOKEN"
        return True, f"compute-resource token from {where} (read at every refresh; not stored)"
    if p.compute_resource == "vpc":
        return True, f"VPC instance metadata service {p.vpc_url} (not stored)"
    kind: credentials.SecretKind = "refresh_token" if p.has_refresh_token else "apikey"
    label = "refresh token" if p.has_refresh_token else "API key"
    if p.secret_store == "env":
        return False, "none: the environment variable it logged in with is no longer set"
    where = (
        f"plain-text file {credentials.plaintext_path()} (--insecure-storage)"
        if p.secret_store == "file"
        else f"OS keyring ({label})"
    )
    try:
        found = credentials.load_secret(name, kind, store=p.secret_store, quiet=True)
    except IamcliError as exc:
        return False, f"{where}, but it cannot be read: {exc.message}"
    if found is None:
        return False, f"none: the {where} holds no {label} for this profile"
    return True, where


@dataclass(frozen=True)
class Tokens:
    access: str  # with its type: "Bearer eyJ..."
    refresh: str | None
    expires_at: int


def oauth_tokens(session: Session, min_valid: int = 0) -> Tokens:
    token = session.access_token(min_valid)
    refresh = None
    p = session.profile
    # An assumed profile's tokens come with no refresh token of ours to show.
    if (
        p is not None
        and p.has_refresh_token
        and not p.assumed_profile_id
        and env_api_key_name() is None
    ):
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
