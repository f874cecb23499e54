"""The PNG: ingestion rate and queue backlog over time for the 10k-span runs (one line per database)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .stats import rates

RATE_WINDOW_SECONDS = 2.0


def ingestion_plot(runs: dict[str, dict[str, Any]], title: str, path: Path) -> None:
    """`runs`: label -> an ingestion run (with its series). Top: spans/s accepted and becoming queryable;
    bottom: backlog (accepted - queryable)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a CI machine
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True, constrained_layout=True)
    for index, (label, run) in enumerate(runs.items()):
        color = f"C{index}"
        series = run["series"]
        times = [point["t"] for point in series]
        queryable = rates(times, [point["queryable"] for point in series], RATE_WINDOW_SECONDS)
        sent = rates(times, [point["sent"] for point in series], RATE_WINDOW_SECONDS)
        top.plot(times, sent, color=color, linestyle=":", linewidth=1.2, label=f"{label}: accepted")
        top.plot(times, queryable, color=color, linewidth=2, label=f"{label}: queryable")
        bottom.plot(times, [point["backlog"] for point in series], color=color, linewidth=2, label=label)
    # The first window can hold a burst (the sender's first requests before the first poll): do not let it
    # flatten the rest of the picture.
    top.set_ylim(0, 1.3 * max(run["offered_rate"] for run in runs.values()))
    top.set_ylabel(f"spans/s ({RATE_WINDOW_SECONDS:g} s window)")
    top.set_title(title)
    top.grid(alpha=0.3)
    top.legend(fontsize=8)
    bottom.set_ylabel("backlog: accepted - queryable (spans)")
    bottom.set_xlabel("seconds since the first export")
    bottom.grid(alpha=0.3)
    bottom.legend(fontsize=8)
    figure.savefig(path, dpi=110)
    plt.close(figure)
