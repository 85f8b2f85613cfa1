"""The names of the options every command takes (no Typer here: the fast path reads them)."""

PROFILE_FLAG = "--profile"
OUTPUT_FLAG = "--output"
QUIET_FLAGS = ("--quiet", "-q")
TRACE_FLAG = "--trace"
OAUTH_TOKENS = "oauth-tokens"
OUTPUT_FORMATS = ("json", "text")  # "" (unset) means text
MIN_VALID_FLAG = "--min-valid"
RAW_FLAG = "--raw"
EXEC = "exec"
# `apikeys list --service-id REF --output json` runs before Typer too (fastpath.recognise_list).
APIKEYS = "apikeys"
LIST = "list"
SERVICE_ID_FLAG = "--service-id"
SDK_SERVICE_FLAG = "--sdk-service"
# `exec`'s own options, by whether they take a value (the fast path parses them too).
EXEC_VALUE_FLAGS = (PROFILE_FLAG, MIN_VALID_FLAG, SDK_SERVICE_FLAG)
EXEC_FLAGS = ("--with-apikey", "--metadata-server", "--terraform")
