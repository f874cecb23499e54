"""The stack watches itself: alert rules, scrape jobs and a Grafana dashboard for a Prometheus and Grafana the
user already runs (`invoke render --print prometheus-rules | prometheus-scrape | grafana-dashboard`).

Every number that says a trace was lost, or is about to be, is declared once here as a PromQL expression
(`Signals`); the alert rules compare those expressions with the thresholds (ALERT_* settings) and the
dashboard's panels plot the very same expressions, so what pages and what is drawn cannot drift apart.
The rules are rendered through stacks/prometheus/rules.yml.j2, the scrape jobs through scrape.yml.j2.

The fan-out is Alloy or the upstream Collector: both export the Collector's `otelcol_*` metrics, Alloy
labelled `component_id=...` with counters named `..._total`, the Collector (v0.165) `exporter=...`/
`receiver=...` with counters named without `_total`. Every selector matches both names and every aggregation
keeps both label sets, so one rule covers either; its scrape job is named after it (`alloy` or `otelcol`) and
the rules match both job names.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

import jinja2

from stackkit.errors import UsageError
from stackkit.phoenix import metrics as phoenix_metrics
from stackkit.setting_values import ALLOY_NAME, PHOENIX_NAME
from stackkit.settings import Settings
from stackkit.stack import components, lifecycle
from stackkit.stack.component import Plan

PROMETHEUS_DIR = "prometheus"
# Scrape jobs carry the component's name: Phoenix's, and the fan-outs'.
PHOENIX_JOB = PHOENIX_NAME
FANOUT_JOBS = (ALLOY_NAME, "otelcol")
# The Collector's own metrics server (service.telemetry.metrics), when it is the fan-out.
OTELCOL_METRICS_PORT = 8888
# Phoenix's default when PHOENIX_MAX_SPANS_QUEUE_SIZE is not given (phoenix/config.py).
PHOENIX_DEFAULT_MAX_SPANS_QUEUE = 20_000
# The window every "lost in the last ..." number counts over, and the demo's rates.
WINDOW = "5m"
DASHBOARD_UID = "stackkit-traces"
PRINTABLE = ("prometheus-rules", "prometheus-scrape", "grafana-dashboard")

PHOENIX_BY = "job, instance"
LAST_WRITE = "phoenix_span_ingestion_last_success_timestamp_seconds"
FANOUT_BY = "job, instance, component_id, exporter"
RECEIVER_BY = "job, instance, component_id, receiver, transport"


def lost(counter: str, by: str) -> str:
    """How much a counter rose in the window. A series younger than the window (a counter Phoenix creates
    on its first failure, with its first value already > 0) counts from zero, which increase() would miss."""
    return f"sum by ({by}) (({counter} unless {counter} offset {WINDOW}) or increase({counter}[{WINDOW}]))"


def rate(counter: str, by: str, selector: str = "") -> str:
    return f"sum by ({by}) (rate({counter}{selector}[{WINDOW}]))"


def collector_counter(name: str) -> str:
    """A fan-out counter under both of its names: Alloy exports `name_total`, the Collector (v0.165) `name`."""
    return f'{{__name__=~"{name}(_total)?"}}'


def up_of(jobs: tuple[str, ...]) -> str:
    return f'up{{job="{jobs[0]}"}}' if len(jobs) == 1 else f'up{{job=~"{"|".join(jobs)}"}}'


@dataclass(frozen=True)
class Watched:
    """What the user's Prometheus scrapes for this stack, and the limits the rules compare with."""

    phoenix_target: str  # host:port of Phoenix's metrics; "" when the stack cannot name one
    fanout: str  # a fan-out's name (FANOUT_JOBS) or "" (no fan-out: apps send straight to Phoenix)
    fanout_target: str
    max_spans_queue: int
    runtime: str
    notes: tuple[str, ...] = ()  # why a job is missing, for the scrape file's header


@dataclass(frozen=True)
class Signals:
    """Each number once, as the PromQL both the rules and the dashboard use."""

    phoenix_up: str
    fanout_up: str
    phoenix_export_requests: str
    phoenix_rejected: str
    phoenix_failed: str
    phoenix_unresolved: str
    phoenix_queue_fill: str
    phoenix_queued: str
    phoenix_seconds_since_write: str
    phoenix_insert_p95: str
    store_bytes: str
    store_fill: str
    insertions_blocked: str
    fanout_accepted: str
    fanout_sent: str
    fanout_refused: str
    fanout_send_failed: str
    fanout_enqueue_failed: str
    fanout_queue_fill: str
    demo_requests: str
    demo_error_ratio: str
    demo_p50: str
    demo_p95: str


