"""Composition root of the submission service: settings, reference data, runtime, policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from services.submission.auth import ApiClient, keyring
from services.submission.intake import IntakePolicy
from services.submission.settings import SubmissionSettings
from services.submission.store import fill_union_paths
from services.submission.validation import Limits
from shared.keys import Keyring
from shared.reference.catalog import ReferenceData
from shared.reference.live import LiveReference
from shared.runtime import Runtime

SERVICE = "submission"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class SubmissionContext:
    """Everything the routes and handlers of this service use, built once per process."""

    settings: SubmissionSettings
    runtime: Runtime
    live: LiveReference
    limits: Limits
    keys: Keyring[ApiClient] = field(default_factory=keyring)

    @classmethod
    def build(cls, settings: SubmissionSettings) -> SubmissionContext:
        """Load the reference data and wire the runtime."""
        runtime = Runtime(SERVICE, settings, MIGRATIONS)
        live = LiveReference.of(runtime, settings)
        limits = Limits(
            max_benefit_vnd=settings.max_benefit_vnd,
            future_tolerance=timedelta(minutes=settings.future_tolerance_minutes),
        )
        return cls(settings, runtime, live, limits)

    @property
    def reference(self) -> ReferenceData:
        """The reference data at the newest version this process has applied."""
        return self.live.current

    @property
    def policy(self) -> IntakePolicy:
        """What filing needs, with the current reference data."""
        return IntakePolicy(self.reference, self.limits, self.settings.author_key_secret.encode())

    async def prepare(self) -> None:
        """Catch up with the reference changes the database holds; give submissions filed
        before union paths were stored theirs (subtree queries)."""
        await self.live.refresh()
        async with self.runtime.sessions() as session, session.begin():
            await fill_union_paths(session, self.reference.tree)
