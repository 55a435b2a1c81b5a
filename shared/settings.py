"""Settings shared by every service, read from environment variables (prefix ``SANGKIEN_``).

Every field is documented in ``docs/settings.md``; a test keeps that file in step with this model.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
# What the shipped files and defaults put where a secret belongs ("change-me-postgres", …).
PLACEHOLDER = re.compile(r"change-?me", re.IGNORECASE)


class PlaceholderSecret(ValueError):
    """A secret setting still holds a placeholder outside development mode."""


class CommonSettings(BaseSettings):
    """What every service process needs: the broker, its database, the reference data."""

    model_config = SettingsConfigDict(env_prefix="SANGKIEN_", extra="ignore")

    broker_url: str = Field(
        "amqp://guest:guest@127.0.0.1:5672/",
        description="AMQP URL of the RabbitMQ node or cluster.",
    )
    database_url: str = Field(
        "",
        description=(
            "SQLAlchemy async URL of this service's own database "
            "(sqlite+aiosqlite:///path or postgresql+asyncpg://...). "
            "Empty: a SQLite file under .run/<service>.sqlite3."
        ),
    )
    reference_dir: Path = Field(
        REPO_ROOT / "reference",
        description="Folder holding the union tree, program calendar and targets files.",
    )
    reference_follow_seconds: float = Field(
        2.0,
        gt=0,
        description="How often a replica looks for reference changes another replica stored.",
    )
    http_host: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    http_port: int = Field(8000, description="Port the HTTP API listens on.")
    consumer_batch: int = Field(
        50,
        ge=1,
        le=1000,
        description=(
            "Most messages applied in one transaction on the queues that have no batch setting "
            "of their own (commands, reviews). Every consumer's prefetch is twice its batch."
        ),
    )
    relay_enabled: bool = Field(
        True,
        description=(
            "Run the outbox relay inside this process. Turn off only when a separate relay "
            "process publishes this service's outbox."
        ),
    )
    relay_batch: int = Field(
        500, ge=1, le=5000, description="Outbox rows published per relay round (confirm window)."
    )
    relay_idle_seconds: float = Field(
        0.5, gt=0, description="How long the relay waits for new outbox rows before polling again."
    )
    declare_topology: bool = Field(
        True,
        description=(
            "Declare exchanges and queues at start-up. Off in production, where the broker loads "
            "deploy/rabbitmq/definitions.json and services have no configure permission."
        ),
    )
    log_level: str = Field("INFO", description="Log level of the JSON logs.")
    development: bool = Field(
        False,
        description=(
            "Development mode: accept placeholder secrets (any containing 'change-me', as the "
            "embedded defaults and the shipped files do). The run command and the tests set it; "
            "outside it a service refuses to start with a placeholder secret."
        ),
    )
    migrate_on_start: bool = Field(
        True,
        description=(
            "Migrate the database when the service starts (under a lock, so replicas may start "
            "together). Off in production, where `python -m services.<name> migrate` runs once "
            "before the replicas start and they only check that the schema is current."
        ),
    )
    database_pool_size: int = Field(
        5,
        ge=1,
        le=100,
        description=(
            "PostgreSQL connections each engine keeps open (a process has one or two engines: "
            "size pool × engines × replicas of every service below max_connections)."
        ),
    )
    database_max_overflow: int = Field(
        5, ge=0, le=100, description="PostgreSQL connections an engine may open beyond its pool."
    )
    lease_seconds: float = Field(
        10.0,
        gt=0.5,
        le=300,
        description=(
            "How long the active replica's lease lasts unrenewed (renewed every quarter of it): "
            "a standby takes over this long after the active replica dies."
        ),
    )
    write_rate_per_key: float = Field(
        20.0,
        gt=0,
        description=(
            "Writes (POST, PUT, PATCH) an API key may make per second on average, in each "
            "replica; over it the answer is 429 with Retry-After."
        ),
    )
    write_burst_per_key: float = Field(
        100.0, ge=1, description="Writes an API key may make at once before its rate applies."
    )
    inbox_retention_days: float = Field(
        30.0,
        gt=0,
        description=(
            "Days an inbox row (the id of a message applied) is kept: redeliveries come within "
            "minutes, so after this a row protects against nothing and is deleted."
        ),
    )
    supervisor_pid: int | None = Field(
        None,
        description=(
            "Process id of the parent that supervises this service (the run command sets it): "
            "when that process dies, even by SIGKILL, this service gets SIGTERM (Linux)."
        ),
    )

    def secrets(self) -> dict[str, str]:
        """Each secret setting by name (passwords inside URLs included), to be vetted."""
        return {
            "SANGKIEN_BROKER_URL password": urlsplit(self.broker_url).password or "",
            "SANGKIEN_DATABASE_URL password": urlsplit(self.database_url).password or "",
        }

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Self:
        if self.development:
            return self
        placeholders = sorted(
            name for name, value in self.secrets().items() if PLACEHOLDER.search(value)
        )
        if placeholders:
            raise PlaceholderSecret(
                f"placeholder secrets in {', '.join(placeholders)}: set real ones "
                "(docs/operations.md), or SANGKIEN_DEVELOPMENT=true for a development run"
            )
        return self

    def database_url_for(self, service: str) -> str:
        """The configured database URL, or the embedded SQLite default for ``service``."""
        if self.database_url:
            return self.database_url
        run_dir = REPO_ROOT / ".run"
        run_dir.mkdir(exist_ok=True)
        return f"sqlite+aiosqlite:///{run_dir / f'{service}.sqlite3'}"
