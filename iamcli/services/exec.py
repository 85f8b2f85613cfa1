"""`iamcli exec`: run a command with a fresh access token in its environment, and no API key.

What the child gets, under the names IBM's own tools read:

- ``IAMCLI_TOKEN``: the bare JWT (no ``Bearer``); ``IAMCLI_TOKEN_EXPIRATION``: its ``exp``.
- ``--sdk-service NAME`` (repeatable): IBM's SDK "external configuration" from the
  environment. ibm-cloud-sdk-core (python: ``get_authenticator.py``,
  ``utils._parse_key_and_update_config``; the Go and Node cores read the same names) takes
  the service name upper-cased, ``-`` and spaces as ``_``, and reads ``<NAME>_AUTH_TYPE``
  (matched case-insensitively against ``Authenticator.AUTHTYPE_BEARERTOKEN = 'bearerToken'``)
  and ``<NAME>_BEARER_TOKEN``. With ``--metadata-server``: ``<NAME>_AUTH_TYPE=vpc``
  (``AUTHTYPE_VPC``) and ``<NAME>_AUTH_URL``, which the SDK hands to its
  ``VPCInstanceAuthenticator`` as the metadata service's base URL. (A matching entry in an
  ``ibm-credentials.env`` file wins over the environment in the SDK: README says so.)
- ``--terraform``: terraform-provider-ibm reads ``iam_token`` from ``IC_IAM_TOKEN`` (or
  ``IBMCLOUD_IAM_TOKEN``) and ``iam_refresh_token`` from ``IC_IAM_REFRESH_TOKEN`` (or
  ``IBMCLOUD_IAM_REFRESH_TOKEN``) (``ibm/provider/provider.go``), and refuses a token without
  a refresh token ("iam_token and iam_refresh_token must be provided", ``ibm/conns/config.go``
  ``newSession``). It hands ``IAMAccessToken`` to bluemix-go, which sends it as the
  Authorization header as ``ibmcloud iam oauth-tokens`` prints it, so the token goes with its
  ``Bearer`` prefix (the provider strips the prefix itself where it needs the bare JWT). A
  refresh token is a long-lived secret: it is only handed over because ``--terraform`` asks
  for it by name, and only password logins have one.

The API key is never in the child's environment unless ``--with-apikey`` asks for it (as
``IAMCLI_API_KEY``); ``IAMCLI_API_KEY`` and ``IBMCLOUD_API_KEY`` are removed when they carried
the key into iamcli. ``IAMCLI_EXEC`` (the profile) marks the child, and an ``iamcli exec``
that finds it refuses to run, as aws-vault refuses to nest.

Without ``--metadata-server`` iamcli replaces itself with the command (execve): stdout,
stderr, the exit status and every signal are the command's own, and nothing of iamcli stays
running. With it, iamcli stays as the command's parent to serve tokens (see
:func:`_supervise` for how signals pass through).

Standard library only until a token must be minted: `exec -- true` with a cached token costs
what a cached `oauth-tokens` costs, plus the command.
"""

from __future__ import annotations

import os
import sys

from .. import token_cache
from ..paths import ENV_KEYS, env_api_key_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Mapping
    from typing import Any

    from ..session import Session
    from ..trace import Trace

NESTED = "IAMCLI_EXEC"
TOKEN = "IAMCLI_TOKEN"
EXPIRATION = "IAMCLI_TOKEN_EXPIRATION"
APIKEY = "IAMCLI_API_KEY"
TERRAFORM_TOKEN = "IC_IAM_TOKEN"
TERRAFORM_REFRESH = "IC_IAM_REFRESH_TOKEN"
# What shells answer for a command that is missing or cannot be run.
NOT_FOUND_STATUS = 127
CANNOT_RUN_STATUS = 126
_SERVICE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class ExecRequest:
    __slots__ = (
        "command",
        "metadata_server",
        "min_valid",
        "profile",
        "services",
        "terraform",
        "with_apikey",
    )

    def __init__(
        self,
        profile: str,
        command: list[str],
        *,
        min_valid: int = 0,
        services: tuple[str, ...] = (),
        with_apikey: bool = False,
        metadata_server: bool = False,
        terraform: bool = False,
    ) -> None:
        self.profile = profile
        self.command = command
        self.min_valid = min_valid
        self.services = services
        self.with_apikey = with_apikey
        self.metadata_server = metadata_server
        self.terraform = terraform


