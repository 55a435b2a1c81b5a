"""Tables of the aggregation service: submissions' standings and the counters they sum to.

On SQLite every table is clustered by its primary key (WITHOUT ROWID): see migration 0002.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("submission_id", sa.String(36), primary_key=True),
    sa.Column("union_code", sa.String(100), nullable=False),
    sa.Column("phase", sa.String(50), nullable=False),
    sa.Column("local_date", sa.Date, nullable=False),
    sa.Column("benefit_vnd", sa.BigInteger, nullable=False),
    sa.Column("author_key", sa.String(64), nullable=False),
    sa.Column("verdict", sa.String(30)),
    sa.Column("decision", sa.String(30)),
    sa.Column("review_sequence", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)


def _row_of_figures() -> list[sa.Column[object]]:
    """The key (union, scope, reach) and the five additive figures of a counter row."""
    return [
        sa.Column("union_code", sa.String(100), primary_key=True),
        sa.Column("scope", sa.String(50), primary_key=True),
        sa.Column("reach", sa.String(10), primary_key=True),
        sa.Column("received", sa.Integer, nullable=False),
        sa.Column("counted", sa.Integer, nullable=False),
        sa.Column("flagged", sa.Integer, nullable=False),
        sa.Column("excluded", sa.Integer, nullable=False),
        sa.Column("benefit_vnd", sa.BigInteger, nullable=False),
    ]


# One row per (union, scope, reach): reach "own" sums the submissions filed with the union itself,
# "subtree" those of its whole subtree. ``revision`` grows with every batch that changes the
# union's figures for the scope; it orders the snapshots published about it.
tallies = sa.Table(
    "tallies",
    metadata,
    *_row_of_figures(),
    sa.Column("distinct_authors", sa.Integer, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("latest_on", sa.Date, nullable=False),
    sqlite_with_rowid=False,
)

# Where counting as filed differs from counting as of now (a union moved or merged): the five
# additive figures as filed minus as of now, per (union, scope, reach). Absent means no difference.
filed_offsets = sa.Table(
    "filed_offsets",
    metadata,
    *_row_of_figures(),
    sqlite_with_rowid=False,
)

# The reference version the counters place submissions by (``ledger.follow_reference``): one row.
placed_version = sa.Table(
    "placed_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

# Counted submissions of a union's subtree per local date: the program scope is the sum over its
# phases' dates, so one row per date serves both.
daily = sa.Table(
    "daily",
    metadata,
    sa.Column("union_code", sa.String(100), primary_key=True),
    sa.Column("local_date", sa.Date, primary_key=True),
    sa.Column("counted", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)

# Counted submissions per (author, scope, union filed with): what distinct authors derive from.
author_tallies = sa.Table(
    "author_tallies",
    metadata,
    sa.Column("author_key", sa.String(64), primary_key=True),
    sa.Column("scope", sa.String(50), primary_key=True),
    sa.Column("union_code", sa.String(100), primary_key=True),
    sa.Column("counted", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)

# (union, scope) whose snapshot is due; ``marks`` counts the changes since, so the publisher only
# clears a row that did not change again while it was publishing.
dirty = sa.Table(
    "dirty",
    metadata,
    sa.Column("union_code", sa.String(100), primary_key=True),
    sa.Column("scope", sa.String(50), primary_key=True),
    sa.Column("marks", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)

# The reference data that leaderboards are ranked on, copied from the reference files at start-up
# (``reference_copy``) so that the database ranks and pages them: each union's level, cluster and
# parent, and its effective target per scope. ``reference_fingerprint`` names the copy held.
ranked_unions = sa.Table(
    "ranked_unions",
    metadata,
    sa.Column("union_code", sa.String(100), primary_key=True),
    sa.Column("level", sa.String(30), nullable=False, index=True),
    sa.Column("cluster", sa.String(100), index=True),
    sa.Column("parent_code", sa.String(100), index=True),
)
union_targets = sa.Table(
    "union_targets",
    metadata,
    sa.Column("union_code", sa.String(100), primary_key=True),
    sa.Column("scope", sa.String(50), primary_key=True),
    sa.Column("effective", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)
reference_fingerprint = sa.Table(
    "reference_fingerprint",
    metadata,
    sa.Column("name", sa.String(20), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
)
