"""Tables of the submission service: submissions (with the author's PII) and API clients."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

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
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
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
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("verdict", sa.String(30)),
    sa.Column("verdict_score", sa.Float),
    sa.Column("best_match_id", sa.String(36)),
    sa.Column("screened_at", sa.DateTime(timezone=True)),
    sa.Column("review_state", sa.String(30), nullable=False),
    sa.UniqueConstraint("client_id", "client_key", name="uq_submissions_client_key"),
)

api_clients = sa.Table(
    "api_clients",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("can_see_contacts", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)
