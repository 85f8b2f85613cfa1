"""`iamcli serve`: the local IAM server."""

from pathlib import Path
from typing import Annotated

import typer

from ..errors import IamcliError, UsageError

SERVE_HELP = """Run a local IAM server that speaks both IBM API families.

The public-cloud family (/identity/token, /v1/serviceids, /v1/apikeys) and the private family
(/iam-token/...) share one port and one SQLite database. On first start with an empty database
it creates an account and an administrator and prints the administrator's API key once on
stderr; --seed-apikey makes that key exactly KEY, so scripts know it in advance.

--user NAME adds a member user to the account (repeatable), so that access policies can be
tried with two people: a new user's API key is printed once on stderr, or is the content of
KEYFILE with --user NAME:@KEYFILE. Every route obeys the account's access policies.

With a database file it runs one worker process per CPU core (--workers); the first-start
output above happens once, before the workers start.

Fault injection, for trying a client's retries and timeouts: every request, independently,
waits --latency-ms, then is cut without an answer with probability --drop-rate, else answered
with one of --fault-status (uniformly) with probability --fault-rate, in its API family's error
shape, with Retry-After: 1 on 429 and 503. Faults are injected before the request reaches the
server's routes: the server never acts on a faulted request. --fault-seed makes the choices
repeatable (per worker; use --workers 1 for one exact sequence).

Trusted profiles without API keys: --compute-resources FILE names the issuers of compute-resource
tokens the cr-token grant accepts: a JSON array of objects with "iss", "jwks", "cr_type" and
"crn", and optionally "service_instance", "resource_group_id" and "location" (jwks: a JWKS file,
absolute or relative to FILE, or an http(s) URL). --vpc-instance CRN[,attr=value...] makes the
server also answer as that VPC instance's metadata service (/instance_identity/v1/...,
/identity/v1/...), so IBM's VPCInstanceAuthenticator pointed at it gets the token of a profile
linked to the instance or whose rules it meets; attributes: name, resource, resource_group_id,
resource_group_name, instance_group_name, region, zone, subnet_id, vpc_id.
"""


def _member(spec: str) -> tuple[str, str | None]:
    """NAME, or NAME:@KEYFILE whose content (stripped) is the user's API key."""
    name, sep, source = spec.partition(":")
    if not name:
        raise UsageError(f"--user {spec[:100]!r}: expected NAME or NAME:@KEYFILE")
    if not sep:
        return name, None
    if not source.startswith("@") or len(source) < 2:
        raise UsageError(f"--user {spec[:100]!r}: the key must be given as @KEYFILE")
    try:
        with open(source[1:], encoding="utf-8") as f:
            key = f.read(4096).strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--user {name}: cannot read {source[1:]}: {exc}") from exc
    if not key:
        raise UsageError(f"--user {name}: {source[1:]} is empty")
    return name, key


def _identity_limit(spec: str) -> tuple[str, int]:
    """NAME=N: one of the seeded account's identity limits (the server checks NAME)."""
    name, sep, value = spec.partition("=")
    if not sep or not name or not value.isdigit() or len(value) > 7:
        raise UsageError(f"--identity-limit {spec[:100]!r}: expected NAME=N, N a whole number")
    return name, int(value)


