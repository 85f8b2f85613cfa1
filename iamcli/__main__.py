"""Entry point of the `iamcli` console script."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from .cli.main import app
    from .errors import IamcliError

    try:
        app(args=argv, standalone_mode=True)
    except IamcliError as exc:
        sys.stderr.write(f"FAILED\n{exc.message}\n")
        return int(exc.exit_code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
