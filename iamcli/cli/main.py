"""The root command: global options and the command table."""

from __future__ import annotations

import typer

from . import serve

app = typer.Typer(
    name="iamcli",
    help="IBM Cloud and IBM Cloud Private IAM on the command line.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command(name="serve", help=serve.SERVE_HELP)(serve.serve)


@app.callback()
def root() -> None:
    """IBM Cloud and IBM Cloud Private IAM on the command line."""
