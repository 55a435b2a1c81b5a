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
        return cls(settings, Runtime(SERVICE, settings, MIGRATIONS), screener)
