"""Composition root of the notify service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from services.notify import notice_store
from services.notify.auth import Client, keyring
from services.notify.dispatch import Dispatcher
from services.notify.settings import NotifySettings
from shared.keys import Keyring
from shared.reference.catalog import ReferenceData
from shared.reference.live import LiveReference
from shared.runtime import Runtime

SERVICE = "notify"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class NotifyContext:
    """Settings, reference data (with the milestone rules), runtime and dispatcher."""

    settings: NotifySettings
    live: LiveReference
    runtime: Runtime
    dispatcher: Dispatcher
    keys: Keyring[Client] = field(default_factory=keyring)

    @classmethod
    def build(cls, settings: NotifySettings) -> NotifyContext:
        """Load the reference data; wire the runtime and the dispatcher."""
        # One writer across replicas: milestones are recorded and notices sent by the holder.
        runtime = Runtime(SERVICE, settings, MIGRATIONS, leased=True)
        assert runtime.lease is not None
        live = LiveReference.of(runtime, settings)
        dispatcher = Dispatcher(
            sessions=runtime.sessions,
            fence=runtime.lease.fence,
            settings=settings,
            reference=live,
            wake_relay=runtime.relay.wake,
        )
        runtime.while_active(dispatcher.start, dispatcher.stop)
        runtime.retention.add(
            "notifications",
            timedelta(days=settings.notify_log_retention_days),
            notice_store.purge_finished,
        )
        return cls(settings, live, runtime, dispatcher)

    @property
    def reference(self) -> ReferenceData:
        """The reference data at the newest version this process has applied."""
        return self.live.current