def signals(watched: Watched) -> Signals:
    demo_all = f"sum(rate(ai_demo_requests_total[{WINDOW}]))"
    demo_bad = f'sum(rate(ai_demo_requests_total{{outcome!="ok"}}[{WINDOW}]))'

    def demo_quantile(q: float) -> str:
        return f"histogram_quantile({q}, sum by (le) (rate(ai_demo_request_duration_seconds_bucket[{WINDOW}])))"

    return Signals(
        phoenix_up=up_of((PHOENIX_JOB,)),
        fanout_up=up_of(FANOUT_JOBS),
        phoenix_export_requests=rate(
            "starlette_requests_processing_time_seconds_summary_count", PHOENIX_BY, '{path="/v1/traces"}'
        ),
        phoenix_rejected=lost("phoenix_span_queue_rejections_total", PHOENIX_BY),
        phoenix_failed=lost("phoenix_span_ingestion_failed_spans_total", f"{PHOENIX_BY}, reason"),
        phoenix_unresolved=lost("phoenix_span_ingestion_unresolved_spans_total", PHOENIX_BY),
        phoenix_queue_fill=f"max by ({PHOENIX_BY}) (phoenix_span_queue_size) / {watched.max_spans_queue}",
        phoenix_queued=f"max by ({PHOENIX_BY}) (phoenix_span_queue_size)",
        # Phoenix's last write, or its start while it has written nothing yet (the gauge is 0 until then).
        phoenix_seconds_since_write=(
            f"time() - max by ({PHOENIX_BY}) "
            f'({{__name__=~"{LAST_WRITE}|process_start_time_seconds"}} and on ({PHOENIX_BY}) {LAST_WRITE})'
        ),
        phoenix_insert_p95=(
            f"histogram_quantile(0.95, sum by ({PHOENIX_BY}, le) "
            f"(rate(phoenix_bulk_loader_span_insertion_time_seconds_bucket[{WINDOW}])))"
        ),
        store_bytes=f"max by ({PHOENIX_BY}) (database_disk_usage_bytes)",
        store_fill=f"max by ({PHOENIX_BY}) (database_disk_usage_ratio)",
        insertions_blocked=f"max by ({PHOENIX_BY}) (database_insertions_blocked)",
        fanout_accepted=rate(collector_counter("otelcol_receiver_accepted_spans"), RECEIVER_BY),
        fanout_sent=rate(collector_counter("otelcol_exporter_sent_spans"), FANOUT_BY),
        fanout_refused=lost(collector_counter("otelcol_receiver_refused_spans"), RECEIVER_BY),
        fanout_send_failed=lost(collector_counter("otelcol_exporter_send_failed_spans"), FANOUT_BY),
        fanout_enqueue_failed=lost(collector_counter("otelcol_exporter_enqueue_failed_spans"), FANOUT_BY),
        fanout_queue_fill=f"max by ({FANOUT_BY}) (otelcol_exporter_queue_size / otelcol_exporter_queue_capacity)",
        demo_requests=f"sum by (outcome) (rate(ai_demo_requests_total[{WINDOW}]))",
        demo_error_ratio=f"{demo_bad} / {demo_all}",
        demo_p50=demo_quantile(0.5),
        demo_p95=demo_quantile(0.95),
    )


@dataclass(frozen=True)
class Rule:
    alert: str
    expr: str
    for_: str
    severity: str  # critical: spans are being lost now; warning: they are about to be
    summary: str
    description: str


def _ratio(percent: float) -> str:
    return f"{percent / 100:g}"


