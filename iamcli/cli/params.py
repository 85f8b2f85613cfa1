"""Options every command takes, declared once, and what a command gets from them.

ibmcloud users write `iamcli service-ids --output json`: the common options are accepted after
the command name, and also before it (`iamcli --profile ci oauth-tokens`). A value given after
the command wins.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from ..errors import UsageError

if TYPE_CHECKING:
    from ..output import Output
    from ..session import Session
    from ..trace import Trace

from .flags import (
    MIN_VALID_FLAG,
    OUTPUT_FLAG,
    OUTPUT_FORMATS,
    PROFILE_FLAG,
    QUIET_FLAGS,
    TRACE_FLAG,
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Globals:
    """The common options as given; None where not given."""

    profile: str | None = None
    output: str | None = None
    quiet: bool = False
    trace: bool = False


ProfileOpt = Annotated[
    str | None,
    typer.Option(
        PROFILE_FLAG,
        metavar="NAME",
        help="Profile to use (default: $IAMCLI_PROFILE, else 'default').",
    ),
]
OutputOpt = Annotated[
    str | None,
    typer.Option(
        OUTPUT_FLAG,
        metavar="FORMAT",
        help="Result format: json, or text (default; $IAMCLI_OUTPUT).",
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(*QUIET_FLAGS, help="Print only the result: no status lines; IDs only for lists."),
]
TraceOpt = Annotated[
    bool,
    typer.Option(
        TRACE_FLAG,
        help="Print each HTTP request and response "
        "to stderr, secrets hidden "
        "($IAMCLI_TRACE=true|PATH).",
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", "-f", help="Do not ask for confirmation.")]
MinValidOpt = Annotated[
    str | None,
    typer.Option(
        MIN_VALID_FLAG,
        metavar="DURATION",
        help="The token must stay valid at least this long (90s, 10m, 1h, 2d); "
        "a new one is minted first if needed.",
    ),
]


def duration_seconds(text: str | None, flag: str) -> int:
    """Seconds in a duration flag's value (0 when not given), or a usage error naming it."""
    if text is None:
        return 0
    from ..durations import DurationError, parse_duration

    try:
        return parse_duration(text)
    except DurationError as exc:
        raise UsageError(f"{flag}: {exc}") from None


_COMMON = (
    inspect.Parameter(
        "profile", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ProfileOpt
    ),
    inspect.Parameter("output", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=OutputOpt),
    inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=QuietOpt),
    inspect.Parameter("trace", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=TraceOpt),
)
_COMMON_NAMES = tuple(p.name for p in _COMMON)
# Typer hands a parameter annotated as its Context the running context.
_CONTEXT = inspect.Parameter(
    "typer_context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context
)


class Run:
    """What a command works with: the output sink and, on demand, a session."""

    def __init__(self, given: Globals) -> None:
        self.given = given
        self.profile_name = _profile_name(given.profile)
        self.json = _output_is_json(given.output)
        from ..output import Output

        self.out: Output = Output(json=self.json, quiet=given.quiet)
        self._trace: Trace | None = None
        self._trace_made = False
        self._session: Session | None = None

    @property
    def trace(self) -> Trace | None:
        if not self._trace_made:
            from ..trace import Trace

            self._trace = Trace.from_env_and_flag(self.given.trace)
            self._trace_made = True
        return self._trace

    @property
    def session(self) -> Session:
        if self._session is None:
            from ..session import Session

            self._session = Session(
                self.profile_name, out=self.out, trace=self.trace, stdin=sys.stdin
            )
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
        if self._trace is not None:
            self._trace.close()


def _profile_name(flag: str | None) -> str:
    from ..config import select_profile_name

    return select_profile_name(flag)


def _output_is_json(flag: str | None) -> bool:
    value = (flag if flag is not None else os.environ.get("IAMCLI_OUTPUT", "")).strip().lower()
    if value in ("", *OUTPUT_FORMATS):
        return value == "json"
    source = OUTPUT_FLAG if flag is not None else "IAMCLI_OUTPUT"
    raise UsageError(f"{source} must be json or text, not {value!r}")


def command(fn: F) -> F:
    """Give a command the common options; it receives a `Run` as its first argument."""
    signature = inspect.signature(fn, eval_str=True)
    own = [p for p in list(signature.parameters.values())[1:]]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        common = {name: kwargs.pop(name) for name in _COMMON_NAMES}
        outer = _outer_globals(kwargs.pop(_CONTEXT.name))
        given = Globals(
            profile=common["profile"] if common["profile"] is not None else outer.profile,
            output=common["output"] if common["output"] is not None else outer.output,
            quiet=common["quiet"] or outer.quiet,
            trace=common["trace"] or outer.trace,
        )
        run = Run(given)
        try:
            return fn(run, *args, **kwargs)
        finally:
            run.close()

    parameters = [*own, *_COMMON, _CONTEXT]
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__
    return wrapper  # type: ignore[return-value]


def _outer_globals(ctx: typer.Context) -> Globals:
    """The common options given before the command name (kept by the root callback)."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Globals) else Globals()
