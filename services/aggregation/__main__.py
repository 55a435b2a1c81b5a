"""``python -m services.aggregation serve``: counts per union and phase, with a progress API."""

from __future__ import annotations

import json

import typer

from services.aggregation.app import create_app
from services.aggregation.context import MIGRATIONS, SERVICE
from services.aggregation.settings import AggregationSettings
from shared import http
from shared.db import migrate_database

cli = typer.Typer(
    help="Aggregation service of the sáng kiến pipeline.",
    no_args_is_help=True,
    # A traceback's local variables can hold secrets read from the environment.
    pretty_exceptions_show_locals=False,
)


@cli.callback()
def main() -> None:
    """Aggregation service of the sáng kiến pipeline."""


@cli.command()
def serve() -> None:
    """Serve health and metrics and consume until SIGTERM or Ctrl-C."""
    settings = AggregationSettings()
    http.serve(SERVICE, settings, create_app(settings))


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date, then exit (run once before starting replicas
    that have SANGKIEN_MIGRATE_ON_START=false)."""
    settings = AggregationSettings()
    migrate_database(settings.database_url_for(SERVICE), MIGRATIONS)
    typer.echo("aggregation database migrated")


@cli.command()
def openapi() -> None:
    """Print the OpenAPI document of the HTTP API."""
    typer.echo(json.dumps(create_app().openapi(), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    cli()
