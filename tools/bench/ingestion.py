"""Ingestion: spans pushed at a fixed offered rate, then read back from Phoenix while they land.

Each run posts `spans` spans in OTLP/HTTP protobuf export requests of BATCH_SPANS spans (10 traces of 5
spans, the shape of one demo chain), paced on a fixed schedule, to one traces URL, into a project of its
own. Meanwhile a poller thread asks Phoenix every POLL_SECONDS how many spans of that project are
queryable (GraphQL `recordCount`: the REST API has no count, and paging through 10k spans every 0.5 s
would itself load Phoenix) and whether a sample of the traces is complete yet (REST, by trace id).

- throughput: spans read back / (moment the last one became queryable - first export)
- loss: spans sent - spans read back once the count stopped growing
- latency: export of a sampled trace -> all 5 of its spans returned by the REST API; resolution is the
  sample poll interval (SAMPLE_POLL_SECONDS)
- backlog: spans accepted (HTTP 200) - spans queryable, every POLL_SECONDS
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from stackkit.core.setting_values import ALLOY_NAME
from stackkit.core.settings import Settings
from stackkit.phoenix.api import PhoenixClient, PhoenixError
from stackkit.runtimes.native import NativeRuntime

from .memory import idle_rss_mb, phoenix_pid, phoenix_rss_mb, rss_mb
from .stats import paired_ratios, percentile, summary

SPANS_PER_TRACE = 5
BATCH_SPANS = 50  # 10 traces per export request, like an SDK batch of a few chains
POLL_SECONDS = 0.5
SAMPLE_POLL_SECONDS = 0.2
LATENCY_SAMPLES = 40  # per run: enough for a p95
SAMPLES_PER_POLL = 10
STALL_SECONDS = 15.0  # the count has not grown for this long after the last export: the rest is lost
DRAIN_TIMEOUT_SECONDS = 300.0
COUNT_QUERY = "query ($name: String!) { getProjectByName(name: $name) { recordCount } }"
# A child span per step of a demo chain: (name, OpenInference span kind).
CHILDREN = (("plan", "LLM"), ("get_weather", "TOOL"), ("weather.fetch", "RETRIEVER"), ("synthesize", "LLM"))
TEXT = "What's the weather in Lisbon today? " * 4  # ~150 characters, a short prompt


def _kv(key: str, value: str | int) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def export_request(project: str, trace_ids: list[bytes], end_ns: int) -> bytes:
    """One OTLP export request: per trace id, a CHAIN root and len(CHILDREN) children under it."""
    spans = []
    for trace_id in trace_ids:
        root_id = secrets.token_bytes(8)
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=root_id,
                name="chat",
                kind=Span.SPAN_KIND_SERVER,
                start_time_unix_nano=end_ns - 120_000_000,
                end_time_unix_nano=end_ns,
                attributes=[
                    _kv("openinference.span.kind", "CHAIN"),
                    _kv("input.value", TEXT),
                    _kv("output.value", TEXT),
                    _kv("session.id", "bench"),
                ],
            )
        )
        for index, (name, kind) in enumerate(CHILDREN):
            start = end_ns - 120_000_000 + index * 30_000_000
            attributes = [_kv("openinference.span.kind", kind), _kv("input.value", TEXT)]
            if kind == "LLM":
                attributes += [_kv("llm.model_name", "offline"), _kv("llm.token_count.total", 42)]
            spans.append(
                Span(
                    trace_id=trace_id,
                    span_id=secrets.token_bytes(8),
                    parent_span_id=root_id,
                    name=name,
                    kind=Span.SPAN_KIND_INTERNAL,
                    start_time_unix_nano=start,
                    end_time_unix_nano=start + 25_000_000,
                    attributes=attributes,
                )
            )
    resource = Resource(attributes=[_kv("service.name", "stackkit-bench"), _kv("openinference.project.name", project)])
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=spans)])]
    )
    return request.SerializeToString()


def queryable_count(session: requests.Session, phoenix_url: str, project: str) -> int:
    response = session.post(
        f"{phoenix_url}/graphql",
        json={"query": COUNT_QUERY, "variables": {"name": project}},
        timeout=10,
    )
    response.raise_for_status()
    project_data = response.json()["data"]["getProjectByName"]
    return project_data["recordCount"] if project_data else 0  # None until the first span is written


@dataclass
class _Progress:
    """What the sender and the poller share; plain attribute writes are atomic under the GIL."""

    accepted: int = 0
    samples: dict[str, float] = field(default_factory=dict)  # trace id -> export time (monotonic)
    found: dict[str, float] = field(default_factory=dict)  # trace id -> first seen complete
    series: list[dict[str, float | None]] = field(default_factory=list)
    last_count: int = 0
    count_changed_at: float = 0.0
    poll_errors: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


def _poll(progress: _Progress, phoenix_url: str, project: str, pid: int | None, t0: float) -> None:
    client = PhoenixClient(phoenix_url)  # its own connection pool: requests sessions are not shared
    counter = requests.Session()
    next_count = time.monotonic()
    while not progress.stop.is_set():
        now = time.monotonic()
        # Phoenix writes spans first in, first out, so the oldest outstanding samples complete first: asking
        # for those only keeps the poller's own load on Phoenix small.
        waiting = [trace_id for trace_id in list(progress.samples) if trace_id not in progress.found]
        try:
            if waiting:
                spans = client.spans(project, trace_ids=waiting[:SAMPLES_PER_POLL])
                seen_at = time.monotonic()
                per_trace: dict[str, int] = {}
                for span in spans:
                    trace_id = span["context"]["trace_id"]
                    per_trace[trace_id] = per_trace.get(trace_id, 0) + 1
                for trace_id, count in per_trace.items():
                    if count >= SPANS_PER_TRACE and trace_id not in progress.found:
                        progress.found[trace_id] = seen_at
            if time.monotonic() >= next_count:
                # Accepted is read (and timed) before counting, so the backlog is never under-reported.
                accepted, sampled_at = progress.accepted, time.monotonic()
                count = queryable_count(counter, phoenix_url, project)
                if count != progress.last_count:
                    progress.last_count, progress.count_changed_at = count, time.monotonic()
                progress.series.append(
                    {
                        "t": round(sampled_at - t0, 3),
                        "sent": accepted,
                        "queryable": count,
                        "backlog": accepted - count,
                        "rss_mb": round(rss, 1) if pid and (rss := rss_mb(pid)) else None,
                    }
                )
                next_count += POLL_SECONDS
        except (requests.RequestException, PhoenixError, KeyError, ValueError):
            progress.poll_errors += 1  # a slow answer under load is data, not a reason to stop measuring
        progress.stop.wait(max(0.0, SAMPLE_POLL_SECONDS - (time.monotonic() - now)))
    client.session.close()
    counter.close()


def run(
    traces_url: str,
    phoenix_url: str,
    project: str,
    spans: int,
    rate: float,
    phoenix_pid: int | None,
    drain_timeout: float = DRAIN_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """Push `spans` spans at `rate` spans/s to `traces_url`; measure them landing in Phoenix (for at most
    `drain_timeout` seconds from the first export)."""
    batches = spans // BATCH_SPANS
    interval = BATCH_SPANS / rate
    sample_every = max(1, batches // LATENCY_SAMPLES)
    progress = _Progress()
    session = requests.Session()
    headers = {"Content-Type": "application/x-protobuf"}
    rejected: dict[str, int] = {}
    t0 = time.monotonic()
    progress.count_changed_at = t0
    poller = threading.Thread(target=_poll, args=(progress, phoenix_url, project, phoenix_pid, t0), daemon=True)
    poller.start()
    try:
        for batch in range(batches):
            # A fixed schedule, not a sleep after each send: a slow answer does not lower the offered rate.
            time.sleep(max(0.0, t0 + batch * interval - time.monotonic()))
            trace_ids = [secrets.token_bytes(16) for _ in range(BATCH_SPANS // SPANS_PER_TRACE)]
            body = export_request(project, trace_ids, time.time_ns())
            exported_at = time.monotonic()
            try:
                response = session.post(traces_url, data=body, headers=headers, timeout=30)
                outcome = "200" if response.status_code == 200 else f"HTTP {response.status_code}"
            except requests.RequestException as error:
                outcome = type(error).__name__
            if outcome == "200":
                progress.accepted += BATCH_SPANS
                if batch % sample_every == 0:
                    progress.samples[trace_ids[0].hex()] = exported_at
            else:
                rejected[outcome] = rejected.get(outcome, 0) + 1
        send_seconds = time.monotonic() - t0
        # Drain: until every accepted span is queryable, or the count stops growing, or the timeout.
        while True:
            time.sleep(POLL_SECONDS)
            now = time.monotonic()
            complete = progress.last_count >= progress.accepted and len(progress.found) == len(progress.samples)
            stalled = now - progress.count_changed_at > STALL_SECONDS
            if complete or stalled or now - t0 > drain_timeout:
                break
    finally:
        progress.stop.set()
        poller.join()
        session.close()

    read_back = progress.last_count
    latencies = [
        progress.found[trace_id] - at for trace_id, at in progress.samples.items() if trace_id in progress.found
    ]
    queryable_seconds = progress.count_changed_at - t0
    return {
        "project": project,
        "traces_url": traces_url,
        "spans": spans,
        "offered_rate": rate,
        "batch_spans": BATCH_SPANS,
        "sent": batches * BATCH_SPANS,
        "accepted": progress.accepted,
        "rejected_requests": rejected,
        "read_back": read_back,
        "loss": batches * BATCH_SPANS - read_back,
        "send_seconds": round(send_seconds, 2),
        "queryable_seconds": round(queryable_seconds, 2),
        "throughput": read_back / queryable_seconds if read_back and queryable_seconds > 0 else None,
        "latency_samples": len(progress.samples),
        "latency_found": len(latencies),
        "latency_p50_s": percentile(latencies, 0.50),
        "latency_p95_s": percentile(latencies, 0.95),
        "peak_backlog": max((point["backlog"] or 0 for point in progress.series), default=None),
        "peak_rss_mb": max((point["rss_mb"] or 0 for point in progress.series), default=None),
        "poll_errors": progress.poll_errors,
        "series": progress.series,
    }


# --- A suite of runs against one running stack ---------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    spans: int
    rate: float  # offered spans/s
    repetitions: int

    @property
    def name(self) -> str:
        return f"{self.spans // 1000}k@{self.rate:g}/s"


def entry_points(settings: Settings) -> dict[str, str]:
    """Where the app sends (the pipeline) and Phoenix's own /v1/traces (direct)."""
    direct = f"{settings.phoenix_url}/v1/traces"
    if NativeRuntime(settings).state(ALLOY_NAME).running:
        return {"pipeline": f"{settings.alloy_otlp_http_url}/v1/traces", "direct": direct, ALLOY_NAME: "running"}
    reason = NativeRuntime(settings).component_available(ALLOY_NAME) or "alloy not running"
    # Without Alloy the app-facing entry point IS Phoenix's /v1/traces: both paths are the same, and their
    # ratio measures only run-to-run noise.
    return {"pipeline": direct, "direct": direct, ALLOY_NAME: f"not running ({reason})"}


