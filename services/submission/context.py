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
from shared.reference.catalog import ReferenceData, load_reference
from shared.runtime import Runtime

SERVICE = "submission"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class SubmissionContext:
    """Everything the routes and handlers of this service use, built once per process."""

    settings: SubmissionSettings
    reference: ReferenceData
    runtime: Runtime
    policy: IntakePolicy
    keys: Keyring[ApiClient] = field(default_factory=keyring)

    @classmethod
    def build(cls, settings: SubmissionSettings) -> SubmissionContext:
        """Load the reference data and wire the runtime."""
        reference = load_reference(settings.reference_dir)
        policy = IntakePolicy(
            reference=reference,
            limits=Limits(
                max_benefit_vnd=settings.max_benefit_vnd,
                future_tolerance=timedelta(minutes=settings.future_tolerance_minutes),
            ),
            author_key_secret=settings.author_key_secret.encode(),
        )
        return cls(settings, reference, Runtime(SERVICE, settings, MIGRATIONS), policy)

    async def fill_union_paths(self) -> None:
        """Give submissions filed before union paths were stored theirs (subtree queries)."""
        async with self.runtime.sessions() as session, session.begin():
            await fill_union_paths(session, self.reference.tree)
