"""Overload through the Collector: spans offered at twice Phoenix's measured ingest ceiling for a while, through
the upstream Collector (STACK_COLLECTOR=otelcol, its on-disk queue) versus straight to Phoenix's /v1/traces.

`python -m tools.bench --collector [--seconds 300]`. First Phoenix's ceiling is measured (a burst straight
to it, spans read back per second), then each path gets the same offer, one after the other, on one stack:

- lost: spans offered - spans read back once the count stopped growing (refused 503s included)
- queue peak: the Collector's otelcol_exporter_queue_size (bytes: the queue's sizer) at its highest
- drain: seconds from the end of the offer until the last span was queryable
- Collector memory: its RSS at its highest (psutil, every second)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psutil
import requests

from stackkit.components import otelcol
from stackkit.core.setting_values import OTELCOL_NAME
from stackkit.core.settings import Settings
from stackkit.runtimes.native import NativeRuntime

from . import ingestion
from .memory import phoenix_pid

FULL_SECONDS = 300
CEILING_SPANS = 3000
CEILING_RATE = 1000.0  # offered well above any SQLite Phoenix's ceiling: the read-back rate is the ceiling
SAMPLE_SECONDS = 1.0


class _Sampler:
    """The Collector's queue (bytes) and memory, every SAMPLE_SECONDS, while a run goes on."""

    def __init__(self, settings: Settings, pid: int | None):
        self.settings, self.pid = settings, pid
        self.queue_peak_bytes = 0.0
        self.rss_peak_mb = 0.0
        self.series: list[dict[str, float]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.t0 = time.monotonic()

    def _run(self) -> None:
        process = psutil.Process(self.pid) if self.pid else None
        while not self.stop.is_set():
            point: dict[str, float] = {"t": round(time.monotonic() - self.t0, 1)}
            try:
                text = otelcol.metrics(self.settings)
                point["queue_bytes"] = otelcol.metric_sum(
                    text, "otelcol_exporter_queue_size", exporter=otelcol.EXPORTER_ID
                )
                self.queue_peak_bytes = max(self.queue_peak_bytes, point["queue_bytes"])
            except requests.RequestException:
                pass
            if process is not None:
                try:
                    point["rss_mb"] = process.memory_info().rss / 1e6
                    self.rss_peak_mb = max(self.rss_peak_mb, point["rss_mb"])
                except psutil.Error:
                    process = None
            self.series.append(point)
            self.stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> _Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def measure_ceiling(settings: Settings, out: Callable[[str], None]) -> float:
    measured = ingestion.run(
        f"{settings.phoenix_url}/v1/traces",
        settings.phoenix_url,
        f"bench-ceiling-{int(time.time())}",
        CEILING_SPANS,
        CEILING_RATE,
        phoenix_pid(settings),
    )
    ceiling = measured["throughput"] or 0.0
    out(f"collector bench: Phoenix's ingest ceiling {ceiling:.0f} spans/s ({measured['read_back']} spans read back)")
    if ceiling <= 0:
        raise RuntimeError(f"nothing was read back from Phoenix while measuring its ceiling: {measured}")
    return ceiling


def run(settings: Settings, seconds: float, out: Callable[[str], None]) -> dict[str, Any]:
    """Both paths at twice the ceiling for `seconds` each; the stack must run with STACK_COLLECTOR=otelcol."""
    collector_pid = NativeRuntime(settings).pid(OTELCOL_NAME)
    if collector_pid is None:
        raise RuntimeError("the Collector is not running in this stack (STACK_COLLECTOR=otelcol, `invoke up`)")
    ceiling = measure_ceiling(settings, out)
    rate = 2 * ceiling
    spans = int(rate * seconds) // ingestion.BATCH_SPANS * ingestion.BATCH_SPANS
    paths = {
        "direct": f"{settings.phoenix_url}/v1/traces",
        "collector": f"{settings.alloy_otlp_http_url}/v1/traces",
    }
    # The Collector's backlog drains at the ceiling: offer x (2 - 1) / 1 = as long again as the offer, plus slack.
    drain_timeout = 3 * seconds + 120
    results: dict[str, Any] = {"ceiling_spans_per_s": round(ceiling, 1), "offered_rate": round(rate, 1)}
    results |= {"seconds": seconds, "spans": spans, "paths": {}}
    for path, url in paths.items():
        out(f"collector bench: {path}: {spans:,} spans at {rate:.0f}/s for {seconds:g}s to {url}")
        with _Sampler(settings, collector_pid) as sampler:
            measured = ingestion.run(
                url,
                settings.phoenix_url,
                f"bench-overload-{path}-{int(time.time())}",
                spans,
                rate,
                phoenix_pid(settings),
                drain_timeout=drain_timeout,
            )
        drain = measured["queryable_seconds"] - measured["send_seconds"]
        figures = {
            "sent": measured["sent"],
            "accepted": measured["accepted"],
            "rejected_requests": measured["rejected_requests"],
            "landed": measured["read_back"],
            "lost": measured["loss"],
            "queue_peak_bytes": sampler.queue_peak_bytes if path == "collector" else None,
            "drain_seconds": round(max(0.0, drain), 1),
            "collector_rss_peak_mb": round(sampler.rss_peak_mb, 1),
            "phoenix_rss_peak_mb": measured["peak_rss_mb"],
            "send_seconds": measured["send_seconds"],
        }
        results["paths"][path] = figures | {"collector_series": sampler.series, "series": measured["series"]}
        out(f"collector bench: {path}: {figures}")
    return results


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Offered {results['offered_rate']:.0f} spans/s (2 x Phoenix's measured ceiling of "
        f"{results['ceiling_spans_per_s']:.0f}/s) for {results['seconds']:g} s: {results['spans']:,} spans per path.",
        "",
        "| path | sent | landed | lost | refused requests | queue peak | drain after the offer | Collector RSS peak |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for path, data in results["paths"].items():
        queue = f"{data['queue_peak_bytes'] / 1e6:.1f} MB" if data["queue_peak_bytes"] is not None else "-"
        refused = ", ".join(f"{count} x {what}" for what, count in data["rejected_requests"].items()) or "none"
        lines.append(
            f"| {path} | {data['sent']:,} | {data['landed']:,} | {data['lost']:,} | {refused} | {queue} | "
            f"{data['drain_seconds']:.0f} s | {data['collector_rss_peak_mb']:.0f} MB |"
        )
    return "\n".join(lines) + "\n"
