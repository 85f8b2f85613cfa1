"""The one place a run's failure becomes a message on stderr and an exit code."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def run_guarded(body: Callable[[], int]) -> int:
    """Run a command body; known errors print `FAILED` and their message, never a traceback."""
    # errors.py (and the enum module it needs) is imported only when something went wrong:
    # a cached `oauth-tokens` never needs it.
    try:
        return body()
    except KeyboardInterrupt:
        from .errors import ExitCode

        sys.stderr.write("\nInterrupted\n")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return reader_gone()
    except Exception as exc:
        from .errors import IamcliError

        if not isinstance(exc, IamcliError):
            raise
        from .output import Output

        Output().error(exc.message, exc.hint)
        return int(exc.exit_code)


def reader_gone() -> int:
    # The reader went away (`| head`): not an error of ours. Point stdout at /dev/null so that
    # the interpreter's final flush does not complain.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0