def rules(settings: Settings, watched: Watched) -> list[Rule]:
    """The alert rules, in the order the file lists them."""
    s = signals(watched)
    fanout = watched.fanout or ALLOY_NAME
    queue_ratio = _ratio(settings.alert_queue_percent)
    where = "{{ $labels.instance }}"
    count, share = "{{ $value | humanize }}", "{{ $value | humanizePercentage }}"
    component = "{{ $labels.component_id }}{{ $labels.exporter }}"
    receiver = "{{ $labels.component_id }}{{ $labels.receiver }}"
    phoenix_absent = f" or absent({s.phoenix_up})" if watched.phoenix_target else ""
    fanout_absent = f" or absent({s.fanout_up})" if watched.fanout_target else ""
    return [
        Rule(
            "PhoenixRejectingSpans",
            f"{s.phoenix_rejected} > 0",
            "0s",
            "critical",
            f"Phoenix at {where} answered 503 to {count} export requests in the last {WINDOW}: its span "
            "queue was full and those spans are lost. Diagnose: `invoke verify` (phoenix.ingest).",
            "Phoenix's ingest queue (PHOENIX_MAX_SPANS_QUEUE_SIZE, "
            f"{watched.max_spans_queue} spans) was full, so it refused whole export requests; an SDK drops a batch "
            "it got 503 for, a fan-out retries it. Phoenix writes slower than spans arrive: spread the load, give "
            "Phoenix a faster disk or PostgreSQL (PHOENIX_DB=postgres), or raise PHOENIX_MAX_SPANS_QUEUE_SIZE if it "
            "has the memory. `invoke status` shows the store.",
        ),
        Rule(
            "PhoenixFailedToWriteSpans",
            f"{s.phoenix_failed} > 0",
            "0s",
            "critical",
            f"Phoenix at {where} accepted and then failed to write {count} spans in the last {WINDOW} "
            "(reason {{ $labels.reason }}). Diagnose: `invoke logs --service phoenix --tail 200`.",
            "The sender got 200 but the spans never reached the database (a failed insert, a deadlock between "
            "writers on one PostgreSQL, a full disk). Phoenix's log names the error; `invoke verify` "
            "(phoenix.ingest) counts the spans lost since Phoenix started.",
        ),
        Rule(
            "PhoenixSpanWritesUnconfirmed",
            f"{s.phoenix_unresolved} > 0",
            "0s",
            "warning",
            f"Phoenix at {where} released {count} accepted spans without a confirmed commit in the last "
            f"{WINDOW}: they may be lost. Diagnose: `invoke logs --service phoenix --tail 200`.",
            "Phoenix could not tell whether a batch was committed (the database connection broke mid-write). "
            "`invoke verify` (pipeline.canary) proves whether spans still land.",
        ),
        Rule(
            "PhoenixSpanQueueNearFull",
            f"{s.phoenix_queue_fill} > {queue_ratio}",
            "2m",
            "warning",
            f"Phoenix at {where} has its span queue {share} full "
            f"(of {watched.max_spans_queue}): past 100% it refuses exports. Diagnose: `invoke status`.",
            f"More than ALERT_QUEUE_PERCENT ({settings.alert_queue_percent:g}%) of PHOENIX_MAX_SPANS_QUEUE_SIZE has "
            "waited to be written for 2 minutes: Phoenix writes slower than spans arrive. Spans are rejected once it "
            "is full (PhoenixRejectingSpans). Lower the load, or move the store to PostgreSQL or a faster disk.",
        ),
        Rule(
            "PhoenixIngestStalled",
            f"({s.phoenix_queued} > 0) and on ({PHOENIX_BY}) ({s.phoenix_seconds_since_write} > 300)",
            "2m",
            "critical",
            f"Phoenix at {where} holds {count} queued spans but wrote none for over 5 minutes. "
            "Diagnose: `invoke logs --service phoenix --tail 200`.",
            "Spans wait in Phoenix's queue and nothing is committed: the database is locked, unreachable or "
            "blocked. They are lost when Phoenix stops. `invoke verify` (phoenix.health, phoenix.storage) names "
            "the cause; `invoke restart --service phoenix` drains what it can first.",
        ),
        Rule(
            "PhoenixStoreNearGuard",
            f"{s.store_fill} > {_ratio(settings.alert_storage_percent)}",
            "5m",
            "warning",
            f"Phoenix's store at {where} is {share} of its allocated capacity; at "
            f"{settings.phoenix_database_usage_insertion_blocking_threshold_percentage:g}% it stops writing spans. "
            "Diagnose: `invoke status`.",
            f"Past ALERT_STORAGE_PERCENT ({settings.alert_storage_percent:g}%) of "
            "PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES. Shorten PHOENIX_DEFAULT_RETENTION_POLICY_DAYS, "
            "delete old projects, or raise the capacity if the disk has room (`invoke status` shows free disk).",
        ),
        Rule(
            "PhoenixInsertionsBlocked",
            f"{s.insertions_blocked} > 0",
            "0s",
            "critical",
            f"Phoenix at {where} refuses every span: its store passed the storage guard. "
            "Diagnose: `invoke verify` (phoenix.storage).",
            "The store is past PHOENIX_DATABASE_USAGE_INSERTION_BLOCKING_THRESHOLD_PERCENTAGE of "
            "PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES: every span sent now is lost. Raise the capacity "
            "or free space (shorter retention, delete old projects), then `invoke up`.",
        ),
        Rule(
            "PhoenixMetricsDown",
            f"{s.phoenix_up} == 0{phoenix_absent}",
            "1m",
            "critical",
            "Prometheus cannot scrape Phoenix's metrics{{ with $labels.instance }} at {{ . }}{{ end }}: Phoenix is "
            "down, or its metrics are off, and nothing here can tell whether spans are lost. "
            "Diagnose: `invoke status`.",
            "Phoenix exports metrics on port 9090 only with PHOENIX_ENABLE_PROMETHEUS=true; natively the stack "
            "turns them on only when that port is free. `invoke verify` (phoenix.health, phoenix.ingest) says "
            "which; `invoke logs --service phoenix` shows why it stopped.",
        ),
        Rule(
            "FanoutExportFailing",
            f"{s.fanout_send_failed} > 0",
            "0s",
            "critical",
            f"The fan-out at {where} failed to send {count} spans to Phoenix in the last {WINDOW} "
            f"({component}): they are lost. Diagnose: `invoke verify` (pipeline.canary).",
            "Phoenix answered with an error the exporter does not retry (401: wrong ingestion key, 413: a batch "
            "over a proxy's body limit, 415: JSON encoding), or retries ran out. The canary names the hop; "
            f"`invoke logs --service {fanout} --tail 100` shows Phoenix's answer.",
        ),
        Rule(
            "FanoutQueueOverflow",
            f"{s.fanout_enqueue_failed} > 0",
            "0s",
            "critical",
            f"The fan-out at {where} could not queue {count} spans in the last {WINDOW} ({component}): its "
            "sending queue is full and they are dropped. Diagnose: `invoke verify` (alloy.queue).",
            "Phoenix has been unreachable or slower than the traffic for longer than the queue holds "
            "(ALLOY_QUEUE_MIB, README: Sizing Alloy's queue). Bring Phoenix back (`invoke status`), or give the "
            "queue more room.",
        ),
        Rule(
            "FanoutQueueNearFull",
            f"{s.fanout_queue_fill} > {queue_ratio}",
            "2m",
            "warning",
            f"The fan-out at {where} has its sending queue {share} full ({component}): "
            "once full it drops spans. Diagnose: `invoke status`.",
            f"More than ALERT_QUEUE_PERCENT ({settings.alert_queue_percent:g}%) of the exporter's queue has waited "
            "for 2 minutes: Phoenix is down or slower than the traffic. `invoke verify` (phoenix.health, "
            f"pipeline.canary) says which; `invoke logs --service {fanout}` shows the retries.",
        ),
        Rule(
            "FanoutRefusingSpans",
            f"{s.fanout_refused} > 0",
            "0s",
            "critical",
            f"The fan-out's receiver at {where} refused {count} spans in the last {WINDOW} ({receiver}): "
            "senders were told to retry or drop them. Diagnose: `invoke verify`.",
            "The pipeline behind the receiver pushed back (the sending queue full, a memory limiter): an SDK "
            "retries a few times, then drops. Usually Phoenix is down or slow: see FanoutQueueNearFull, "
            f"`invoke status`, `invoke logs --service {fanout} --tail 100`.",
        ),
        Rule(
            "FanoutMetricsDown",
            f"{s.fanout_up} == 0{fanout_absent}",
            "1m",
            "critical",
            "Prometheus cannot scrape the fan-out's metrics{{ with $labels.instance }} at {{ . }}{{ end }}: "
            "Alloy or the Collector is down, and apps sending to it lose their spans. Diagnose: `invoke status`.",
            f"Alloy or the Collector stopped, or its metrics port moved. `invoke logs --service {fanout} --tail 50` "
            "shows why; `invoke up` starts it again.",
        ),
        Rule(
            "DemoErrorRateHigh",
            f"{s.demo_error_ratio} > {_ratio(settings.alert_demo_error_percent)}",
            "5m",
            "warning",
            f"{share} of the demo's requests failed or degraded over the last {WINDOW}. Diagnose: `invoke eval`.",
            f"More than ALERT_DEMO_ERROR_PERCENT ({settings.alert_demo_error_percent:g}%) of /chat requests ended "
            "in an error or without the weather tool's answer (outcome degraded: every attempt timed out). "
            "`invoke eval` scores tool_ok per chain; `invoke logs --service ai-demo --tail 100` shows the errors.",
        ),
    ]


