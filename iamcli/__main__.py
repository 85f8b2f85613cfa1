"""Entry point of the `iamcli` console script."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from .exits import run_guarded
    from .fastpath import oauth_tokens, recognise, recognise_exec, recognise_list

    args = sys.argv[1:] if argv is None else argv
    request = recognise(args)
    if request is not None:
        return run_guarded(lambda: oauth_tokens(request))
    child = recognise_exec(args)
    if child is not None:
        from .services.exec import run

        return run_guarded(lambda: run(child))
    listing = recognise_list(args)
    if listing is not None:
        from .fastpath import apikeys_list

        return run_guarded(lambda: apikeys_list(listing))
    return run_guarded(lambda: _full(argv))


def _full(argv: list[str] | None) -> int:
    import typer._click.exceptions as click_errors
    from typer.exceptions import Abort

    from .cli.main import app
    from .errors import ExitCode, UsageError

    try:
        code = app(args=argv, prog_name="iamcli", standalone_mode=False)
    except SystemExit as exc:  # shell completion answers and exits
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except click_errors.NoArgsIsHelpError as exc:
        # `iamcli` or `iamcli apikeys` alone: the help, as a usage error.
        if exc.ctx is not None:
            sys.stdout.write(exc.ctx.get_help() + "\n")
        return int(ExitCode.USAGE)
    except click_errors.UsageError as exc:
        # The parser's errors in the shape of every other error: FAILED, one line, the hint.
        path = exc.ctx.command_path if exc.ctx is not None else _command_path(app, argv)
        raise UsageError(exc.format_message(), hint=f"Run '{path} -h' for help.") from None
    except Abort as exc:
        if isinstance(exc.__cause__, EOFError):
            raise UsageError("input ended before an answer was given") from None
        raise KeyboardInterrupt from None
    except click_errors.ClickException as exc:
        raise UsageError(exc.format_message()) from None
    if code == int(ExitCode.INTERRUPTED):
        # Typer turns Ctrl-C into exit code 130 without a word; say it as the fast path does.
        raise KeyboardInterrupt
    return code if isinstance(code, int) else 0


def _command_path(app: object, argv: list[str] | None) -> str:
    """`iamcli COMMAND [SUBCOMMAND]` as far as argv names known commands (for the hint of a
    parser error that came without its context)."""
    import typer.main

    group = typer.main.get_command(app)  # type: ignore[arg-type]
    path = ["iamcli"]
    for arg in sys.argv[1:] if argv is None else argv:
        commands = getattr(group, "commands", None)
        if commands is None:
            break
        if arg in commands:
            path.append(arg)
            group = commands[arg]
    return " ".join(path)


if __name__ == "__main__":
    sys.exit(main())
