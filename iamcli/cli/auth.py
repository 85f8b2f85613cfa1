"""`login`, `logout`, `target`, `oauth-tokens`, `introspect`: parse, call, render."""

import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import UsageError
from ..output import oauth_tokens_text
from ..paths import FLAVORS
from .complete import flavors
from .flags import MIN_VALID_FLAG, RAW_FLAG
from .params import MinValidOpt, Run, command, duration_seconds

if TYPE_CHECKING:
    from ..config import Profile

LOGIN_HELP = """Log in to IBM Cloud IAM or an IBM Cloud Private cluster master.

The credential is checked by minting a token before anything is stored. API keys go to the OS
keyring; with no usable keyring, use IAMCLI_API_KEY (CI) or --insecure-storage.

A trusted profile logs in with no secret stored: from a compute resource's token
(--cr-token, read again at every refresh) or a VPC instance's metadata service (--vpc-cri).

A login without -a keeps the profile's endpoint and flavor; a new profile goes to
$IAMCLI_ENDPOINT, else https://iam.cloud.ibm.com.

Examples:

\b
  iamcli login --apikey @apikey.json
  iamcli login --cr-token @/var/run/secrets/tokens/sa-token --trusted-profile my-profile
  iamcli login --vpc-cri --trusted-profile Profile-...
  echo "$KEY" | iamcli login -a https://cluster:8443 --flavor private --apikey -
  iamcli login -a https://cluster:8443 -u admin        (asks for the password)
"""


def _can_prompt() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _ask_secret(label: str) -> str:
    import getpass

    return getpass.getpass(label, stream=sys.stderr)


@command
def login(
    run: Run,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "-a",
            "--endpoint",
            metavar="ENDPOINT",
            help="IAM endpoint [default: $IAMCLI_ENDPOINT, else the profile's, else "
            "https://iam.cloud.ibm.com].",
        ),
    ] = None,
    flavor: Annotated[
        str | None,
        typer.Option(
            "--flavor",
            metavar="cloud|private",
            help="API family [default: $IAMCLI_FLAVOR, else the profile's, else detected].",
            autocompletion=flavors,
        ),
    ] = None,
    apikey: Annotated[
        str | None,
        typer.Option(
            "--apikey",
            metavar="KEY|@FILE|-",
            help="API key, @file (raw or a --file export), or - for stdin.",
        ),
    ] = None,
    username: Annotated[
        str | None,
        typer.Option("-u", "--username", metavar="USER", help="User name, for a password login."),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "-p",
            "--password",
            metavar="PASSWORD",
            help="Password, or - for stdin (asked for on a terminal when left out).",
        ),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(
            "-c", "--account", metavar="ACCOUNT", help="Account the credential must belong to."
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            "-n",
            "--namespace",
            metavar="NAMESPACE",
            help="Namespace new service IDs go to (private family) [default: the profile's, "
            "else default].",
        ),
    ] = None,
    skip_ssl_validation: Annotated[
        bool,
        typer.Option("--skip-ssl-validation", help="Do not verify the server's TLS certificate."),
    ] = False,
    ca_bundle: Annotated[
        str | None,
        typer.Option("--ca-bundle", metavar="PATH", help="Trust only these CA certificates."),
    ] = None,
    insecure_storage: Annotated[
        bool,
        typer.Option(
            "--insecure-storage",
            help="With no usable keyring, keep the secret in a 0600 file "
            "(warned about on every use).",
        ),
    ] = False,
    cr_token: Annotated[
        str | None,
        typer.Option(
            "--cr-token",
            metavar="TOKEN|@FILE",
            help="Log in as a trusted profile with a compute-resource token "
            "[default: $IBMCLOUD_CR_TOKEN, else the token files IBM's SDKs read]; "
            "a file is read again at every refresh.",
        ),
    ] = None,
    trusted_profile: Annotated[
        str | None,
        typer.Option(
            "--trusted-profile",
            metavar="ID|NAME|CRN",
            help="The trusted profile to log in as [default: $IBMCLOUD_CR_PROFILE] "
            "(ibmcloud's --profile: in iamcli --profile names the local profile).",
        ),
    ] = None,
    vpc_cri: Annotated[
        bool,
        typer.Option(
            "--vpc-cri",
            help="Log in as a trusted profile from this VPC instance's metadata service "
            "($IBMCLOUD_CR_VPC_URL, else http://169.254.169.254); "
            "--trusted-profile ID|CRN, else the instance's default.",
        ),
    ] = False,
) -> None:
    from ..services.auth import LoginRequest
    from ..services.auth import login as do_login

    if flavor is not None and flavor.lower() not in FLAVORS:
        raise UsageError(f"--flavor must be cloud or private, not {flavor!r}")
    request = LoginRequest(
        profile=run.profile_name,
        endpoint=endpoint,
        flavor=flavor.lower() if flavor else None,
        apikey=apikey,
        username=username,
        password=password,
        account=account,
        skip_ssl_validation=skip_ssl_validation,
        ca_bundle=ca_bundle,
        insecure_storage=insecure_storage,
        namespace=namespace,
        cr_token=cr_token,
        trusted_profile=trusted_profile,
        vpc_cri=vpc_cri,
    )
    profile = do_login(
        request,
        out=run.out,
        stdin=sys.stdin,
        prompt=_ask_secret if _can_prompt() else None,
        trace=run.trace,
    )
    run.out.ok()
    source = _stored_in(profile)
    if run.json:
        run.out.json_value(_profile_json(profile, source))
        return
    run.out.record(
        [
            ("Profile", profile.name),
            ("API endpoint", profile.endpoint),
            ("Flavor", profile.flavor),
            ("Account", profile.account_id or "-"),
            ("Identity", f"{profile.identity_name} ({profile.iam_id})"),
            ("Credential", source),
        ]
    )


