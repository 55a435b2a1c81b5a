"""Composition root of the dedup service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.dedup.screening import Screener
from services.dedup.settings import DedupSettings
from shared.runtime import Runtime

SERVICE = "dedup"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class DedupContext:
    """Settings, runtime and the screener of one dedup process."""

    settings: DedupSettings
    runtime: Runtime
    screener: Screener

    @classmethod
    def build(cls, settings: DedupSettings) -> DedupContext:
        """Wire the runtime and an empty screener (filled at start-up)."""
        screener = Screener(settings.matching(), settings.dedup_text_cache)
        # One screener across replicas: a replica that lost the broker but not the database
        # must not screen beside the one the broker turned to (``shared.lease``).
        return cls(settings, Runtime(SERVICE, settings, MIGRATIONS, leased=True), screener)
