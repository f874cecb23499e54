"""Summaries and ratios of repeated measurements (pure functions: tested in tests/tools/bench)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from stackkit.commands.traffic import percentile

__all__ = ["paired_ratios", "percentile", "rates", "summary"]


def summary(values: Sequence[float | None]) -> dict[str, Any] | None:
    """Median, min, max and count of the values that exist; None when there are none."""
    present = [value for value in values if value is not None]
    if not present:
        return None
    return {"median": statistics.median(present), "min": min(present), "max": max(present), "n": len(present)}


def paired_ratios(numerators: Sequence[float | None], denominators: Sequence[float | None]) -> list[float]:
    """numerator[i] / denominator[i] for each pair measured back to back (so slow drift of a shared machine
    cancels out); pairs with a missing or zero side are left out."""
    return [top / bottom for top, bottom in zip(numerators, denominators, strict=True) if top is not None and bottom]


def rates(times: Sequence[float], counts: Sequence[float], window: float) -> list[float | None]:
    """Per-second rate of a cumulative count at each sample, over the trailing `window` seconds (a
    difference over one 0.5 s poll is too jumpy to read: Phoenix commits 100 spans at a time)."""
    result: list[float | None] = []
    start = 0
    for index, now in enumerate(times):
        while times[start] < now - window:
            start += 1
        elapsed = now - times[start]
        result.append((counts[index] - counts[start]) / elapsed if elapsed > 0 else None)
    return result
