"""The names of the options every command takes (no Typer here: the fast path reads them)."""

PROFILE_FLAG = "--profile"
OUTPUT_FLAG = "--output"
QUIET_FLAGS = ("--quiet", "-q")
TRACE_FLAG = "--trace"
OAUTH_TOKENS = "oauth-tokens"
OUTPUT_FORMATS = ("json", "text")  # "" (unset) means text
