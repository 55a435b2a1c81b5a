"""``python -m services.notify``: serve the subscriptions API, consume progress, deliver notices."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.app import create_app
from services.notify.auth import create_client
from services.notify.context import MIGRATIONS, SERVICE
from services.notify.settings import NotifySettings
from shared import http
from shared.db import in_migrated_database
from shared.reference.catalog import load_reference

cli = typer.Typer(help="Notify service of the sáng kiến pipeline.", no_args_is_help=True)
keys = typer.Typer(help="Keys of the subscriptions API.", no_args_is_help=True)
cli.add_typer(keys, name="keys")


@cli.command()
def serve() -> None:
    """Serve the API, consume progress snapshots and deliver notices until SIGTERM or Ctrl-C."""
    settings = NotifySettings()
    http.serve(SERVICE, settings, create_app(settings))


@cli.command()
def openapi() -> None:
    """Print the OpenAPI document of the HTTP API."""
    typer.echo(json.dumps(create_app().openapi(), indent=2, ensure_ascii=False))


@keys.command("create")
def create_key(
    name: Annotated[str, typer.Option(help="Who the key is for, e.g. 'LĐLĐ Lai Châu'.")],
    scope: Annotated[list[str], typer.Option(help="Union code whose subtree the key covers.")],
) -> None:
    """Create a key of the subscriptions API and print it (it is shown only once)."""
    settings = NotifySettings()

    async def _create(session: AsyncSession) -> str:
        return await create_client(
            session,
            name=name,
            scopes=scope,
            tree=load_reference(settings.reference_dir).tree,
        )

    url = settings.database_url_for(SERVICE)
    try:
        typer.echo(asyncio.run(in_migrated_database(url, MIGRATIONS, _create)))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


if __name__ == "__main__":
    cli()
