"""The ``migrate`` command every service's command line has beside ``serve``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from shared.db import migrate_database


def add_migrate_command(
    cli: typer.Typer, service: str, database_url: Callable[[], str], migrations: Path
) -> None:
    """Give ``cli`` a ``migrate`` command for the service's database."""

    @cli.command()
    def migrate() -> None:
        """Bring the database schema up to date, then exit (run once before starting replicas
        that have SANGKIEN_MIGRATE_ON_START=false)."""
        migrate_database(database_url(), migrations)
        typer.echo(f"{service} database migrated")
