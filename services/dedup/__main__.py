"""``python -m services.dedup serve``: screen submissions for duplicates."""

from __future__ import annotations

import typer
import uvicorn

from services.dedup.app import create_app
from services.dedup.context import SERVICE
from services.dedup.settings import DedupSettings
from shared.observability import configure_logging

cli = typer.Typer(help="Dedup service of the sáng kiến pipeline.", no_args_is_help=True)


@cli.callback()
def main() -> None:
    """Dedup service of the sáng kiến pipeline."""


@cli.command()
def serve() -> None:
    """Serve health and metrics and consume until SIGTERM or Ctrl-C."""
    settings = DedupSettings()
    configure_logging(SERVICE, settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    cli()
