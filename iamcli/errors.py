"""The exception tree of iamcli and the one table that turns it into exit codes.

Catch what you can handle; let the CLI entry point turn the rest into a message and an exit
code with :func:`exit_code_for`. Messages are single lines meant for a person and never carry
a secret; ``hint`` is an optional second line that names the fix.

::

    IamcliError                     exit 1 unless a subclass says otherwise
    ├── UsageError                  exit 2  bad flag, argument, file name or environment value
    ├── NotLoggedInError            exit 4  no session for the profile
    ├── CredentialStoreError        exit 1  the keyring (or the plaintext file) cannot be used
    ├── NetworkError                exit 6  connection, timeout, TLS, DNS, proxy
    ├── ProtocolError               exit 1  the server answered something unusable
    ├── FileExportError             exit 1  a key file could not be written safely
    ├── TokenLifetimeError          exit 1  the server's tokens cannot live as long as asked
    ├── Interrupted                 exit 130  Ctrl-C, where the message must say more (a
    │                                         rotation half done)
    └── ApiError                    exit 1  the server answered with an error status
        ├── AuthError               exit 4  401, 403, and token-endpoint 400s that mean
        │                                   "this credential is no good"
        ├── NotFoundError           exit 3  404
        ├── ConflictError           exit 5  409, 412 (stale version, locked entity)
        ├── RateLimitError          exit 1  429 after the retries ran out
        └── ServerError             exit 1  5xx after the retries ran out

KeyboardInterrupt exits 130; any other exception is a bug and exits 1.
"""

from __future__ import annotations

from enum import IntEnum

# Not `from typing import TYPE_CHECKING`: importing typing costs ~5 ms on the fast path;
# mypy treats a name TYPE_CHECKING as true all the same.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import ClassVar


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    AUTH = 4
    CONFLICT = 5
    NETWORK = 6
    INTERRUPTED = 130


_MEANINGS: tuple[tuple[ExitCode, str], ...] = (
    (ExitCode.OK, "Success."),
    (ExitCode.ERROR, "General failure (server error, unusable answer, file or keyring problem)."),
    (ExitCode.USAGE, "Usage error: a bad flag, argument or environment value."),
    (ExitCode.NOT_FOUND, "The service ID, API key or other entity does not exist (HTTP 404)."),
    (
        ExitCode.AUTH,
        "Not logged in, the credential was refused, or the token is no longer valid.",
    ),
    (ExitCode.CONFLICT, "Conflict: stale version, locked entity or duplicate (HTTP 409/412)."),
    (ExitCode.NETWORK, "Network failure: connection, timeout, TLS, DNS or proxy."),
    (ExitCode.INTERRUPTED, "Interrupted (Ctrl-C)."),
)

# IAM answers a dead credential on the token endpoint with 400, not 401; these codes mean
# "log in again", so a script must see the same exit code as for a 401.
CREDENTIAL_ERROR_CODES = frozenset({"BXNIM0415E", "BXNIM0408E", "BXNIM0407E", "BXNIM0439E"})


class IamcliError(Exception):
    """Base class of every error iamcli raises on purpose."""

    exit_code: ClassVar[ExitCode] = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(IamcliError):
    exit_code = ExitCode.USAGE


class NotLoggedInError(IamcliError):
    exit_code = ExitCode.AUTH


class CredentialStoreError(IamcliError):
    exit_code = ExitCode.ERROR


class NetworkError(IamcliError):
    exit_code = ExitCode.NETWORK
    # False when the request certainly never reached the server (it could not connect).
    may_have_arrived = True


class ProtocolError(IamcliError):
    exit_code = ExitCode.ERROR


class FileExportError(IamcliError):
    exit_code = ExitCode.ERROR


class TokenLifetimeError(IamcliError):
    """`--min-valid` asked for longer than the server's tokens live: minting again won't help."""

    exit_code = ExitCode.ERROR


class Interrupted(IamcliError):
    """Ctrl-C in the middle of something that must say how to finish it (a hint)."""

    exit_code = ExitCode.INTERRUPTED


class ApiError(IamcliError):
    """The server answered with a non-2xx status.

    ``url`` never includes the query string, which may hold secrets.
    """

    exit_code = ExitCode.ERROR

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        request_id: str | None = None,
        method: str = "",
        url: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.method = method
        self.url = url
        # How many times the request was sent; above 1, an earlier attempt may have acted.
        self.attempts = 1

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class AuthError(ApiError):
    exit_code = ExitCode.AUTH


class NotFoundError(ApiError):
    exit_code = ExitCode.NOT_FOUND


class ConflictError(ApiError):
    exit_code = ExitCode.CONFLICT


class RateLimitError(ApiError):
    exit_code = ExitCode.ERROR


class ServerError(ApiError):
    exit_code = ExitCode.ERROR


def api_error_class(status: int, code: str | None = None) -> type[ApiError]:
    """The ApiError subclass for an HTTP status and an optional IBM message code."""
    if status in (401, 403) or (status == 400 and code in CREDENTIAL_ERROR_CODES):
        return AuthError
    if status == 404:
        return NotFoundError
    if status in (409, 412):
        return ConflictError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return ApiError


def exit_code_for(exc: BaseException) -> int:
    """The process exit code for an exception that reached the top of a command."""
    if isinstance(exc, IamcliError):
        return int(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return int(ExitCode.INTERRUPTED)
    return int(ExitCode.ERROR)


def exit_code_table() -> str:
    """The exit codes as a Markdown table, for the README (and a test that keeps it in sync)."""
    lines = ["| Code | Name | Meaning |", "|---:|---|---|"]
    lines += [f"| {code.value} | `{code.name}` | {meaning} |" for code, meaning in _MEANINGS]
    return "\n".join(lines) + "\n"
