"""`iamcli oauth-tokens` answered from the token cache before the CLI framework loads.

The hottest command runs thousands of times a day in pipelines. When its cached token is fresh,
answering needs two small files and no network, so this module does just that, importing
little beyond the interpreter's own start-up set. Anything it does not fully recognise (an
unknown option, a stale token, a session with a refresh token to show, a trace) falls through
to the full command, which is the one definition of the command; the option names and the
cache policy come from the same modules the full command uses.
"""

from __future__ import annotations

import os
import sys

from . import paths, token_cache
from .cli.flags import OAUTH_TOKENS, OUTPUT_FLAG, PROFILE_FLAG, QUIET_FLAGS


def oauth_tokens(argv: list[str]) -> int | None:
    """The exit code if answered here, or None to run the full command."""
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
    if fmt not in ("", "text", "json") or trace not in ("", "false", "0"):
        return None
    name, _ = paths.profile_name_from(profile)
    if not paths.is_valid_profile_name(name):
        return None
    cached = token_cache.usable(name)
    if cached is None or cached.has_refresh_token or token_cache.needs_refresh(cached):
        return None
    from .output import oauth_tokens_text

    sys.stdout.write(oauth_tokens_text(cached.authorization, None, as_json=fmt == "json"))
    sys.stdout.flush()
    return 0
