"""Per-key write limits: a token bucket per API key, in each replica (pure).

Each key may write ``rate`` requests a second on average and ``burst`` at once; a request over
the limit is answered 429 with ``Retry-After`` (``shared.http``). Each replica keeps its own
buckets: behind a balancer spreading requests over n replicas a key gets up to n times the rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class TokenBuckets:
    """A bucket per key, full at first, refilled at ``rate`` tokens a second up to ``burst``."""

    rate: float
    burst: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key → tokens, when

    def take(self, key: str, now: float) -> int:
        """Take a token for ``key`` at time ``now`` (seconds): 0 when there was one, else the
        whole seconds until there will be (nothing is taken then)."""
        tokens, then = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / self.rate))
