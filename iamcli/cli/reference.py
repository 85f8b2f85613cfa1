"""Files generated from the command definitions: shell completions and docs/commands.md.

`scripts/gen-docs` writes them; tests/cli/test_generated.py regenerates them and fails when the
committed copies drift from the code.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator

SHELLS = {"bash": "iamcli.bash", "zsh": "_iamcli", "fish": "iamcli.fish"}
HELP_COLUMNS = "100"


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run(args: list[str], **env: str) -> str:
    from ..__main__ import main

    out = io.StringIO()
    with _env(**env), contextlib.redirect_stdout(out):
        main(args)
    return out.getvalue()


def completion_script(shell: str) -> str:
    """The script a shell sources; it calls back into `iamcli` on each TAB."""
    return _run([], _IAMCLI_COMPLETE=f"source_{shell}")


def command_paths() -> list[list[str]]:
    """Every command, as the words that name it (`["apikeys", "list"]`)."""
    import typer

    from .main import app

    group = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: object, prefix: list[str]) -> None:
        children = getattr(command, "commands", None)
        if children is None:
            paths.append(prefix)
            return
        for name in children:
            walk(children[name], [*prefix, name])

    walk(group, [])
    return paths


def commands_markdown() -> str:
    parts = [
        "# iamcli command reference\n",
        "Generated from `--help` by `scripts/gen-docs`; a test fails when it drifts.\n",
        "```text\n" + _help([]) + "```\n",
    ]
    for path in command_paths():
        parts.append(f"## iamcli {' '.join(path)}\n")
        parts.append("```text\n" + _help(path) + "```\n")
    return "\n".join(parts)


def _help(path: list[str]) -> str:
    return _run([*path, "--help"], COLUMNS=HELP_COLUMNS, TERM="dumb", NO_COLOR="1")