def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port",
            metavar="PORT",
            help="Port to listen on; 0 picks a free one.",
            min=0,
            max=65535,
        ),
    ] = 8080,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="FILE",
            help="SQLite database file; ':memory:' for a throwaway server. "
            "[default: serve.db in the iamcli data dir]",
        ),
    ] = None,
    seed_apikey: Annotated[
        str | None,
        typer.Option(
            "--seed-apikey",
            metavar="KEY|@FILE",
            envvar="IAMCLI_SERVE_SEED_APIKEY",
            show_envvar=True,
            help="Make this the administrator's API key (idempotent across restarts); "
            "@FILE reads it from a file (raw or a --file export).",
        ),
    ] = None,
    account_id: Annotated[
        str | None,
        typer.Option("--account-id", metavar="ID", help="ID of the account to create or seed."),
    ] = None,
    users: Annotated[
        list[str] | None,
        typer.Option(
            "--user",
            metavar="NAME[:@KEYFILE]",
            help="A member user besides the administrator (repeatable). A new user's API key "
            "is printed once on stderr, or is the content of KEYFILE (idempotent).",
        ),
    ] = None,
    child_accounts: Annotated[
        list[str] | None,
        typer.Option(
            "--child-account",
            metavar="ID",
            help="Make account ID (created when missing) a child of the seeded account, which "
            "becomes an enterprise for account settings and trusted profile templates. Repeatable.",
        ),
    ] = None,
    identity_limits: Annotated[
        list[str] | None,
        typer.Option(
            "--identity-limit",
            metavar="NAME=N",
            help="Set one of the seeded account's identity limits (repeatable), e.g. "
            "apikeys_per_identity=2, serviceids=10; names as in GET "
            "/v1/accounts/ID/limits/identity, plus serviceids (README: the defaults).",
        ),
    ] = None,
    admin_password: Annotated[
        str | None,
        typer.Option(
            "--admin-password",
            metavar="PASSWORD|@FILE",
            envvar="IAMCLI_SERVE_ADMIN_PASSWORD",
            show_envvar=True,
            help="Password of the administrator, for password logins; @FILE reads it from "
            "the first line of a file.",
        ),
    ] = None,
    token_ttl: Annotated[
        int,
        typer.Option(
            "--token-ttl",
            metavar="SECONDS",
            min=10,
            max=86400 * 30,
            help="Lifetime of access tokens.",
        ),
    ] = 3600,
    refresh_token_ttl: Annotated[
        int,
        typer.Option(
            "--refresh-token-ttl",
            metavar="SECONDS",
            min=10,
            max=86400 * 365,
            help="Lifetime of refresh tokens.",
        ),
    ] = 7 * 86400,
    cluster_name: Annotated[
        str,
        typer.Option(
            "--cluster-name", metavar="NAME", help="Cluster name in the private family's CRNs."
        ),
    ] = "mycluster",
    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            help="Serve HTTPS with a self-signed certificate, as a cluster master does; "
            "it is kept beside the database and its path printed at start.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not log each request.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            metavar="N",
            min=1,
            max=64,
            help="Worker processes. [default: one per CPU core; 1 for ':memory:']",
        ),
    ] = None,
    fault_rate: Annotated[
        float,
        typer.Option(
            "--fault-rate",
            metavar="R",
            min=0.0,
            max=1.0,
            help="Share of requests (0-1) answered with a --fault-status instead of served.",
        ),
    ] = 0.0,
    fault_status: Annotated[
        str,
        typer.Option(
            "--fault-status",
            metavar="CODES",
            help="Statuses of injected faults, comma-separated.",
        ),
    ] = "500,502,503,429",
    latency_ms: Annotated[
        int,
        typer.Option(
            "--latency-ms",
            metavar="N",
            min=0,
            max=60_000,
            help="Extra delay before every request is handled.",
        ),
    ] = 0,
    drop_rate: Annotated[
        float,
        typer.Option(
            "--drop-rate",
            metavar="R",
            min=0.0,
            max=1.0,
            help="Share of requests (0-1) whose connection is cut without an answer.",
        ),
    ] = 0.0,
    fault_seed: Annotated[
        int | None,
        typer.Option("--fault-seed", metavar="N", help="Seed of the fault choices."),
    ] = None,
    compute_resources: Annotated[
        str | None,
        typer.Option(
            "--compute-resources",
            metavar="FILE",
            help="JSON file of the compute-resource token issuers to trust (cr-token grant).",
        ),
    ] = None,
    vpc_instance: Annotated[
        str | None,
        typer.Option(
            "--vpc-instance",
            metavar="CRN[,attr=value...]",
            help="Also answer as this VPC instance's metadata service.",
        ),
    ] = None,
) -> None:
    try:
        from ..emulator.app import Settings
        from ..emulator.cloud.vpc_metadata import parse_vpc_instance
        from ..emulator.compute_resources import load_issuers
        from ..emulator.faults import FaultPlan, parse_statuses
        from ..emulator.server import ServeError, ServeOptions
        from ..emulator.server import serve as run_server
        from ..emulator.store import StoreError
        from ..emulator.store.files import StoreFileError
        from ..emulator.store.limits import DEFAULT_LIMITS
        from ..emulator.workers import default_workers
    except ModuleNotFoundError as exc:
        # Only a missing third-party package means the extra is missing; any other import
        # failure is a bug of ours, and says so with its traceback.
        if (exc.name or "").split(".")[0] in ("iamcli", ""):
            raise
        raise UsageError(
            f"iamcli serve needs the emulator extra ({exc.name} is missing): "
            "pip install 'iamcli[emulator]'"
        ) from exc
    from ..config import dirs, ensure_private_dir

    seed_apikey = _secret_option(ctx, "seed_apikey", seed_apikey, "IAMCLI_SERVE_SEED_APIKEY")
    admin_password = _secret_option(
        ctx, "admin_password", admin_password, "IAMCLI_SERVE_ADMIN_PASSWORD"
    )

    data_dir = ensure_private_dir(dirs().data)
    if db is None:
        db = str(data_dir / "serve.db")
    tls_dir = None
    if tls:
        tls_dir = str(data_dir if db == ":memory:" else Path(db).resolve().parent)
    if workers is not None and workers > 1 and db == ":memory:":
        raise UsageError("--workers needs a database file: each worker would have its own :memory:")
    limits = tuple(_identity_limit(spec) for spec in identity_limits or ())
    for name, _ in limits:
        # Checked before the server starts: a first start must not print a key and then fail.
        if name not in DEFAULT_LIMITS:
            raise UsageError(
                f"--identity-limit: unknown limit {name[:100]!r}; one of "
                + ", ".join(sorted(DEFAULT_LIMITS))
            )
    try:
        faults = FaultPlan(
            rate=fault_rate,
            statuses=parse_statuses(fault_status),
            latency_ms=latency_ms,
            drop_rate=drop_rate,
            seed=fault_seed,
        )
    except ValueError as exc:
        raise UsageError(f"fault injection: {exc}") from exc
    try:
        issuers = load_issuers(compute_resources) if compute_resources else ()
        instance = parse_vpc_instance(vpc_instance) if vpc_instance else None
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    settings = Settings(
        db=db,
        token_ttl=token_ttl,
        refresh_token_ttl=refresh_token_ttl,
        cluster_name=cluster_name,
        access_log=not quiet,
        faults=faults if faults.active else None,
        compute_resources=issuers,
        vpc_instance=instance,
    )
    options = ServeOptions(
        host=host,
        port=port,
        seed_apikey=seed_apikey,
        account_id=account_id,
        admin_password=admin_password,
        tls_dir=tls_dir,
        workers=workers if workers is not None else default_workers(db),
        users=tuple(_member(spec) for spec in users or ()),
        child_accounts=tuple(child_accounts or ()),
        identity_limits=limits,
    )
    try:
        run_server(settings, options)
    except StoreFileError as exc:  # the database or a file beside it: not a usage mistake
        raise IamcliError(str(exc)) from exc
    except StoreError as exc:  # a value given on the command line (account ID, seed key)
        raise UsageError(str(exc)) from exc
    except ServeError as exc:
        raise IamcliError(str(exc)) from exc
    except OSError as exc:
        raise IamcliError(f"iamcli serve: {exc.strerror or exc}") from exc


