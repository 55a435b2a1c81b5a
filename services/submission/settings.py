"""Settings of the submission service (environment variables, prefix ``SANGKIEN_``)."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.submission import MAX_BENEFIT_VND
from shared.settings import CommonSettings


class SubmissionSettings(CommonSettings):
    """Intake limits and secrets on top of the common settings."""

    author_key_secret: str = Field(
        "embedded-default-change-me",
        description=(
            "Secret of the keyed hash that stands for an author in events. Set it in production; "
            "changing it changes every author key."
        ),
    )
    max_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest HTTP request body accepted (413 beyond)."
    )
    max_batch: int = Field(1000, ge=1, le=1000, description="Most submissions in one batch.")
    max_benefit_vnd: int = Field(
        MAX_BENEFIT_VND,
        ge=0,
        le=MAX_BENEFIT_VND,
        description="Largest benefit value accepted (VND, one year); at most the contract's.",
    )
    future_tolerance_minutes: int = Field(
        10, ge=0, description="How far in the future submitted_at may lie (clock skew)."
    )
    verdict_batch: int = Field(
        500, ge=1, description="Most dedup verdicts recorded in one transaction (micro-batch)."
    )
    verdict_linger_seconds: float = Field(
        0.05, ge=0, description="How long a micro-batch of verdicts waits to fill."
    )

    def secrets(self) -> dict[str, str]:
        """The common secrets and the author-key secret."""
        return super().secrets() | {"SANGKIEN_AUTHOR_KEY_SECRET": self.author_key_secret}
