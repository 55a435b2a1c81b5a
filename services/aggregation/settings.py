"""Settings of the aggregation service (environment variables, prefix ``SANGKIEN_``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import CommonSettings


class AggregationSettings(CommonSettings):
    """Micro-batching and snapshot coalescing on top of the common settings."""

    aggregation_batch: int = Field(
        5000, ge=1, le=20000, description="Events applied per transaction at most (micro-batch)."
    )
    aggregation_linger_seconds: float = Field(
        0.05, ge=0, le=5, description="How long a batch waits to fill before it is applied."
    )
    aggregation_snapshot_seconds: float = Field(
        5.0, gt=0, description="Coalescing interval of progress.updated.v1 snapshots."
    )
    aggregation_snapshot_limit: int = Field(
        2000, ge=1, description="Snapshots written per round at most (the rest follow at once)."
    )
    aggregation_snapshot_all_unions: bool = Field(
        False,
        description=(
            "Publish snapshots for every union whose figures changed; by default only for the "
            "unions and scopes that have a target (the ones milestones are measured against)."
        ),
    )
    aggregation_board_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        description="How often the board's live stream reads the followed unions' counters.",
    )