def _secret_option(ctx: typer.Context, name: str, value: str | None, envvar: str) -> str | None:
    """The value of --seed-apikey or --admin-password: literal, or @FILE; a literal typed on
    the command line is warned about, as login warns about --apikey."""
    if value is None:
        return None
    flag = "--" + name.replace("_", "-")
    if value.startswith("@"):
        return _secret_from_file(value[1:], flag, api_key=name == "seed_apikey")
    source = ctx.get_parameter_source(name)
    # By name: typer carries its own copy of click's ParameterSource.
    if source is not None and source.name == "COMMANDLINE":
        from ..output import Output

        Output().warn(
            f"{flag} on the command line can be read by other users of this machine "
            f"(ps, /proc); use {flag} @FILE or {envvar}"
        )
    return value


def _secret_from_file(path: str, flag: str, *, api_key: bool) -> str:
    import os

    if not path:
        raise UsageError(f"{flag}: '@' must be followed by the path of a file")
    if api_key:
        from ..keyfile import read_secret_arg

        return read_secret_arg("@" + path, stdin=None, source=flag)
    try:
        with open(os.path.expanduser(path), "rb") as f:
            raw = f.read(4097)
    except OSError as exc:
        raise UsageError(f"{flag}: cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > 4096:
        raise UsageError(f"{flag}: {path} is too large to hold a password")
    try:
        lines = raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise UsageError(f"{flag}: {path} is not a text file") from None
    if not lines or not lines[0]:
        raise UsageError(f"{flag}: the first line of {path} is empty")
    return lines[0]