def suite(
    settings: Settings,
    database: str,
    scenarios: list[Scenario],
    out: Callable[[str], None],
    paths: tuple[str, ...] = ("pipeline", "direct"),
) -> dict[str, Any]:
    """Every scenario in order, its paths back to back (their order swapped every repetition), each run
    into a project of its own. RSS is read just before and right after each run."""
    entry = entry_points(settings)
    pid = phoenix_pid(settings)
    result: dict[str, Any] = {
        "database": database,
        "entry": entry,
        "paths": list(paths),
        "idle_rss_mb": idle_rss_mb(settings),
    }
    runs: list[dict[str, Any]] = []
    for scenario in scenarios:
        for repetition in range(scenario.repetitions):
            order = paths if repetition % 2 == 0 else paths[::-1]
            for path in order:
                project = f"bench-{database}-{scenario.spans}-{path}-{repetition + 1}"
                rss_before_mb = phoenix_rss_mb(settings)
                measured = run(entry[path], settings.phoenix_url, project, scenario.spans, scenario.rate, pid)
                measured |= {"scenario": scenario.name, "path": path, "repetition": repetition + 1}
                measured |= {"rss_before_mb": rss_before_mb, "rss_after_mb": phoenix_rss_mb(settings)}
                measured["stored_before"] = sum(previous["read_back"] for previous in runs)
                runs.append(measured)
                shown = {key: measured[key] for key in ("throughput", "loss", "latency_p50_s", "peak_backlog")}
                out(f"ingestion {database} {scenario.name} {path} #{repetition + 1}: {shown}")
    result["runs"] = runs
    result["summary"] = summarize(runs)
    return result


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per scenario: each path's medians, and pipeline/direct ratios paired by repetition (None when only
    one path ran)."""
    keys = ("throughput", "loss", "latency_p50_s", "latency_p95_s", "peak_backlog", "peak_rss_mb")
    by_scenario: dict[str, Any] = {}
    for scenario in dict.fromkeys(run["scenario"] for run in runs):
        values: dict[str, dict[str, list[Any]]] = {}
        for path in dict.fromkeys(run["path"] for run in runs if run["scenario"] == scenario):
            chosen = sorted(
                (run for run in runs if run["scenario"] == scenario and run["path"] == path),
                key=lambda run: run["repetition"],
            )
            values[path] = {key: [run[key] for run in chosen] for key in keys}
        summaries: dict[str, Any] = {
            path: {key: summary(column) for key, column in columns.items()} for path, columns in values.items()
        }
        if "pipeline" in values and "direct" in values:
            summaries["pipeline_over_direct"] = {
                key: summary(paired_ratios(values["pipeline"][key], values["direct"][key]))
                for key in ("throughput", "latency_p50_s", "latency_p95_s")
            }
        else:
            summaries["pipeline_over_direct"] = None
        by_scenario[scenario] = summaries
    return by_scenario