def sdk_service_name(name: str) -> str:
    """NAME as IBM's SDKs spell it in variable names, or a usage error."""
    spelled = name.strip().replace("-", "_").replace(" ", "_").upper()
    if not spelled or not set(spelled) <= _SERVICE_CHARS or spelled[0].isdigit():
        from ..errors import UsageError

        raise UsageError(
            f"--sdk-service {name[:40]!r}: use the service name the SDK is given, "
            "such as IAM_IDENTITY (letters, digits, - and _)"
        )
    return spelled


def refuse_nesting(env: Mapping[str, str]) -> None:
    profile = env.get(NESTED)
    if profile:
        from ..errors import UsageError

        raise UsageError(
            f"already inside 'iamcli exec' (profile {profile}): a nested exec would hand on "
            "the outer token as if it were fresh",
            hint=f"exit the outer command first, or unset {NESTED} to force",
        )


def child_env(
    base: Mapping[str, str],
    request: ExecRequest,
    token: token_cache.CachedToken,
    *,
    apikey: str | None = None,
    refresh_token: str | None = None,
    metadata_url: str | None = None,
) -> dict[str, str]:
    env = dict(base)
    if env_api_key_name() is not None:
        # The key came in through the environment: it does not go on to the child.
        for var in ENV_KEYS:
            env.pop(var, None)
    env[NESTED] = request.profile
    env[TOKEN] = token.access_token
    env[EXPIRATION] = str(token.expires_at)
    for service in request.services:
        if metadata_url is not None:
            env[f"{service}_AUTH_TYPE"] = "vpc"
            env[f"{service}_AUTH_URL"] = metadata_url
            env.pop(f"{service}_BEARER_TOKEN", None)
        else:
            env[f"{service}_AUTH_TYPE"] = "bearerToken"
            env[f"{service}_BEARER_TOKEN"] = token.access_token
    if request.terraform and refresh_token is not None:
        env[TERRAFORM_TOKEN] = token.authorization
        env[TERRAFORM_REFRESH] = refresh_token
    if apikey is not None:
        env[APIKEY] = apikey
    return env


def run(request: ExecRequest, *, trace: Trace | None = None) -> int:
    """Run the command as `iamcli exec` does; returns only when it could not be started, or,
    with the metadata server, with the command's exit status."""
    refuse_nesting(os.environ)
    if not request.command:
        from ..errors import UsageError

        raise UsageError("no command to run: iamcli exec [OPTIONS] -- COMMAND [ARG...]")
    session: Session | None = None
    cached = token_cache.usable(request.profile)
    if cached is not None and token_cache.fresh_enough(cached, request.min_valid):
        token = cached
    else:
        session = _session(request.profile, trace)
        token = session.access_token(request.min_valid)
    if request.metadata_server and session is None:
        session = _session(request.profile, trace)
    apikey = _apikey(request.profile) if request.with_apikey else None
    refresh = _refresh_token(request.profile) if request.terraform else None
    if not request.metadata_server:
        env = child_env(os.environ, request, token, apikey=apikey, refresh_token=refresh)
        if session is not None:
            session.close()
        return _replace_process(request.command, env)
    assert session is not None
    from ..metadata_server import MetadataServer

    try:
        with MetadataServer(session.access_token) as server:
            env = child_env(
                os.environ,
                request,
                token,
                apikey=apikey,
                refresh_token=refresh,
                metadata_url=server.url,
            )
            status = _supervise(request.command, env)
    finally:
        session.close()
    return die_like(status)


def _session(profile: str, trace: Trace | None) -> Session:
    from ..output import Output
    from ..session import Session

    return Session(profile, out=Output(), trace=trace, stdin=None)