def _stored_in(profile: "Profile") -> str:
    from ..credentials import plaintext_path
    from ..paths import env_api_key_name

    label = "refresh token" if profile.has_refresh_token else "API key"
    if profile.secret_store == "keyring":
        return f"OS keyring ({label})"
    if profile.secret_store == "file":
        return f"plain-text file {plaintext_path()} (--insecure-storage)"
    return f"environment variable {env_api_key_name() or ''} (not stored)".replace("  ", " ")


def _profile_json(profile: "Profile", source: str) -> dict[str, object]:
    """The same field names as `target --output json`, plus what only a login knows."""
    from dataclasses import asdict

    data = asdict(profile)
    data.pop("extra", None)
    return {"profile": data.pop("name"), **data, "credential_source": source}


@command
def logout(run: Run) -> None:
    """Forget the profile: its keyring entries, cached token and settings."""
    from ..services.auth import logout as do_logout

    if do_logout(run.profile_name):
        run.out.ok()
    else:
        run.out.status(f"Profile {run.profile_name} was not logged in.")


@command
def target(run: Run) -> None:
    """Show where commands go and as whom: endpoint, flavor, account, identity, token, and
    where the credential comes from. Contacts nothing."""
    from ..services.auth import target as describe

    info = describe(run.session)
    if run.json:
        run.out.json_value(info.to_json())
        return
    run.out.record(
        [
            ("Profile", info.profile),
            ("API endpoint", info.endpoint),
            ("Flavor", info.flavor or "(detected on first use)"),
            ("Account", info.account_id or "-"),
            ("Identity", f"{info.identity_name} ({info.iam_id})" if info.iam_id else "-"),
            *([("Assumed profile", info.assumed_profile)] if info.assumed_profile else []),
            ("Token expires", _expiry(info.token_expires_at)),
            ("Credential", info.credential_source),
        ]
    )


def _expiry(at: int | None) -> str:
    if at is None:
        return "no cached token"
    left = at - int(time.time())
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    if left <= 0:
        return f"{when} (expired; a new one is minted on next use)"
    return f"{when} (in {left // 60} min {left % 60} s)"


@command
def oauth_tokens(
    run: Run,
    min_valid: MinValidOpt = None,
    raw: Annotated[
        bool,
        typer.Option(
            RAW_FLAG, help='Print only the bare token: curl -H "Authorization: Bearer $(...)".'
        ),
    ] = False,
) -> None:
    """Print the current IAM access token (and refresh token, for password logins).

    --output json adds the token's expiration (epoch seconds) and expires_in (seconds left).
    With --min-valid, a token that would expire sooner is replaced first; if the server's
    tokens cannot live that long, one error line and exit 1.
    """
    from ..services.auth import oauth_tokens as current

    if raw and run.json:
        raise UsageError("--raw and --output json cannot be used together")
    seconds = duration_seconds(min_valid, MIN_VALID_FLAG)
    tokens = current(run.session, seconds)
    sys.stdout.write(
        oauth_tokens_text(
            tokens.access, tokens.refresh, as_json=run.json, expires_at=tokens.expires_at, raw=raw
        )
    )


@command
def introspect(
    run: Run,
    token: Annotated[
        str | None,
        typer.Argument(
            metavar="[TOKEN|-]", help="Token to check (- reads stdin) [default: the current one]."
        ),
    ] = None,
) -> None:
    """Check a token: is it active, and what does it say? Exit 0 if active, 4 if not.

    On the private family the cluster's introspection endpoint answers; on IBM Cloud, which
    has none, the token is verified here against the server's published keys (signature, RS256,
    key ID, issuer, expiry).
    """
    from ..services.auth import TokenInactive
    from ..services.auth import introspect as check

    if token == "-":
        token = sys.stdin.read()
    result = check(run.session, token)
    if run.json:
        body = {"active": result.active, **dict(result.claims)}
        if result.reason:
            body["reason"] = result.reason
        run.out.json_value(body)
    else:
        # Lower-case like the claims that follow; why a token is inactive is said once, in
        # the FAILED line.
        pairs = [("active", str(result.active).lower())]
        pairs += [(str(k), _claim(v)) for k, v in result.claims.items()]
        run.out.record(pairs)
    if not result.active:
        raise TokenInactive(result.reason)


def _claim(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 1_000_000_000:
        return f"{value} ({time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(value))})"
    if isinstance(value, dict | list):
        import json

        return json.dumps(value)
    return str(value)
