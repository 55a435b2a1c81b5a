"""A portal's API client may name the broker user its AMQP commands come from.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    """Add the broker user of an API client (none: the client files over HTTP only)."""
    with op.batch_alter_table("api_clients") as table:
        table.add_column(sa.Column("broker_user", sa.String(40)))
    op.create_index("ux_api_clients_broker_user", "api_clients", ["broker_user"], unique=True)
