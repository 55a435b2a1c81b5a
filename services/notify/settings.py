"""Settings of the notify service (environment variables, prefix ``SANGKIEN_``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import CommonSettings


class NotifySettings(CommonSettings):
    """Grouping, retries, webhook and SMTP settings (the milestone rules are reference data)."""

    notify_batch: int = Field(
        500, ge=1, description="Most progress snapshots applied in one transaction (micro-batch)."
    )
    notify_linger_seconds: float = Field(
        0.05, ge=0, description="How long a micro-batch of snapshots waits to fill."
    )
    notify_digest_seconds: float = Field(
        5.0,
        ge=0,
        description="How long a milestone waits for others to the same subscriber to join it.",
    )
    notify_digest_max: int = Field(1000, ge=1, description="Most milestones in one notice.")
    notify_max_attempts: int = Field(
        8, ge=1, description="Attempts before a notice is marked failed (kept for replay)."
    )
    notify_retry_base_seconds: float = Field(
        2.0, gt=0, description="First retry delay; it doubles per attempt, with jitter."
    )
    notify_retry_max_seconds: float = Field(600.0, gt=0, description="Longest retry delay.")
    notify_concurrency: int = Field(
        50, ge=1, description="Notices being delivered at once (at most one per subscription)."
    )
    notify_webhook_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description=(
            "How long one webhook attempt may take in all (connecting, sending, the answer): "
            "a receiver that trickles its answer is cut off at this deadline."
        ),
    )
    notify_webhook_max_answer_bytes: int = Field(
        65536, ge=0, description="Most bytes of a receiver's answer read (the rest is dropped)."
    )
    notify_log_retention_days: float = Field(
        180.0,
        gt=0,
        description=(
            "Days a finished notice (delivered, failed for good or cancelled) and its attempts "
            "stay in the delivery log before they are deleted."
        ),
    )
    notify_allowed_hosts: list[str] = Field(
        default_factory=list,
        description=(
            "Hosts or networks (CIDR) webhooks may reach although they are private, loopback "
            'or link-local; JSON list, e.g. ["10.0.0.0/8"].'
        ),
    )
    notify_smtp_host: str = Field("127.0.0.1", description="SMTP server for e-mail notices.")
    notify_smtp_port: int = Field(25, description="SMTP port.")
    notify_smtp_username: str = Field("", description="SMTP user (empty: no authentication).")
    notify_smtp_password: str = Field("", description="SMTP password.")
    notify_smtp_starttls: bool = Field(
        False, description="Upgrade the SMTP connection with STARTTLS."
    )
    notify_email_from: str = Field(
        "Phong trào 01 triệu sáng kiến <no-reply@sangkien.invalid>",
        description="Sender of e-mail notices.",
    )
