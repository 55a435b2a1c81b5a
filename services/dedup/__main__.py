"""``python -m services.dedup serve``: screen submissions for duplicates."""

from __future__ import annotations

import typer

from services.dedup.app import create_app
from services.dedup.context import SERVICE
from services.dedup.settings import DedupSettings
from shared import http

cli = typer.Typer(help="Dedup service of the sáng kiến pipeline.", no_args_is_help=True)


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
