"""Entry point of the `iamcli` console script: the one place errors become exit codes."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        from .fastpath import oauth_tokens

        answered = oauth_tokens(args)
    except BrokenPipeError:
        answered = _reader_gone()
    except Exception:
        answered = None
    if answered is not None:
        return answered
    return _full(argv)


def _full(argv: list[str] | None) -> int:
    from .errors import ExitCode, IamcliError
    from .output import Output

    try:
        from .cli.main import app

        app(args=argv, prog_name="iamcli", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except IamcliError as exc:
        Output().error(exc.message, exc.hint)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("\nInterrupted\n")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return _reader_gone()
    return 0


def _reader_gone() -> int:
    # The reader went away (`| head`): not an error of ours. Point stdout at /dev/null so that
    # the interpreter's final flush does not complain.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
