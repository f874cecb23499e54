"""What a dashboard is made of: rows of panels, each plotting PromQL queries."""

from __future__ import annotations

from dataclasses import dataclass

from stackkit.monitoring.targets import PHOENIX_JOB


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str
    when_red: str  # the panel's description: what it shows and what to do when it turns red
    red_at: float | None = None  # None: never red
    red_below: bool = False  # red when under red_at (a scrape that is down)
    kind: str = "timeseries"  # or "stat"
    about: str = PHOENIX_JOB  # phoenix, fanout, demo or llm: where its numbers come from


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]