def _apikey(profile: str) -> str:
    from .. import credentials

    found = credentials.resolve_api_key(profile, None, stdin=None)
    if found is None:
        from ..errors import UsageError

        raise UsageError(
            f"--with-apikey: profile {profile!r} has no API key (a password login keeps only "
            "a refresh token)"
        )
    return found[0]


def _refresh_token(profile: str) -> str:
    from .. import config, credentials

    p = config.load_profile(profile)
    refresh = None
    if p is not None and p.has_refresh_token and env_api_key_name() is None:
        refresh = credentials.load_secret(profile, "refresh_token")
    if refresh is None:
        from ..errors import UsageError

        raise UsageError(
            "--terraform: the IBM Terraform provider takes a token only together with a refresh "
            "token, and only password logins have one",
            hint="for an API key, run: iamcli exec --with-apikey -- sh -c "
            "'IC_API_KEY=\"$IAMCLI_API_KEY\" terraform ...'",
        )
    return refresh


def _replace_process(command: list[str], env: dict[str, str]) -> int:
    # The C module under `signal`: the same functions and numbers without the enum wrapper,
    # whose import (enum, functools, collections) would be a tenth of this command's run.
    signal: Any = __import__("_signal")

    sys.stdout.flush()
    sys.stderr.flush()
    # Python ignores SIGPIPE and SIGXFSZ; an ignored signal stays ignored across execve, and
    # the command must start with the dispositions it would have had without us.
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        os.execvpe(command[0], command, env)
    except OSError as exc:
        return _cannot_start(command[0], exc)
    raise AssertionError("unreachable")  # execvpe returns only by raising


def _cannot_start(name: str, exc: OSError) -> int:
    if isinstance(exc, FileNotFoundError):
        sys.stderr.write(f"iamcli exec: {name}: command not found\n")
        return NOT_FOUND_STATUS
    sys.stderr.write(f"iamcli exec: {name}: {exc.strerror or exc}\n")
    return CANNOT_RUN_STATUS


def _supervise(command: list[str], env: dict[str, str]) -> int:
    """Run the command as a child and pass its end on: its exit status, or death by the same
    signal (after the metadata server has stopped).

    Signals sent to iamcli alone (`kill PID`, a CI runner stopping the job) are passed on.
    SIGINT and SIGQUIT typed at a terminal already reach the whole foreground process group,
    the command included: when iamcli is in the terminal's foreground group they are not sent
    a second time (a second Ctrl-C means "force" to tools such as terraform). A signal sent to
    the whole process group from elsewhere reaches the command directly and, passed on, once
    more; that is the price of staying alive to serve tokens.
    """
    import signal
    import subprocess

    started: list[subprocess.Popen[bytes]] = []
    terminal_group = _terminal_foreground()

    def forward(signum: int, _frame: object) -> None:
        if started and started[0].poll() is None:
            started[0].send_signal(signum)

    def typed_at_terminal(signum: int, _frame: object) -> None:
        pass  # the terminal sent it to the command as well

    # Handlers before the child exists, so that no signal falls between the two. Python
    # handlers, never SIG_IGN: an ignored signal would stay ignored in the command.
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT):
        typed = sig in (signal.SIGINT, signal.SIGQUIT)
        previous[sig] = signal.signal(
            sig, typed_at_terminal if typed and terminal_group else forward
        )
    try:
        try:
            started.append(subprocess.Popen(command, env=env))
        except OSError as exc:
            return _cannot_start(command[0], exc)
        return _wait(started[0])
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _wait(child: subprocess.Popen[bytes]) -> int:
    while True:
        try:
            return int(child.wait())
        except InterruptedError:  # pragma: no cover - PEP 475 retries waits itself
            continue


def _terminal_foreground() -> bool:
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


def die_like(status: int) -> int:
    """The exit status to return for a child's status; a child killed by a signal makes this
    process die of the same signal, as the command alone would have."""
    if status >= 0:
        return status
    import signal

    sig = -status
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)
    return 128 + sig  # only if the signal did not end the process (e.g. it is blocked)
