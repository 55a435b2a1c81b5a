"""The operators' ``keys`` command of a service that issues API keys: create, list, revoke.

``create`` has options of each service's own (what a key may do there), so each service declares
it and hands the work to ``run_on_keys``; ``list`` and ``revoke`` are the same everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import utc_now
from shared.db import in_migrated_database
from shared.keys import Keyring

T = TypeVar("T")

ExpiresInDays = Annotated[
    float | None,
    typer.Option(min=0.001, help="Days until the key stops working (default: never)."),
]


def expiry(days: float | None) -> datetime | None:
    """When a key created now with ``--expires-in-days days`` stops working."""
    return None if days is None else utc_now() + timedelta(days=days)


def run_on_keys(
    database_url: str, migrations: Path, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """Run ``work`` in one transaction of the service's migrated database; a ValueError it
    raises is reported as a bad parameter."""
    try:
        return asyncio.run(in_migrated_database(database_url, migrations, work))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def key_commands(
    *, description: str, database_url: Callable[[], str], migrations: Path, keyring: Keyring[Any]
) -> typer.Typer:
    """A ``keys`` command group with ``list`` and ``revoke``; the service adds ``create``."""
    keys = typer.Typer(help=description, no_args_is_help=True)

    @keys.command("list")
    def list_keys() -> None:
        """List every key: id, holder, unions, created, expires, revoked (never a secret)."""
        rows = run_on_keys(database_url(), migrations, keyring.listing)
        table = Table(title=f"{keyring.prefix} keys")
        for column in ("key id", "name", "unions", "created", "expires", "revoked"):
            table.add_column(column)
        for row in rows:
            table.add_row(
                row.key_id,
                row.name,
                ", ".join(row.scopes),
                _when(row.created_at),
                _when(row.expires_at),
                _when(row.revoked_at),
            )
        Console().print(table)

    @keys.command("revoke")
    def revoke_key(
        key_id: Annotated[str, typer.Argument(help="The key's id (second part of the key).")],
    ) -> None:
        """Revoke a key: every process of the service refuses it within 30 seconds."""

        async def revoke(session: AsyncSession) -> bool:
            return await keyring.revoke(session, key_id)

        if not run_on_keys(database_url(), migrations, revoke):
            raise typer.BadParameter(f"no live key with id {key_id!r}")
        typer.echo(f"revoked {key_id}")

    return keys


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M")
