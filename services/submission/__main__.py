"""``python -m services.submission``: serve the API and consumers, manage API keys."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.app import create_app
from services.submission.auth import create_client
from services.submission.context import MIGRATIONS, SERVICE
from services.submission.settings import SubmissionSettings
from shared import http
from shared.db import in_migrated_database
from shared.reference.catalog import load_reference

cli = typer.Typer(help="Submission service of the sáng kiến pipeline.", no_args_is_help=True)
keys = typer.Typer(help="Portal API keys.", no_args_is_help=True)
cli.add_typer(keys, name="keys")


@cli.command()
def serve() -> None:
    """Serve the HTTP API and the AMQP consumers until SIGTERM or Ctrl-C."""
    settings = SubmissionSettings()
    http.serve(SERVICE, settings, create_app(settings))


@cli.command()
def openapi() -> None:
    """Print the OpenAPI document of the HTTP API."""
    typer.echo(json.dumps(create_app().openapi(), indent=2, ensure_ascii=False))


@keys.command("create")
def create_key(
    name: Annotated[str, typer.Option(help="Who the key is for, e.g. 'portal Hà Nội'.")],
    scope: Annotated[list[str], typer.Option(help="Union code whose subtree the key covers.")],
    contacts: Annotated[bool, typer.Option(help="May the key read authors' contacts?")] = False,
    review: Annotated[
        bool, typer.Option(help="May the key record review decisions (support team, superior)?")
    ] = False,
) -> None:
    """Create a portal API key and print it (it is shown only once)."""
    settings = SubmissionSettings()

    async def _create(session: AsyncSession) -> str:
        return await create_client(
            session,
            name=name,
            scopes=scope,
            tree=load_reference(settings.reference_dir).tree,
            can_see_contacts=contacts,
            can_review=review,
        )

    url = settings.database_url_for(SERVICE)
    try:
        typer.echo(asyncio.run(in_migrated_database(url, MIGRATIONS, _create)))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


if __name__ == "__main__":
    cli()
