"""``python -m services.dedup serve``: screen submissions for duplicates."""

from __future__ import annotations

import typer

from services.dedup.app import create_app
from services.dedup.context import MIGRATIONS, SERVICE
from services.dedup.settings import DedupSettings
from shared import http
from shared.cli import add_migrate_command

cli = typer.Typer(
    help="Dedup service of the sáng kiến pipeline.",
    no_args_is_help=True,
    # A traceback's local variables can hold secrets read from the environment.
    pretty_exceptions_show_locals=False,
)
add_migrate_command(cli, SERVICE, lambda: DedupSettings().database_url_for(SERVICE), MIGRATIONS)


@cli.callback()
def main() -> None:
    """Dedup service of the sáng kiến pipeline."""


@cli.command()
def serve() -> None:
    """Serve health and metrics and consume until SIGTERM or Ctrl-C."""
    settings = DedupSettings()
    http.serve(SERVICE, settings, create_app(settings))


if __name__ == "__main__":
    cli()
