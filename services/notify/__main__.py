"""``python -m services.notify``: serve the subscriptions API, consume progress, deliver notices."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.app import create_app
from services.notify.auth import keyring
from services.notify.context import MIGRATIONS, SERVICE
from services.notify.settings import NotifySettings
from shared import http
from shared.cli import add_migrate_command
from shared.keys_cli import ExpiresInDays, expiry, key_commands, run_on_keys
from shared.reference.catalog import load_reference
from shared.reference.live import current_reference

cli = typer.Typer(
    help="Notify service of the sáng kiến pipeline.",
    no_args_is_help=True,
    # A traceback's local variables can hold secrets read from the environment.
    pretty_exceptions_show_locals=False,
)
add_migrate_command(cli, SERVICE, lambda: NotifySettings().database_url_for(SERVICE), MIGRATIONS)
keys = key_commands(
    description="Keys of the subscriptions API.",
    database_url=lambda: NotifySettings().database_url_for(SERVICE),
    migrations=MIGRATIONS,
    keyring=keyring(),
)
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
    expires_in_days: ExpiresInDays = None,
) -> None:
    """Create a key of the subscriptions API and print it (it is shown only once)."""
    settings = NotifySettings()

    async def create(session: AsyncSession) -> str:
        reference = await current_reference(load_reference(settings.reference_dir), session)
        return await keyring().create(
            session,
            name=name,
            scopes=scope,
            tree=reference.tree,
            expires_at=expiry(expires_in_days),
        )

    typer.echo(run_on_keys(settings.database_url_for(SERVICE), MIGRATIONS, create))


if __name__ == "__main__":
    cli()
