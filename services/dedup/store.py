"""Tables of the dedup service: screened documents with their verdicts, dismissed pairs.

A dismissed pair says "this text is not a copy of that submission" (a reviewer's not_duplicate):
it is keyed by the text's hash, so a re-filing of the same text is not flagged against it again.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("submission_id", sa.String(36), nullable=False, unique=True),
    sa.Column("program", sa.String(50), nullable=False),
    sa.Column("union_code", sa.String(100), nullable=False),
    sa.Column("author_key", sa.String(64), nullable=False),
    sa.Column("matching_key", sa.Text, nullable=False),
    # normalise.KEY_VERSION of the stored key: older ones are derived again at rebuild.
    sa.Column("key_version", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("signature", sa.LargeBinary),  # rensa's serialised MinHash; null: recompute
    sa.Column("verdict", sa.String(30), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("best_match_id", sa.String(36)),
    sa.Column("method_version", sa.String(200), nullable=False),
    sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
)

dismissed_pairs = sa.Table(
    "dismissed_pairs",
    metadata,
    sa.Column("text_hash", sa.String(64), primary_key=True),
    sa.Column("other_id", sa.String(36), primary_key=True),
    sa.Column("review_id", sa.String(100), nullable=False),
)
