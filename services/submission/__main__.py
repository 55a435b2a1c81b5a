"""``python -m services.submission``: serve the API and consumers, manage API keys, import the
union tree."""

from __future__ import annotations

import getpass
import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.app import create_app
from services.submission.auth import create_client, keyring
from services.submission.context import MIGRATIONS, SERVICE
from services.submission.reference_admin import record_changes
from services.submission.settings import SubmissionSettings
from services.submission.tree_import import tree_changes
from shared import http
from shared.cli import add_migrate_command
from shared.contracts.reference import Change
from shared.keys_cli import ExpiresInDays, expiry, key_commands, run_on_keys
from shared.reference.catalog import load_reference
from shared.reference.live import current_reference
from shared.reference.unions import load_union_tree

IMPORT_SHOWN = 30

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
reference = typer.Typer(help="Reference data owned by this service.", no_args_is_help=True)
cli.add_typer(reference, name="reference")


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


@reference.command("import")
def import_tree(
    path: Annotated[
        Path,
        typer.Argument(
            help="The whole union tree: CSV (or .csv.gz) with code,name,level,parent_code,cluster.",
            exists=True,
        ),
    ],
    reason: Annotated[str, typer.Option(help="Why, kept in the change log.")],
    apply: Annotated[
        bool, typer.Option(help="Apply the changes (without it: only show them).")
    ] = False,
) -> None:
    """Show the changes that turn the current union tree into the file's; apply them (one
    version each, in one transaction) with --apply. Running replicas follow within seconds."""
    settings = SubmissionSettings()

    async def compare(session: AsyncSession) -> tuple[int, list[Change]]:
        current = await current_reference(load_reference(settings.reference_dir), session)
        changes = tree_changes(current.tree, load_union_tree([path]))
        if apply and changes:
            await record_changes(
                session,
                current,
                changes,
                changed_by=f"import by {getpass.getuser()}",
                reason=reason,
            )
        return current.version, changes

    version, changes = run_on_keys(settings.database_url_for(SERVICE), MIGRATIONS, compare)
    kinds = Counter(change.kind for change in changes)
    typer.echo(
        f"reference data at version {version}: {kinds['union_added']} union(s) to add, "
        f"{kinds['union_renamed']} to rename, {kinds['union_closed']} to close"
    )
    for change in changes[:IMPORT_SHOWN]:
        typer.echo(f"  {change.kind}: {change.model_dump_json(exclude={'kind'})}")
    if len(changes) > IMPORT_SHOWN:
        typer.echo(f"  … and {len(changes) - IMPORT_SHOWN} more")
    if not changes:
        return
    if apply:
        typer.echo(f"applied as versions {version + 1} to {version + len(changes)}")
    else:
        typer.echo("dry run: nothing changed (--apply applies these changes)")


if __name__ == "__main__":
    cli()
