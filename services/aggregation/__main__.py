"""``python -m services.aggregation serve``: counts per union and phase, with a progress API."""

from __future__ import annotations

import json

import typer

from services.aggregation.app import create_app
from services.aggregation.context import MIGRATIONS, SERVICE
from services.aggregation.settings import AggregationSettings
from shared import http
from shared.cli import add_migrate_command

cli = typer.Typer(
    help="Aggregation service of the sáng kiến pipeline.",
    no_args_is_help=True,
    # A traceback's local variables can hold secrets read from the environment.
    pretty_exceptions_show_locals=False,
)
add_migrate_command(
    cli, SERVICE, lambda: AggregationSettings().database_url_for(SERVICE), MIGRATIONS
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
def openapi() -> None:
    """Print the OpenAPI document of the HTTP API."""
    typer.echo(json.dumps(create_app().openapi(), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    cli()
