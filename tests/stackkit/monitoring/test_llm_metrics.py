"""The LLM metrics derived from the spans at the fan-out (stackkit/core/llm_metrics.py), end to end: the real upstream
Collector (STACK_COLLECTOR=otelcol, native) in front of a real Phoenix remote-writes them into Debian's real
Prometheus (--web.enable-remote-write-receiver), which loads the printed rules and scrapes the printed jobs.

A quiet stack fires nothing; after `invoke traffic` the token sums in Prometheus equal the sums of the spans'
token counts Phoenix holds, exactly, and the call counts equal its LLM and TOOL spans; every panel of the LLM row
has data; `invoke traffic --fail-ratio` fires LLMToolFailing. The series the metrics cost, the figures compared
and the alert's delay are printed (MEASURED lines), not asserted."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from collector_helpers import collector_binary
from isolation import invoke, isolated_environ
from monitoring_helpers import poll, printed, timestamp
from reliability_helpers import invoke_ok
from system import require

from stackkit import monitoring
from stackkit.components.component import Plan
from stackkit.core import llm_metrics
from stackkit.core.settings import Settings, load_settings
from stackkit.phoenix.api import phoenix_client
from tools.local_prometheus import PrometheusServer, start_prometheus

pytestmark = pytest.mark.phoenix

JOB = "otelcol"
DEMO_SERVICE = "ai-demo"  # the demo's service.name, so the `job` label of what it sends
REQUESTS = 30
FAILING_REQUESTS = 8
# Healthy traffic must not fail its tool on a loaded machine: a tool attempt may take 3 s here (fail_tool waits
# out every attempt: 3 x 3 s per failing chain).
TOOL_TIMEOUT = "3"


def test_llm_metrics_from_the_spans_equal_phoenix_and_fire_the_tool_alert(tmp_path: Path) -> None:
    require("prometheus")
    collector_binary()
    began = time.monotonic()
    base = isolated_environ(tmp_path / "state", STACK_COLLECTOR=JOB, AI_DEMO_TOOL_TIMEOUT=TOOL_TIMEOUT)
    scrape = yaml.safe_load(printed(base, "prometheus-scrape"))["scrape_configs"]
    prometheus = start_prometheus(
        tmp_path / "prometheus", scrape, printed(base, "prometheus-rules"), remote_write_receiver=True
    )
    environ = base | {"PROMETHEUS_REMOTE_WRITE_URL": prometheus.remote_write_url}
    try:
        started = invoke_ok(environ, "up")
        assert "otelcol: healthy" in started, started
        settings = load_settings(environ=environ)
        _check(prometheus, environ, settings, tmp_path)
    finally:
        if invoke(environ, "down").returncode != 0:
            invoke(environ, "down", "--force")
        prometheus.stop()
        print(f"MEASURED test duration {time.monotonic() - began:.0f}s")


def _values(prometheus: PrometheusServer, expr: str, by: str) -> dict[str, float]:
    return {series["metric"].get(by, ""): float(series["value"][1]) for series in prometheus.query(expr)}


def _firing(prometheus: PrometheusServer, name: str) -> dict[str, Any] | None:
    found = [a for a in prometheus.alerts() if a["labels"]["alertname"] == name and a["state"] == "firing"]
    return found[0] if found else None


def _phoenix_figures(settings: Settings, trace_ids: list[str]) -> tuple[dict[str, float], ...]:
    """Phoenix's own figures for the demo's project: token sums per model, LLM spans per model, TOOL spans per
    tool (read back through its REST API once every trace of the run is there)."""
    client = phoenix_client(settings)
    project = settings.phoenix_project_name
    client.wait_for_traces(project, trace_ids, timeout=120, min_spans_per_trace=4)
    spans = client.spans(project)
    prompt: Counter[str] = Counter()
    completion: Counter[str] = Counter()
    llm_calls: Counter[str] = Counter()
    tool_calls: Counter[str] = Counter()
    for span in spans:
        attributes = span["attributes"]
        kind = span.get("span_kind")  # Phoenix lifts openinference.span.kind out of the attributes
        if kind == "LLM":
            model = attributes[llm_metrics.MODEL]
            llm_calls[model] += 1
            prompt[model] += attributes.get(llm_metrics.PROMPT_TOKENS, 0)
            completion[model] += attributes.get(llm_metrics.COMPLETION_TOKENS, 0)
        elif kind == "TOOL":
            tool_calls[attributes[llm_metrics.TOOL]] += 1
    return dict(prompt), dict(completion), dict(llm_calls), dict(tool_calls)


def _check(prometheus: PrometheusServer, environ: dict[str, str], settings: Settings, tmp_path: Path) -> None:
    poll(lambda: prometheus.query(f'up{{job="{JOB}"}} == 1') or None, 60, "Prometheus scraping the Collector")
    plan = Plan(runtime="native", components=("phoenix", JOB, "ai-demo"), skipped={})
    watched = monitoring.watched(settings, plan)

    # --- a quiet stack: a flush of the connectors and a few evaluations later, nothing fires. A scrape from
    # before the Collector listened may have left FanoutMetricsDown pending: the next evaluations clear it.
    poll(lambda: prometheus.alerts() == [] or None, 30, "no alert pending once the Collector is scraped")
    quiet_until = time.monotonic() + 20
    while time.monotonic() < quiet_until:
        assert prometheus.alerts() == [], prometheus.alerts()
        time.sleep(1)

    # --- healthy traffic: Prometheus' figures equal Phoenix's, exactly.
    saved = tmp_path / "traffic.json"
    invoke_ok(environ, "traffic", "--requests", str(REQUESTS), "--save", str(saved))
    trace_ids = json.loads(saved.read_text())["trace_ids"]
    assert len(trace_ids) == REQUESTS
    prompt, completion, llm_calls, tool_calls = _phoenix_figures(settings, trace_ids)
    assert llm_calls and tool_calls and sum(prompt.values()) > 0, (llm_calls, tool_calls, prompt)
    where = f'{{job="{DEMO_SERVICE}"}}'
    by_model, by_tool, by_kind = llm_metrics.MODEL_LABEL, llm_metrics.TOOL_LABEL, llm_metrics.KIND_LABEL
    queries = {
        "prompt": (f"sum by ({by_model}) ({llm_metrics.PROMPT.promql}{where})", by_model, prompt),
        "completion": (f"sum by ({by_model}) ({llm_metrics.COMPLETION.promql}{where})", by_model, completion),
        "LLM calls": (
            f'sum by ({by_model}) ({llm_metrics.CALLS}{{job="{DEMO_SERVICE}", {by_kind}="LLM"}})',
            by_model,
            llm_calls,
        ),
        "TOOL calls": (
            f'sum by ({by_tool}) ({llm_metrics.CALLS}{{job="{DEMO_SERVICE}", {by_kind}="TOOL"}})',
            by_tool,
            tool_calls,
        ),
    }
    sent = time.monotonic()

    def all_equal() -> bool | None:
        return all(_values(prometheus, expr, by) == phoenix for expr, by, phoenix in queries.values()) or None

    try:
        poll(all_equal, 90, "Prometheus' token sums and call counts equal Phoenix's")
    finally:
        for name, (expr, by, phoenix) in queries.items():
            print(f"MEASURED {name}: Phoenix {phoenix}, Prometheus {_values(prometheus, expr, by)}")
    print(f"MEASURED equal in Prometheus {time.monotonic() - sent:.1f}s after the traffic ended")

    # What the metrics cost: the series they add, per name and per model and service.
    names = _values(prometheus, 'count by (__name__) ({__name__=~"stackkit_(spans|llm)_.*"})', "__name__")
    per_model = prometheus.query(
        f'count by (job, {by_model}) ({{__name__=~"stackkit_(spans|llm)_.*", {by_model}!=""}})'
    )
    print(f"MEASURED series by name: {names} (total {sum(names.values()):.0f})")
    print(
        "MEASURED series per model and service: "
        + ", ".join(f"{s['metric']['job']}/{s['metric'][by_model]}: {s['value'][1]}" for s in per_model)
    )
    labels = {
        label
        for series in prometheus.api("series", **{"match[]": '{__name__=~"stackkit_(spans|llm)_.*"}'})
        for label in series
    }
    # Bounded: the dimensions declared and the translation's own labels, never a trace, span or instance id.
    assert not {label for label in labels if "id" in label.split("_")}, labels

    # Every panel of the LLM row has data, and the healthy traffic fired nothing.
    rows = {row.title: row for row in monitoring.dashboard_rows(settings, watched)}
    empty = [
        panel.title
        for panel in rows["LLM usage"].panels
        if not any(prometheus.query(query.expr) for query in panel.queries)
    ]
    assert empty == [], empty
    assert [a["labels"]["alertname"] for a in prometheus.alerts()] == []

    # --- a failing tool fires LLMToolFailing.
    failing = time.time()
    result = invoke(
        environ, "traffic", "--requests", str(FAILING_REQUESTS), "--fail-ratio", "0.5", "--concurrency", "4"
    )
    assert result.returncode in (0, 1), result.stderr  # degraded chains are answered; none must crash
    alert = poll(lambda: _firing(prometheus, "LLMToolFailing"), 120, "LLMToolFailing firing")
    seen = time.time()
    assert alert["labels"]["job"] == DEMO_SERVICE and alert["labels"][by_tool] in tool_calls
    summary = alert["annotations"]["summary"]
    assert "`invoke eval`" in summary and f"{settings.phoenix_url}/projects" in summary, summary
    print(
        f"MEASURED LLMToolFailing: failing traffic began at 0, active +{timestamp(alert['activeAt']) - failing:.1f}s, "
        f"seen firing +{seen - failing:.1f}s (flush {llm_metrics.FLUSH_INTERVAL}, for: 30s, "
        f"evaluation {prometheus.evaluation_interval:g}s)"
    )
