"""Composition root of the aggregation service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from services.aggregation.live import RevisionWatch
from services.aggregation.settings import AggregationSettings
from services.aggregation.snapshots import SnapshotPublisher
from services.aggregation.worker import LedgerWorker
from shared.reference.catalog import ReferenceData
from shared.reference.live import LiveReference
from shared.reference.unions import Union
from shared.runtime import Runtime

SERVICE = "aggregation"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class AggregationContext:
    """Settings, reference data, runtime, snapshot publisher, ledger process and the board's
    revision watch of one aggregation service.

    ``apply_lock`` lets one batch at a time touch the counters (both queues feed the same rows)
    and keeps the snapshot publisher from reading half a batch.
    """

    settings: AggregationSettings
    live: LiveReference
    runtime: Runtime
    snapshots: SnapshotPublisher
    apply_lock: asyncio.Lock
    ledger: LedgerWorker
    revisions: RevisionWatch
    _clusters: tuple[int, dict[str, list[Union]]] = field(default=(-1, {}), init=False)

    @classmethod
    def build(cls, settings: AggregationSettings) -> AggregationContext:
        """Load the reference data and wire the runtime and the publisher."""
        # One writer across replicas: the ledger and the publisher run in the lease holder.
        runtime = Runtime(SERVICE, settings, MIGRATIONS, leased=True)
        assert runtime.lease is not None
        live = LiveReference.of(runtime, settings)
        lock = asyncio.Lock()
        snapshots = SnapshotPublisher(
            sessions=runtime.sessions,
            fence=runtime.lease.fence,
            reference=live,
            lock=lock,
            interval=settings.aggregation_snapshot_seconds,
            limit=settings.aggregation_snapshot_limit,
            wake_relay=runtime.relay.wake,
        )
        runtime.while_active(snapshots.start, snapshots.stop)
        ledger = LedgerWorker(settings, SERVICE, runtime.lease.holder)
        # Every replica serves the board, the standby too.
        revisions = RevisionWatch(runtime.sessions, settings.aggregation_board_seconds)
        return cls(settings, live, runtime, snapshots, lock, ledger, revisions)

    @property
    def reference(self) -> ReferenceData:
        """The reference data at the newest version this process has applied."""
        return self.live.current

    def members_of_cluster(self, cluster: str) -> list[Union]:
        """Every union of the emulation cluster ``cluster``."""
        reference = self.reference
        version, by_cluster = self._clusters
        if version != reference.version:
            by_cluster = {}
            for union in reference.tree:
                if union.cluster:
                    by_cluster.setdefault(union.cluster, []).append(union)
            self._clusters = (reference.version, by_cluster)
        return by_cluster.get(cluster, [])
