"""``python -m services.dedup serve``: screen submissions for duplicates."""

from __future__ import annotations

import typer

from services.dedup.app import create_app
from services.dedup.context import MIGRATIONS, SERVICE
from services.dedup.settings import DedupSettings
from shared import http
from shared.db import migrate_database

cli = typer.Typer(
    help="Dedup service of the sáng kiến pipeline.",
    no_args_is_help=True,
    # A traceback's local variables can hold secrets read from the environment.
    pretty_exceptions_show_locals=False,
)


@cli.callback()
def main() -> None:
    """Dedup service of the sáng kiến pipeline."""


@cli.command()
def serve() -> None:
    """Serve health and metrics and consume until SIGTERM or Ctrl-C."""
    settings = DedupSettings()
    http.serve(SERVICE, settings, create_app(settings))


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date, then exit (run once before starting replicas
    that have SANGKIEN_MIGRATE_ON_START=false)."""
    settings = DedupSettings()
    migrate_database(settings.database_url_for(SERVICE), MIGRATIONS)
    typer.echo("dedup database migrated")


if __name__ == "__main__":
    cli()
