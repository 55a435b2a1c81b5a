"""``python -m services.submission``: serve the API and consumers, manage API keys."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.app import create_app
from services.submission.auth import create_client, keyring
from services.submission.context import MIGRATIONS, SERVICE
from services.submission.settings import SubmissionSettings
from shared import http
from shared.cli import add_migrate_command
from shared.keys_cli import ExpiresInDays, expiry, key_commands, run_on_keys
from shared.reference.catalog import load_reference
from shared.reference.live import current_reference

cli = typer.Typer(
    help="Submission service of the sáng kiến pipeline.",
    no_args_is_help=True,
    # A traceback's local variables can hold secrets read from the environment.
    pretty_exceptions_show_locals=False,
)
add_migrate_command(
    cli, SERVICE, lambda: SubmissionSettings().database_url_for(SERVICE), MIGRATIONS
)
keys = key_commands(
    description="Portal API keys.",
    database_url=lambda: SubmissionSettings().database_url_for(SERVICE),
    migrations=MIGRATIONS,
    keyring=keyring(),
)
cli.add_typer(keys, name="keys")


@cli.command()
def serve() -> None:
    """Serve the HTTP API and the AMQP consumers until SIGTERM or Ctrl-C."""
    settings = SubmissionSettings()
    http.serve(SERVICE, settings, create_app(settings))


@cli.command()
def openapi() -> None:
    """Print the OpenAPI document of the HTTP API."""
    # Printing the document needs no real secret.
    app = create_app(SubmissionSettings(development=True))
    typer.echo(json.dumps(app.openapi(), indent=2, ensure_ascii=False))


@keys.command("create")
def create_key(
    name: Annotated[str, typer.Option(help="Who the key is for, e.g. 'portal Hà Nội'.")],
    scope: Annotated[list[str], typer.Option(help="Union code whose subtree the key covers.")],
    contacts: Annotated[bool, typer.Option(help="May the key read authors' contacts?")] = False,
    review: Annotated[
        bool, typer.Option(help="May the key record review decisions (support team, superior)?")
    ] = False,
    expires_in_days: ExpiresInDays = None,
    broker_user: Annotated[
        str | None,
        typer.Option(
            help="The portal's broker user: its AMQP commands are filed as this key, in its "
            "unions (a revoked or expired key's user passes to the new key)."
        ),
    ] = None,
    manage_reference: Annotated[
        bool,
        typer.Option(
            help="May the key change the unions and targets in its subtrees (a union office's)?"
        ),
    ] = False,
) -> None:
    """Create a portal API key and print it (it is shown only once)."""
    settings = SubmissionSettings()

    async def create(session: AsyncSession) -> str:
        reference = await current_reference(load_reference(settings.reference_dir), session)
        return await create_client(
            session,
            name=name,
            scopes=scope,
            tree=reference.tree,
            can_see_contacts=contacts,
            can_review=review,
            expires_at=expiry(expires_in_days),
            broker_user=broker_user,
            can_manage_reference=manage_reference,
        )

    typer.echo(run_on_keys(settings.database_url_for(SERVICE), MIGRATIONS, create))


if __name__ == "__main__":
    cli()
