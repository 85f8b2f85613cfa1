"""`iamcli oauth-tokens` and `iamcli exec` run before the CLI framework loads.

The hottest command runs thousands of times a day in pipelines. With a fresh cached token,
answering needs two small files and no network, and this module imports little beyond the
interpreter's own start-up set; without one, it mints through the same session and service the
full command uses, still without loading Typer or the other commands. It takes only the
invocations it fully recognises (the command and the common options, whose names come from
cli/flags.py); anything else (`--help`, `--trace`, an unknown option) goes to the full CLI,
which holds the one definition of the command and its help.
"""

from __future__ import annotations

import os
import sys

from . import paths, token_cache
from .cli.flags import (
    APIKEYS,
    EXEC,
    EXEC_FLAGS,
    EXEC_VALUE_FLAGS,
    LIST,
    MIN_VALID_FLAG,
    OAUTH_TOKENS,
    OUTPUT_FLAG,
    OUTPUT_FORMATS,
    PROFILE_FLAG,
    QUIET_FLAGS,
    RAW_FLAG,
    SDK_SERVICE_FLAG,
    SERVICE_ID_FLAG,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .services.exec import ExecRequest


class Request:
    __slots__ = ("as_json", "min_valid", "profile", "profile_flag", "raw")

    def __init__(
        self,
        profile: str,
        profile_flag: str | None,
        as_json: bool,
        min_valid: int = 0,
        raw: bool = False,
    ) -> None:
        self.profile = profile
        self.profile_flag = profile_flag
        self.as_json = as_json
        self.min_valid = min_valid
        self.raw = raw


def _options(
    argv: list[str], command: str, values: tuple[str, ...], flags: tuple[str, ...]
) -> tuple[dict[str, list[str]], list[str]] | None:
    """`(options, rest)` if argv is COMMAND among the common options and those named, with
    `rest` what follows a `--` or the first non-option after the command; else None."""
    found: dict[str, list[str]] = {}
    seen = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == command and not seen:
            seen = True
        elif seen and command == EXEC and (arg == "--" or not arg.startswith("-")):
            return found, argv[i + 1 :] if arg == "--" else argv[i:]
        elif arg in (PROFILE_FLAG, OUTPUT_FLAG) or (seen and arg in values):
            if i + 1 >= len(argv):
                return None
            found.setdefault(arg, []).append(argv[i + 1])
            i += 1
        elif "=" in arg and (
            arg.partition("=")[0] in (PROFILE_FLAG, OUTPUT_FLAG)
            or (seen and arg.partition("=")[0] in values)
        ):
            name, _, value = arg.partition("=")
            found.setdefault(name, []).append(value)
        elif arg in QUIET_FLAGS or (seen and arg in flags):
            found.setdefault(arg, []).append("")
        else:
            return None
        i += 1
    return (found, []) if seen and command != EXEC else None


def _profile(found: dict[str, list[str]]) -> tuple[str, str | None] | None:
    flag = found[PROFILE_FLAG][-1] if PROFILE_FLAG in found else None
    trace = os.environ.get("IAMCLI_TRACE", "").strip().lower()
    name, _ = paths.profile_name_from(flag)
    if trace not in paths.TRACE_OFF or not paths.is_valid_profile_name(name):
        return None
    return name, flag


def _seconds(found: dict[str, list[str]]) -> int | None:
    if MIN_VALID_FLAG not in found:
        return 0
    from .durations import DurationError, parse_duration

    try:
        return parse_duration(found[MIN_VALID_FLAG][-1])
    except DurationError:
        return None  # the full CLI says what is wrong with it


def recognise(argv: list[str]) -> Request | None:
    """The request, if `argv` is exactly `oauth-tokens` with common options; never raises."""
    if OAUTH_TOKENS not in argv:
        return None
    parsed = _options(argv, OAUTH_TOKENS, (MIN_VALID_FLAG,), (RAW_FLAG,))
    if parsed is None:
        return None
    found = parsed[0]
    output = found[OUTPUT_FLAG][-1] if OUTPUT_FLAG in found else None
    fmt = (output if output is not None else os.environ.get("IAMCLI_OUTPUT", "")).strip().lower()
    who = _profile(found)
    seconds = _seconds(found)
    raw = RAW_FLAG in found
    if fmt not in ("", *OUTPUT_FORMATS) or who is None or seconds is None:
        return None
    if raw and fmt == "json":
        return None
    return Request(who[0], who[1], fmt == "json", seconds, raw)


class ListRequest:
    __slots__ = ("profile", "quiet", "service_id")

    def __init__(self, profile: str, service_id: str, quiet: bool) -> None:
        self.profile = profile
        self.service_id = service_id
        self.quiet = quiet


def recognise_list(argv: list[str]) -> ListRequest | None:
    """The request, if `argv` is `apikeys list --service-id REF` with JSON output and common
    options only; never raises. (Typer and the CLI's modules are most of a long list's own
    time; the full command, `iamcli.cli.api_keys.apikeys_list`, holds its definition.)"""
    if APIKEYS not in argv or LIST not in argv or argv.index(LIST) < argv.index(APIKEYS):
        return None
    at = argv.index(APIKEYS)
    parsed = _options(argv[:at] + argv[at + 1 :], LIST, (SERVICE_ID_FLAG,), ())
    if parsed is None or SERVICE_ID_FLAG not in parsed[0]:
        return None
    found = parsed[0]
    output = found[OUTPUT_FLAG][-1] if OUTPUT_FLAG in found else None
    fmt = (output if output is not None else os.environ.get("IAMCLI_OUTPUT", "")).strip().lower()
    who = _profile(found)
    if fmt != "json" or who is None:
        return None
    quiet = any(flag in found for flag in QUIET_FLAGS)
    return ListRequest(who[0], found[SERVICE_ID_FLAG][-1], quiet)


def apikeys_list(request: ListRequest) -> int:
    """What `iamcli apikeys list --service-id REF --output json` does, without Typer."""
    from .cli.views import identity_label, stream_json_list
    from .models import Owner
    from .output import Output
    from .services.identities import resolve_service_id
    from .session import Session

    out = Output(json=True, quiet=request.quiet)
    session = Session(request.profile, out=out, stdin=sys.stdin)
    try:
        flavor = session.flavor()
        owner = Owner(resolve_service_id(flavor, request.service_id))
        assert owner.service_id is not None
        whose = f"service ID {owner.service_id.name}"
        out.status(f"Getting API keys of {whose} as {identity_label(session)}...")
        stream_json_list(out, (k.to_json() for k in flavor.api_keys(owner)))
    finally:
        session.close()
    return 0


def recognise_exec(argv: list[str]) -> ExecRequest | None:
    """The request, if `argv` is `exec` with options this path knows; never raises."""
    if EXEC not in argv[:6]:
        return None
    parsed = _options(argv, EXEC, EXEC_VALUE_FLAGS, EXEC_FLAGS)
    if parsed is None:
        return None
    found, command = parsed
    who = _profile(found)
    seconds = _seconds(found)
    if who is None or seconds is None or not command:
        return None
    from .services.exec import ExecRequest, sdk_service_name

    try:
        services = tuple(sdk_service_name(n) for n in found.get(SDK_SERVICE_FLAG, []))
    except Exception:
        return None
    return ExecRequest(
        who[0],
        command,
        min_valid=seconds,
        services=services,
        with_apikey="--with-apikey" in found,
        metadata_server="--metadata-server" in found,
        terraform="--terraform" in found,
    )


def oauth_tokens(request: Request) -> int:
    from .output import oauth_tokens_text

    cached = token_cache.usable(request.profile)
    if (
        cached is not None
        and not cached.has_refresh_token
        and token_cache.fresh_enough(cached, request.min_valid)
    ):
        text = oauth_tokens_text(
            cached.authorization,
            None,
            as_json=request.as_json,
            expires_at=cached.expires_at,
            raw=request.raw,
        )
    else:
        from .output import Output
        from .session import Session

        session = Session(request.profile, out=Output(json=request.as_json), stdin=sys.stdin)
        try:
            if paths.env_api_key_name() is not None:
                # An environment key's run has no refresh token to show; services.auth (and
                # the httpx it imports) is not needed to say so.
                token = session.access_token(request.min_valid)
                access, refresh, expires_at = token.authorization, None, token.expires_at
            else:
                from .services.auth import oauth_tokens as current

                tokens = current(session, request.min_valid)
                access, refresh, expires_at = tokens.access, tokens.refresh, tokens.expires_at
        finally:
            session.close()
        text = oauth_tokens_text(
            access, refresh, as_json=request.as_json, expires_at=expires_at, raw=request.raw
        )
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0
