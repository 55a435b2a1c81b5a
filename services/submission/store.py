"""Tables of the submission service: submissions (with the author's PII), their review trail,
API clients."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import UtcDateTime
from shared.reference.calendar import Program
from shared.reference.history import Placing
from shared.reference.unions import UnionTree

metadata = sa.MetaData()

# "/"-joined codes from the national node, ending in "/": a subtree is a range of this column.
# PostgreSQL must compare it bytewise (C collation) for the range to hold.
UNION_PATH = sa.String(1000).with_variant(sa.String(1000, collation="C"), "postgresql")

submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("client_key", sa.String(200), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("command_id", sa.String(100)),
    sa.Column("correlation_id", sa.String(100), nullable=False),
    sa.Column("union_code", sa.String(100), nullable=False, index=True),
    sa.Column("program", sa.String(50), nullable=False),
    sa.Column("phase", sa.String(50), nullable=False),
    sa.Column("submitted_at", UtcDateTime, nullable=False),
    sa.Column("local_date", sa.Date, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("field", sa.String(50), nullable=False),
    sa.Column("situation", sa.Text, nullable=False),
    sa.Column("solution", sa.Text, nullable=False),
    sa.Column("effect", sa.Text, nullable=False),
    sa.Column("benefit_vnd", sa.BigInteger, nullable=False),
    sa.Column("recognition_kind", sa.String(50), nullable=False),
    sa.Column("decision_number", sa.String(100)),
    sa.Column("decision_date", sa.Date),
    sa.Column("author_name", sa.String(200), nullable=False),
    sa.Column("author_member_id", sa.String(50)),
    sa.Column("author_phone", sa.String(30)),
    sa.Column("author_email", sa.String(200)),
    sa.Column("author_key", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("verdict", sa.String(30)),
    sa.Column("verdict_score", sa.Float),
    sa.Column("best_match_id", sa.String(36)),
    sa.Column("screened_at", UtcDateTime),
    sa.Column("review_state", sa.String(30), nullable=False),
    sa.Column("review_sequence", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reviewed_at", UtcDateTime),
    sa.Column("union_path", UNION_PATH),
    sa.UniqueConstraint("client_id", "client_key", name="uq_submissions_client_key"),
    sa.Index("ix_submissions_union_path", "union_path", "created_at"),
)

reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("review_id", sa.String(36), primary_key=True),
    sa.Column("submission_id", sa.String(36), sa.ForeignKey("submissions.id"), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("decision", sa.String(30), nullable=False),
    sa.Column("previous_state", sa.String(30), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("duplicate_of", sa.String(36)),
    sa.Column("reviewer_union", sa.String(100), nullable=False),
    sa.Column("reviewer_name", sa.String(200)),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("decided_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("submission_id", "sequence", name="uq_reviews_sequence"),
)

api_clients = sa.Table(
    "api_clients",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("can_see_contacts", sa.Boolean, nullable=False),
    sa.Column("can_review", sa.Boolean, nullable=False, server_default=sa.false()),
    # May change reference data (unions, targets) in its subtrees: docs/reference.md.
    sa.Column("can_manage_reference", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime),
    sa.Column("revoked_at", UtcDateTime),
    # The broker user whose AMQP commands are filed as this client (a portal's).
    sa.Column("broker_user", sa.String(40)),
    sa.Index("ux_api_clients_broker_user", "broker_user", unique=True),
)


def path_key(path: Sequence[str]) -> str:
    """The ``union_path`` value of a union whose codes from the national node are ``path``."""
    return "/".join(path) + "/"


def in_subtree(path: Sequence[str]) -> sa.ColumnElement[bool]:
    """Submissions filed with the union at ``path`` or below it: a range of ``union_path``.

    Codes never contain "/" and "0" follows "/" in byte order, so the range holds exactly the
    keys that start with this union's key.
    """
    key = path_key(path)
    return sa.and_(submissions.c.union_path >= key, submissions.c.union_path < key[:-1] + "0")


async def fill_union_paths(session: AsyncSession, tree: UnionTree) -> None:
    """Give submissions stored before paths were kept their path."""
    codes = (
        await session.scalars(
            sa.select(submissions.c.union_code).where(submissions.c.union_path.is_(None)).distinct()
        )
    ).all()
    for code in codes:
        if code in tree:
            await session.execute(
                submissions.update()
                .where(submissions.c.union_code == code, submissions.c.union_path.is_(None))
                .values(union_path=path_key(tree.path(code)))
            )


async def follow_moves(session: AsyncSession, placing: Placing) -> None:
    """Give the submissions of every union that moved or merged, or sits below one that moved,
    the path its union has now (key scopes follow the current tree)."""
    for code in sorted(placing.dated_unions()):
        await session.execute(
            submissions.update()
            .where(submissions.c.union_code == code)
            .values(union_path=path_key(placing.now(code)))
        )


async def follow_phases(session: AsyncSession, program: Program) -> None:
    """Give every submission the phase its local date falls in (after phases were redated)."""
    for phase in program.phases:
        await session.execute(
            submissions.update()
            .where(
                submissions.c.local_date.between(phase.starts_on, phase.ends_on),
                submissions.c.phase != phase.code,
            )
            .values(phase=phase.code)
        )