# --- the dashboard ---------------------------------------------------------------------------------------------


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
    about: str = PHOENIX_JOB  # phoenix, fanout or demo: where its numbers come from


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


def dashboard_rows(settings: Settings, watched: Watched) -> list[Row]:
    s = signals(watched)
    queue = settings.alert_queue_percent / 100
    blocking = f"{settings.phoenix_database_usage_insertion_blocking_threshold_percentage:g}"
    return [
        Row(
            "Is it watched",
            (
                Panel(
                    "Phoenix scraped",
                    (Query(s.phoenix_up, "{{instance}}"),),
                    "none",
                    "1 when Prometheus reads Phoenix's metrics. Red (0 or no data): Phoenix is down or its metrics are "
                    "off; every other Phoenix panel is blind. Run `invoke status`, then `invoke verify`.",
                    red_at=1,
                    red_below=True,
                    kind="stat",
                ),
                Panel(
                    "Fan-out scraped",
                    (Query(s.fanout_up, "{{job}} {{instance}}"),),
                    "none",
                    "1 when Prometheus reads Alloy's or the Collector's metrics. Red: the fan-out is down and apps "
                    "sending to it lose spans. Run `invoke status`, then `invoke logs --service alloy` (or otelcol).",
                    red_at=1,
                    red_below=True,
                    kind="stat",
                    about="fanout",
                ),
            ),
        ),
        Row(
            "Phoenix ingest",
            (
                Panel(
                    "Export requests into Phoenix",
                    (Query(s.phoenix_export_requests, "{{instance}}"),),
                    "reqps",
                    "OTLP/HTTP export requests Phoenix answers per second (each holds a batch of spans). A drop to 0 "
                    "while apps run means nothing reaches Phoenix: run `invoke verify` (pipeline.canary: which hop).",
                ),
                Panel(
                    f"Rejected export requests (per {WINDOW})",
                    (Query(s.phoenix_rejected, "{{instance}}"),),
                    "short",
                    "Requests Phoenix answered 503 because its span queue was full: those spans are lost. Red: run "
                    "`invoke verify` (phoenix.ingest); lower the load, move the store to PostgreSQL or a faster disk, "
                    "or raise PHOENIX_MAX_SPANS_QUEUE_SIZE.",
                    red_at=1,
                ),
                Panel(
                    f"Spans accepted, then not written (per {WINDOW})",
                    (
                        Query(s.phoenix_failed, "failed {{reason}} {{instance}}"),
                        Query(s.phoenix_unresolved, "unconfirmed {{instance}}"),
                    ),
                    "short",
                    "Spans Phoenix answered 200 for and then failed to commit (or could not confirm). Red: read "
                    "`invoke logs --service phoenix --tail 200` for the database error; `invoke verify` counts them.",
                    red_at=1,
                ),
                Panel(
                    "Span queue fill",
                    (Query(s.phoenix_queue_fill, "{{instance}}"),),
                    "percentunit",
                    "Spans waiting to be written, as a share of PHOENIX_MAX_SPANS_QUEUE_SIZE "
                    f"({watched.max_spans_queue}). Red past ALERT_QUEUE_PERCENT ({settings.alert_queue_percent:g}%): "
                    "at 100% Phoenix rejects exports. Lower the load or speed up the store; `invoke status` shows it.",
                    red_at=queue,
                ),
                Panel(
                    "Span insert time p95",
                    (Query(s.phoenix_insert_p95, "{{instance}}"),),
                    "s",
                    "How long Phoenix takes to write a batch of spans. Red past 10 s: the store is the bottleneck "
                    "and the queue will fill; check the disk (`invoke status`) or move to PostgreSQL.",
                    red_at=10,
                ),
                Panel(
                    "Seconds since Phoenix last wrote spans",
                    (Query(s.phoenix_seconds_since_write, "{{instance}}"),),
                    "s",
                    "Time since Phoenix last committed spans, or since it started when it has written none yet (idle "
                    "is fine when nothing is sent). Red past 5 minutes "
                    "while the queue is not empty: ingest is stalled; read `invoke logs --service phoenix`.",
                    red_at=300,
                ),
            ),
        ),
        Row(
            "Phoenix store",
            (
                Panel(
                    "Store size",
                    (Query(s.store_bytes, "{{instance}}"),),
                    "bytes",
                    "Bytes Phoenix's database uses (measured only with a storage capacity set). Growth with no end: "
                    "check PHOENIX_DEFAULT_RETENTION_POLICY_DAYS and the free disk in `invoke status`.",
                ),
                Panel(
                    "Store fill (of the allocated capacity)",
                    (Query(s.store_fill, "{{instance}}"),),
                    "percentunit",
                    "Share of PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES used. Red past "
                    f"ALERT_STORAGE_PERCENT ({settings.alert_storage_percent:g}%); at {blocking}% Phoenix refuses "
                    "every span. Shorten retention, delete old projects or raise the capacity (`invoke status` "
                    "shows the store).",
                    red_at=settings.alert_storage_percent / 100,
                ),
                Panel(
                    "Insertions blocked",
                    (Query(s.insertions_blocked, "{{instance}}"),),
                    "none",
                    "1 when the storage guard stops Phoenix writing spans: every span sent is lost. Red: run "
                    "`invoke verify` (phoenix.storage), free space or raise the capacity, then `invoke up`.",
                    red_at=1,
                    kind="stat",
                ),
            ),
        ),
        Row(
            "Fan-out (Alloy or the Collector)",
            (
                Panel(
                    "Spans in and out",
                    (
                        Query(s.fanout_accepted, "accepted {{component_id}}{{receiver}} {{transport}}"),
                        Query(s.fanout_sent, "sent {{component_id}}{{exporter}}"),
                    ),
                    "short",
                    "Spans per second the receiver accepted and the exporter sent to Phoenix. Sent staying below "
                    "accepted: the queue is growing (see Sending queue fill); run `invoke verify`.",
                    about="fanout",
                ),
                Panel(
                    f"Spans refused by the receiver (per {WINDOW})",
                    (Query(s.fanout_refused, "{{component_id}}{{receiver}} {{transport}}"),),
                    "short",
                    "Spans the receiver pushed back to the apps (the pipeline behind it is full). Red: Phoenix is down "
                    "or slow; `invoke status`, `invoke logs --service alloy` (or otelcol).",
                    red_at=1,
                    about="fanout",
                ),
                Panel(
                    f"Spans the exporter lost (per {WINDOW})",
                    (
                        Query(s.fanout_send_failed, "send failed {{component_id}}{{exporter}}"),
                        Query(s.fanout_enqueue_failed, "queue full {{component_id}}{{exporter}}"),
                    ),
                    "short",
                    "Spans dropped on the way to Phoenix: refused for good (401 key, 413 body limit, 415 encoding) or "
                    "not queued because the queue was full. Red: run `invoke verify` (pipeline.canary, alloy.queue).",
                    red_at=1,
                    about="fanout",
                ),
                Panel(
                    "Sending queue fill",
                    (Query(s.fanout_queue_fill, "{{component_id}}{{exporter}}"),),
                    "percentunit",
                    f"Share of the exporter's queue in use (ALLOY_QUEUE_MIB). Red past ALERT_QUEUE_PERCENT "
                    f"({settings.alert_queue_percent:g}%): Phoenix is unreachable or slow and the queue will overflow; "
                    "`invoke status`, `invoke verify`.",
                    red_at=queue,
                    about="fanout",
                ),
            ),
        ),
        Row(
            "AI demo",
            (
                Panel(
                    "Requests by outcome",
                    (Query(s.demo_requests, "{{outcome}}"),),
                    "reqps",
                    "The demo's /chat requests per second: ok, degraded (the weather tool timed out on every "
                    "attempt) or error. No data: the demo's metrics reach Prometheus only through the fan-out's "
                    "remote-write (PROMETHEUS_REMOTE_WRITE_URL).",
                    about="demo",
                ),
                Panel(
                    "Failed or degraded share",
                    (Query(s.demo_error_ratio, "failed or degraded"),),
                    "percentunit",
                    "Share of requests not ok. Red past ALERT_DEMO_ERROR_PERCENT "
                    f"({settings.alert_demo_error_percent:g}%): "
                    "run `invoke eval` (tool_ok) and `invoke logs --service ai-demo --tail 100`.",
                    red_at=settings.alert_demo_error_percent / 100,
                    about="demo",
                ),
                Panel(
                    "Latency p50 / p95",
                    (Query(s.demo_p50, "p50"), Query(s.demo_p95, "p95")),
                    "s",
                    "Time to answer /chat. Red past EVAL_LATENCY_THRESHOLD_MS "
                    f"({settings.eval_latency_threshold_ms} ms): the LLM or the tool is slow; `invoke eval` scores "
                    "latency per chain.",
                    red_at=settings.eval_latency_threshold_ms / 1000,
                    about="demo",
                ),
            ),
        ),
    ]


