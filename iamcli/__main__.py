"""Entry point of the `iamcli` console script."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from .exits import run_guarded
    from .fastpath import oauth_tokens, recognise, recognise_exec

    args = sys.argv[1:] if argv is None else argv
    request = recognise(args)
    if request is not None:
        return run_guarded(lambda: oauth_tokens(request))
    child = recognise_exec(args)
    if child is not None:
        from .services.exec import run

        return run_guarded(lambda: run(child))
    return run_guarded(lambda: _full(argv))


def _full(argv: list[str] | None) -> int:
    from .cli.main import app

    try:
        app(args=argv, prog_name="iamcli", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
