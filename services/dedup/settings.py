"""Settings of the dedup service (environment variables, prefix ``SANGKIEN_DEDUP_``)."""

from __future__ import annotations

from pydantic import Field

from services.dedup.matching import MatchingParameters
from shared.settings import CommonSettings

DEFAULTS = MatchingParameters()


class DedupSettings(CommonSettings):
    """Matching parameters on top of the common settings; defaults from bench/dedup_quality.py."""

    dedup_threshold: float = Field(
        DEFAULTS.threshold, gt=0, le=1, description="Score from which a pair is a near-duplicate."
    )
    dedup_shingle_size: int = Field(
        DEFAULTS.shingle_size, ge=1, le=5, description="Syllables per shingle."
    )
    dedup_containment_weight: float = Field(
        DEFAULTS.containment_weight,
        ge=0,
        le=1,
        description="Weight of containment against Jaccard (catches truncated/extended copies).",
    )
    dedup_batch: int = Field(
        200,
        ge=1,
        description="Most submissions screened in one transaction (one micro-batch, in order).",
    )
    dedup_linger_seconds: float = Field(
        0.02, ge=0, description="How long a micro-batch waits to fill before it is screened."
    )
    dedup_text_cache: int = Field(
        200_000, ge=0, description="Matching keys of recent documents kept in memory."
    )

    def matching(self) -> MatchingParameters:
        """The matching parameters these settings choose."""
        return MatchingParameters(
            shingle_size=self.dedup_shingle_size,
            threshold=self.dedup_threshold,
            containment_weight=self.dedup_containment_weight,
        )
