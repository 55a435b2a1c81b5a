"""Reading a service's Prometheus metrics in tests."""

from __future__ import annotations

import re


def consumed(metrics: str, queue: str, *outcomes: str) -> float:
    """``sangkien_messages_consumed_total`` of ``queue``, summed over ``outcomes``."""
    total = 0.0
    for outcome in outcomes:
        pattern = rf'sangkien_messages_consumed_total{{outcome="{outcome}",queue="{queue}"}} (\S+)'
        found = re.search(pattern, metrics)
        total += float(found.group(1)) if found else 0.0
    return total