def _thresholds(panel: Panel) -> dict[str, object]:
    if panel.red_at is None:
        steps: list[dict[str, object]] = [{"color": "green", "value": None}]
    elif panel.red_below:
        steps = [{"color": "red", "value": None}, {"color": "green", "value": panel.red_at}]
    else:
        steps = [{"color": "green", "value": None}, {"color": "red", "value": panel.red_at}]
    return {"mode": "absolute", "steps": steps}


DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
PANEL_WIDTH, PANEL_HEIGHT = 8, 8


def dashboard(settings: Settings, watched: Watched) -> dict[str, object]:
    """A provisioning-ready Grafana dashboard: no numeric id, a fixed uid, the datasource a variable."""
    panels: list[dict[str, object]] = []
    y = 0
    next_id = iter(range(1, 1000))
    for row in dashboard_rows(settings, watched):
        panels.append(
            {
                "id": next(next_id),
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        y += 1
        for index, panel in enumerate(row.panels):
            custom: dict[str, object] = {}
            if panel.kind == "timeseries":
                custom = {"thresholdsStyle": {"mode": "off" if panel.red_at is None else "line"}}
            panels.append(
                {
                    "id": next(next_id),
                    "type": panel.kind,
                    "title": panel.title,
                    "description": panel.when_red,
                    "datasource": DATASOURCE,
                    "gridPos": {
                        "h": PANEL_HEIGHT,
                        "w": PANEL_WIDTH,
                        "x": (index % 3) * PANEL_WIDTH,
                        "y": y + (index // 3) * PANEL_HEIGHT,
                    },
                    "fieldConfig": {
                        "defaults": {
                            "unit": panel.unit,
                            "color": {"mode": "thresholds" if panel.kind == "stat" else "palette-classic"},
                            "thresholds": _thresholds(panel),
                            "custom": custom,
                        },
                        "overrides": [],
                    },
                    "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
                    "targets": [
                        {
                            "refId": chr(ord("A") + position),
                            "datasource": DATASOURCE,
                            "expr": query.expr,
                            "legendFormat": query.legend,
                        }
                        for position, query in enumerate(panel.queries)
                    ],
                }
            )
        y += PANEL_HEIGHT * ((len(row.panels) + 2) // 3)
    return {
        "uid": DASHBOARD_UID,
        "title": "stackkit: are traces arriving?",
        "description": "Phoenix, the fan-out (Alloy or the Collector) and the AI demo: every number that says a trace "
        "was lost or is about to be. Rendered by `invoke render --print grafana-dashboard`.",
        "tags": ["stackkit", PHOENIX_NAME, "traces"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                    "options": [],
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


# --- what the user's Prometheus scrapes ------------------------------------------------------------------------


def _max_spans_queue(settings: Settings) -> int:
    raw = dict(settings.phoenix_passthrough).get("PHOENIX_MAX_SPANS_QUEUE_SIZE", "").strip()
    if not raw:
        return PHOENIX_DEFAULT_MAX_SPANS_QUEUE
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"PHOENIX_MAX_SPANS_QUEUE_SIZE={raw!r}: expected a whole number of at least 1 (spans)")
    return int(raw)


def _host_port(url: str) -> str:
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{parsed.hostname}:{port}"


def watched(settings: Settings, plan: Plan) -> Watched:
    """The scrape targets of the stack as `plan` runs it, reachable from the host natively, and from a container
    on STACK_NETWORK on docker (the metrics ports are not published there)."""
    notes: list[str] = []
    docker = plan.runtime == "docker"
    phoenix_target = ""
    if settings.phoenix_external_url:
        notes.append(
            "Phoenix is external (PHOENIX_EXTERNAL_URL): scrape its metrics port (9090) where it runs, "
            f'as job_name "{PHOENIX_JOB}".'
        )
    elif docker:
        phoenix_target = f"{components.PHOENIX.compose_service}:{phoenix_metrics.METRICS_PORT}"
    elif phoenix_metrics.enabled(settings, "native"):
        phoenix_target = f"127.0.0.1:{phoenix_metrics.METRICS_PORT}"
    else:
        until = "they are on" if not settings.stack_phoenix_metrics else "it is free"
        notes.append(phoenix_metrics.why_off(settings) + f": no Phoenix job until {until}.")
    fanout, fanout_target = "", ""
    alloy = components.ALLOY
    if alloy.name in plan.external:
        fanout, fanout_target = alloy.name, _host_port(settings.alloy_url)
    elif alloy.name in plan.components:
        fanout = alloy.name
        fanout_target = f"{alloy.compose_service}:12345" if docker else f"127.0.0.1:{settings.alloy_ui_port}"
    elif "otelcol" in plan.components:
        fanout = "otelcol"
        fanout_target = f"otelcol:{OTELCOL_METRICS_PORT}" if docker else f"127.0.0.1:{OTELCOL_METRICS_PORT}"
    else:
        notes.append("No fan-out runs (apps send straight to Phoenix): no fan-out job.")
    if docker:
        notes.append(
            f"Docker runtime: these addresses resolve on the network {settings.stack_network}; attach your "
            f"Prometheus to it (`docker network connect {settings.stack_network} <container>`)."
        )
    return Watched(
        phoenix_target=phoenix_target,
        fanout=fanout,
        fanout_target=fanout_target,
        max_spans_queue=_max_spans_queue(settings),
        runtime=plan.runtime,
        notes=tuple(notes),
    )


def _templates(settings: Settings) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(settings.repo_root / "stacks" / PROMETHEUS_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    # JSON strings are YAML double-quoted scalars: PromQL's quotes and braces need no thought.
    environment.filters["quoted"] = lambda value: json.dumps(value, ensure_ascii=False)
    return environment


def rules_text(settings: Settings, watched: Watched) -> str:
    thresholds = ", ".join(
        f"{name}={settings.value_of(name):g}"
        for name in ("ALERT_QUEUE_PERCENT", "ALERT_STORAGE_PERCENT", "ALERT_DEMO_ERROR_PERCENT")
    )
    return (
        _templates(settings).get_template("rules.yml.j2").render(rules=rules(settings, watched), thresholds=thresholds)
    )


def scrape_text(settings: Settings, watched: Watched) -> str:
    return _templates(settings).get_template("scrape.yml.j2").render(watched=watched, phoenix_job=PHOENIX_JOB)


def dashboard_text(settings: Settings, watched: Watched) -> str:
    return json.dumps(dashboard(settings, watched), indent=2) + "\n"


RENDERERS: dict[str, Callable[[Settings, Watched], str]] = {
    "prometheus-rules": rules_text,
    "prometheus-scrape": scrape_text,
    "grafana-dashboard": dashboard_text,
}


def printed(settings: Settings, name: str) -> str:
    """One of PRINTABLE for the stack as it runs (or would run) now."""
    runtime = lifecycle.resolve_runtime(settings, None, out=lambda line: print(line, file=sys.stderr))
    return RENDERERS[name](settings, watched(settings, lifecycle.make_plan(runtime)))
