"""The Grafana dashboard: panels that plot the very expressions the rules use."""

from __future__ import annotations

from stackkit.core.setting_values import PHOENIX_NAME
from stackkit.monitoring.llm_row import llm_row
from stackkit.monitoring.panels import Panel, Query, Row
from stackkit.monitoring.signals import WINDOW, signals
from stackkit.monitoring.targets import Watched

__all__ = ["DASHBOARD_UID", "Panel", "Query", "Row", "dashboard", "dashboard_rows"]
from stackkit.core.settings import Settings

DASHBOARD_UID = "stackkit-traces"


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
                    "Spans the receiver refused to the apps with a retryable error (HTTP 503, gRPC UNAVAILABLE): "
                    "the sending queue was full (see Spans the exporter lost, queue full) or a memory limiter pushed "
                    "back; the apps' SDKs retry, then drop. Red: "
                    "`invoke status`, `invoke logs --service alloy` (or otelcol).",
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
                    "Spans the exporter did not take or could not deliver: refused for good by Phoenix (401 key, 413 "
                    "body limit, 415 encoding, dropped), or not queued because the queue was full (refused to the "
                    "apps: Spans refused by the receiver counts them too). Red: run `invoke verify` "
                    "(pipeline.canary, otelcol.queue or alloy.queue).",
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
        llm_row(settings, s),
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
