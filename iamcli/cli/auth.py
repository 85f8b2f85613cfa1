"""`login`, `logout`, `target`, `oauth-tokens`, `introspect`: parse, call, render."""

import sys
import time
from typing import Annotated

import typer

from ..errors import UsageError
from ..output import oauth_tokens_text
from ..paths import FLAVORS
from .flags import MIN_VALID_FLAG, RAW_FLAG
from .params import MinValidOpt, Run, command, duration_seconds

LOGIN_HELP = """Log in to IBM Cloud IAM or an IBM Cloud Private cluster master.

The credential is checked by minting a token before anything is stored. API keys go to the OS
keyring; with no usable keyring, use IAMCLI_API_KEY (CI) or --insecure-storage.

Examples:
  iamcli login --apikey @apikey.json
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
            help="IAM endpoint [default: $IAMCLI_ENDPOINT, else https://iam.cloud.ibm.com].",
        ),
    ] = None,
    flavor: Annotated[
        str | None,
        typer.Option(
            "--flavor",
            metavar="cloud|private",
            help="API family [default: $IAMCLI_FLAVOR, else detected].",
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
        str,
        typer.Option("-n", "--namespace", help="Namespace for new service IDs (private family)."),
    ] = "default",
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
    )
    profile = do_login(
        request,
        out=run.out,
        stdin=sys.stdin,
        prompt=_ask_secret if _can_prompt() else None,
        trace=run.trace,
    )
    run.out.ok()
    if run.json:
        run.out.json_value(_profile_json(profile))
        return
    run.out.record(
        [
            ("Profile", profile.name),
            ("API endpoint", profile.endpoint),
            ("Flavor", profile.flavor),
            ("Account", profile.account_id or "-"),
            ("Identity", f"{profile.identity_name} ({profile.iam_id})"),
            (
                "Credential",
                {
                    "keyring": "OS keyring",
                    "file": "plain-text file",
                    "env": "environment variable (not stored)",
                }[profile.secret_store],
            ),
        ]
    )


def _profile_json(profile: object) -> dict[str, object]:
    from dataclasses import asdict

    data = asdict(profile)  # type: ignore[call-overload]
    data.pop("extra", None)
    return data  # type: ignore[no-any-return]


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
        run.out.json_value({"active": result.active, **dict(result.claims)})
    else:
        pairs = [("Active", str(result.active).lower())]
        if result.reason:
            pairs.append(("Reason", result.reason))
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
