"""A command table whose commands are made when used.

Typer reads every command's parameters (signatures, annotations, option objects) when it builds
the command tree, a few milliseconds per command, on every run. With forty commands that is
most of the time `--help` and a TAB take. Here the tree holds names and one-line help; a command
is made only when it is run, asked for its help, or completed into.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
import typer.core
import typer.main
import typer.models
from typer._click import Command as ClickCommand
from typer._click import Context
from typer._click.formatting import HelpFormatter
from typer._click.shell_completion import CompletionItem
from typer._click.utils import make_default_short_help


@dataclass(frozen=True)
class Entry:
    make: Callable[[], ClickCommand]
    help: str  # the full help; its first sentence is the short help

    def short(self, limit: int = 45) -> str:
        return make_default_short_help(self.help, limit)


def command_entry(
    fn: Callable[..., Any],
    *,
    name: str,
    cls: type[typer.core.TyperCommand],
    help: str | None,
    context_settings: dict[str, Any] | None = None,
) -> Entry:
    def make() -> ClickCommand:
        info = typer.models.CommandInfo(
            name=name, cls=cls, callback=fn, help=help, context_settings=context_settings
        )
        return typer.main.get_command_from_info(
            info, pretty_exceptions_short=True, rich_markup_mode=None
        )

    return Entry(make, inspect.cleandoc(help) if help else inspect.getdoc(fn) or "")


def deferred_entry(
    get_fn: Callable[[], Callable[..., Any]],
    *,
    name: str,
    cls: type[typer.core.TyperCommand],
    help: str,
) -> Entry:
    """As command_entry, for a command whose function is itself made only when it is used
    (commands made per kind by a factory): the table needs only its help."""

    def make() -> ClickCommand:
        return command_entry(get_fn(), name=name, cls=cls, help=help).make()

    return Entry(make, inspect.cleandoc(help))


def group_entry(app: typer.Typer, *, name: str) -> Entry:
    def make() -> ClickCommand:
        return typer.main.get_group_from_info(
            typer.models.TyperInfo(app, name=name),
            pretty_exceptions_short=True,
            rich_markup_mode=None,
            suggest_commands=True,
        )

    callback = app.registered_callback.callback if app.registered_callback else None
    return Entry(make, inspect.getdoc(callback) or "" if callback else "")


class _Commands(MutableMapping[str, ClickCommand]):
    """Every name is there; a command is made on first look-up, then kept."""

    def __init__(self, entries: dict[str, Entry]) -> None:
        self.entries = entries
        self.made: dict[str, ClickCommand] = {}

    def __getitem__(self, name: str) -> ClickCommand:
        if name not in self.made:
            self.made[name] = self.entries[name].make()
        return self.made[name]

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __setitem__(self, name: str, command: ClickCommand) -> None:
        self.made[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError("commands cannot be removed")


class LazyGroup(typer.core.TyperGroup):
    """The root group; subclasses set `entries`."""

    entries: ClassVar[dict[str, Entry]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _Commands(self.entries)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.entries)

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        if not self.entries:
            return
        # A name longer than the formatter's first column (30) has its help on the next line,
        # in the same column as the others': the longest name must not narrow every help.
        limit = formatter.width - 6 - min(30, max(len(name) for name in self.entries))
        with formatter.section("Commands"):
            formatter.write_dl([(n, e.short(limit)) for n, e in self.entries.items()])

    def shell_complete(self, ctx: Context, incomplete: str) -> list[CompletionItem]:
        names = [
            CompletionItem(n, help=e.short())
            for n, e in self.entries.items()
            if n.startswith(incomplete)
        ]
        # The group's own options, without making every command to list them.
        return names + ClickCommand.shell_complete(self, ctx, incomplete)
