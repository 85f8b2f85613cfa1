"""`iamcli oauth-tokens` run before the CLI framework loads.

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
from .cli.flags import OAUTH_TOKENS, OUTPUT_FLAG, OUTPUT_FORMATS, PROFILE_FLAG, QUIET_FLAGS


class Request:
    __slots__ = ("as_json", "profile", "profile_flag")

    def __init__(self, profile: str, profile_flag: str | None, as_json: bool) -> None:
        self.profile = profile
        self.profile_flag = profile_flag
        self.as_json = as_json


def recognise(argv: list[str]) -> Request | None:
    """The request, if `argv` is exactly `oauth-tokens` with common options; never raises."""
    if OAUTH_TOKENS not in argv:
        return None
    profile: str | None = None
    output: str | None = None
    seen = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == OAUTH_TOKENS and not seen:
            seen = True
        elif arg in (PROFILE_FLAG, OUTPUT_FLAG) and i + 1 < len(argv):
            if arg == PROFILE_FLAG:
                profile = argv[i + 1]
            else:
                output = argv[i + 1]
            i += 1
        elif arg.startswith(PROFILE_FLAG + "="):
            profile = arg.partition("=")[2]
        elif arg.startswith(OUTPUT_FLAG + "="):
            output = arg.partition("=")[2]
        elif arg not in QUIET_FLAGS:
            return None
        i += 1
    fmt = (output if output is not None else os.environ.get("IAMCLI_OUTPUT", "")).strip().lower()
    trace = os.environ.get("IAMCLI_TRACE", "").strip().lower()
    if fmt not in ("", *OUTPUT_FORMATS) or trace not in paths.TRACE_OFF:
        return None
    name, _ = paths.profile_name_from(profile)
    if not paths.is_valid_profile_name(name):
        return None
    return Request(name, profile, fmt == "json")


def oauth_tokens(request: Request) -> int:
    from .output import oauth_tokens_text

    cached = token_cache.usable(request.profile)
    if (
        cached is not None
        and not cached.has_refresh_token
        and not token_cache.needs_refresh(cached)
    ):
        text = oauth_tokens_text(cached.authorization, None, as_json=request.as_json)
    else:
        from .output import Output
        from .services.auth import oauth_tokens as current
        from .session import Session

        session = Session(request.profile, out=Output(json=request.as_json), stdin=sys.stdin)
        try:
            tokens = current(session)
        finally:
            session.close()
        text = oauth_tokens_text(tokens.access, tokens.refresh, as_json=request.as_json)
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0
