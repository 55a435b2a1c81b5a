"""What the run command remembers between runs: the demo portal's key, its webhook receiver's
secret and how far the simulated campaign got, so that a second run resumes the campaign instead
of filing it again; and how ``--fresh`` starts over.

A key is shown once and only its hash is stored by the service, so the run command keeps the
demo portal's key in its own run folder (mode 600; a local demo's key, never a production one).
Batches are acknowledged slightly out of order, so a resumed campaign starts ``REWIND``
submissions before the last count it saved: those are sent again with the same idempotency keys
and come back as replays, never as second submissions.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import aio_pika

from pipeline.processes import SERVICES
from shared.messaging.topology import ALL_QUEUES

STATE_FILE = "campaign.json"
REWIND = 1_000


@dataclass(frozen=True)
class CampaignState:
    """The demo portal's key and the simulated campaign's progress."""

    portal_key: str
    seed: int
    count: int
    sent: int = 0
    receiver_secret: str = ""  # of the run's webhook subscription (made once, with the key)

    def resume_at(self, seed: int, count: int) -> int:
        """Where the campaign ``(seed, count)`` resumes: 0 unless it is this one."""
        if (seed, count) != (self.seed, self.count):
            return 0
        return max(0, self.sent - REWIND)


def load_state(run_dir: Path) -> CampaignState | None:
    """The state a previous run saved, if any (an unreadable file counts as none)."""
    try:
        return CampaignState(**json.loads((run_dir / STATE_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def save_state(run_dir: Path, state: CampaignState) -> None:
    """Write the state atomically, readable by its owner only."""
    path = run_dir / STATE_FILE
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(asdict(state)), encoding="utf-8")
    os.chmod(partial, 0o600)
    partial.replace(path)


async def start_over(run_dir: Path, broker_url: str) -> None:
    """Forget every earlier run: the services' databases, the saved state, and what waits in
    the queues (deleted; each service declares them again when it starts)."""
    for service in SERVICES:
        for suffix in ("", "-wal", "-shm"):
            (run_dir / f"{service}.sqlite3{suffix}").unlink(missing_ok=True)
    (run_dir / STATE_FILE).unlink(missing_ok=True)
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel()
        for spec in ALL_QUEUES:
            for name in (spec.name, spec.dead_letter_name):
                await channel.queue_delete(name)
