"""The fan-out rules (stackkit/monitoring/rules.py) in a real Prometheus scraping the real upstream Collector
(STACK_COLLECTOR=otelcol, native) in front of a real Phoenix: a healthy run fires nothing and the fan-out panels
have data; Phoenix stopped while traffic goes on fires FanoutQueueNearFull (a warning: the spans wait on disk)
and no critical alert; spans the full queue cannot take are refused to the sender (HTTP 503: the receiver hands
them straight to the queue) and fire FanoutQueueOverflow and FanoutRefusingSpans; Phoenix back drains the queue
and the warning resolves; a revoked key (401, not retried) fires FanoutExportFailing; the Collector stopped fires
FanoutMetricsDown. The delays are printed (MEASURED lines), not asserted. The rules' expressions are the printed
ones; their `for:` holds are cut tenfold in this Prometheus's copy (2m -> 12s), so the test does not sit out
minutes of hold to see an alert fire.

That nothing queued in an outage is lost is tests/stackkit/components/test_otelcol_pipeline.py's claim; this file
asserts the alerts only."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from collector_helpers import collector_binary
from isolation import invoke, isolated_environ
from monitoring_helpers import poll, printed, timestamp
from reliability_helpers import invoke_ok, raw_batch
from system import require

from stackkit import monitoring
from stackkit.commands import traffic
from stackkit.components import otelcol
from stackkit.components.component import Plan
from stackkit.core import secrets
from stackkit.core.health import wait_healthy
from stackkit.core.settings import Settings, load_settings
from stackkit.monitoring import Watched
from stackkit.monitoring.signals import WINDOW
from stackkit.phoenix import keys as auth
from stackkit.runtimes.native import NativeRuntime
from stackkit.stack.lifecycle import make_plan
from tools.local_prometheus import PrometheusServer, start_prometheus

pytestmark = pytest.mark.phoenix

JOB = "otelcol"
# A 16 MiB queue and a 1% threshold (the setting's minimum): a demo chain or two queued in an outage pass it (its
# LLM spans are tens of KiB), and a flood of small spans fills the queue in seconds.
QUEUE_MIB = "16"
QUEUE_PERCENT = "1"
CRITICAL_FANOUT = ("FanoutExportFailing", "FanoutQueueOverflow", "FanoutRefusingSpans", "FanoutMetricsDown")
# What the rules' `for:` holds are divided by in the test's Prometheus: how long a failure must last before its
# alert fires is Prometheus's own logic; what is tested is that each expression catches its failure.
HOLD_DIVISOR = 10
SECONDS_PER_UNIT = {"s": 1, "m": 60, "h": 3600}


def _shortened(duration: str) -> str:
    """A Prometheus duration ("2m", "90s", "0s") divided by HOLD_DIVISOR, in seconds."""
    parts = re.findall(r"(\d+)([smh])", duration)
    assert parts and "".join(f"{count}{unit}" for count, unit in parts) == duration, duration
    seconds = sum(int(count) * SECONDS_PER_UNIT[unit] for count, unit in parts)
    return f"{seconds / HOLD_DIVISOR:g}s"


def _with_short_holds(rules: str) -> tuple[str, dict[str, str]]:
    """The printed rules with every `for:` shortened (the expressions as printed), and each alert's hold as
    printed -> as loaded, for the MEASURED lines."""
    loaded = yaml.safe_load(rules)
    holds = {}
    for group in loaded["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                holds[rule["alert"]] = f"for: {rule['for']} printed, {_shortened(rule['for'])} here"
                rule["for"] = _shortened(rule["for"])
    return yaml.safe_dump(loaded, sort_keys=False), holds


def test_the_fanout_rules_fire_and_resolve_against_the_real_collector_in_a_real_prometheus(tmp_path: Path) -> None:
    require("prometheus")
    collector_binary()
    environ = isolated_environ(
        tmp_path / "state",
        STACK_COLLECTOR=JOB,
        PHOENIX_ENABLE_AUTH="true",  # so that a revoked key makes the exporter fail for good (401)
        ALLOY_QUEUE_MIB=QUEUE_MIB,
        ALERT_QUEUE_PERCENT=QUEUE_PERCENT,
    )
    try:
        started = invoke_ok(environ, "up")
        assert "otelcol: healthy" in started, started
        settings = load_settings(environ=environ)
        scrape = yaml.safe_load(printed(environ, "prometheus-scrape"))["scrape_configs"]
        target = f"127.0.0.1:{settings.otelcol_metrics_port}"
        # Phoenix's metrics are off natively unless asked: the fan-out is the only job.
        assert scrape == [{"job_name": JOB, "static_configs": [{"targets": [target]}]}], scrape
        rules = printed(environ, "prometheus-rules")
        assert f"> {int(QUEUE_PERCENT) / 100:g}" in rules
        short, holds = _with_short_holds(rules)
        prometheus = start_prometheus(tmp_path / "prometheus", scrape, short)
        try:
            _check_against(prometheus, environ, settings, target, holds)
        finally:
            prometheus.stop()
    finally:
        if invoke(environ, "down").returncode != 0:
            invoke(environ, "down", "--force")  # spans the overflow dropped cannot be confirmed written


def _firing(prometheus: PrometheusServer, name: str) -> dict[str, Any] | None:
    found = [a for a in prometheus.alerts() if a["labels"]["alertname"] == name and a["state"] == "firing"]
    return found[0] if found else None


def _named(prometheus: PrometheusServer, names: tuple[str, ...]) -> list[str]:
    """The alerts of `names` pending or firing now."""
    return [
        f"{a['labels']['alertname']} ({a['state']})" for a in prometheus.alerts() if a["labels"]["alertname"] in names
    ]


def _fanout_panels_without_data(prometheus: PrometheusServer, settings: Settings, watched: Watched) -> list[str]:
    """The titles of the dashboard's fan-out panels none of whose queries returns a series."""
    return [
        panel.title
        for row in monitoring.dashboard_rows(settings, watched)
        for panel in row.panels
        if panel.about == "fanout" and not any(prometheus.query(query.expr) for query in panel.queries)
    ]


def _queue_bytes(settings: Settings) -> float:
    """What the Collector's sending queue holds now, in bytes (sizer: bytes), read from its metrics endpoint."""
    return otelcol.metric_sum(otelcol.metrics(settings), "otelcol_exporter_queue_size", exporter=otelcol.EXPORTER_ID)


def _first_sample_at(
    prometheus: PrometheusServer, selector: str, since: float, hit: Callable[[float], bool] = lambda v: v > 0
) -> float:
    """When a series of `selector` first had a scraped sample `hit` takes, after `since`."""
    times = [
        float(at)
        for series in prometheus.query(f"{selector}[10m]")
        for at, value in series["values"]
        if float(at) >= since and hit(float(value))
    ]
    assert times, f"no sample of {selector} showing the failure since it began"
    return min(times)


def _measured(name: str, began: float, first_sample: float, alert: dict[str, Any], seen: float, cause: str) -> str:
    return (
        f"MEASURED {name}: {cause} at 0; first sample showing it scraped +{first_sample - began:.1f}s, "
        f"active (pending) +{timestamp(alert['activeAt']) - began:.1f}s, seen firing +{seen - began:.1f}s"
    )


def _check_against(
    prometheus: PrometheusServer, environ: dict[str, str], settings: Settings, target: str, holds: dict[str, str]
) -> None:
    poll(
        lambda: prometheus.query(f'up{{job="{JOB}"}} == 1') or None,
        60,
        f"Prometheus scraping the Collector (log: {prometheus.log_file})",
    )
    plan = Plan(runtime="native", components=("phoenix", JOB, "ai-demo"), skipped={})
    watched = monitoring.watched(settings, plan)
    assert (watched.fanout, watched.fanout_target, watched.phoenix_target) == (JOB, target, "")
    loaded = [
        rule["name"]
        for group in prometheus.api("rules")["groups"]
        for rule in group["rules"]
        if rule["type"] == "alerting"
    ]
    assert loaded == [rule.alert for rule in monitoring.rules(settings, watched)]
    measured: list[str] = []

    # --- healthy: the demo's chains through the Collector fire nothing, and every fan-out panel has data.
    invoke_ok(environ, "traffic", "--requests", "20")
    # The queue's batches leave within 200 ms; then a scrape and an evaluation to notice anything.
    quiet_until = time.monotonic() + 5 + 2 * (prometheus.scrape_interval + prometheus.evaluation_interval)
    while time.monotonic() < quiet_until:
        assert prometheus.alerts() == [], prometheus.alerts()
        time.sleep(0.5)
    # The Collector creates its failure counters at the first failure: the lost-spans panel has data only
    # once something was lost (checked at the end), every other fan-out panel has it now.
    names = sorted(set(re.findall(r"^(otelcol_(?:exporter|receiver)_\w+)", otelcol.metrics(settings), re.MULTILINE)))
    print(f"the Collector's exporter/receiver metrics after a healthy run: {names}")
    lost_panel = f"Spans the exporter lost (per {WINDOW})"
    assert _fanout_panels_without_data(prometheus, settings, watched) == [lost_panel]

    # --- Phoenix stopped while the demo goes on: the spans wait in the Collector's queue (a warning, nothing
    # lost yet: no critical fan-out alert, pending or firing).
    runtime = NativeRuntime(settings)
    assert runtime.stop("phoenix"), "Phoenix was not stopped"  # SIGTERM to its recorded PID
    outage = time.time()

    threshold = int(QUEUE_MIB) * 1024 * 1024 * int(QUEUE_PERCENT) / 100
    chains = 0
    while (queued := _queue_bytes(settings)) <= threshold:
        report = traffic.run_traffic(settings.ai_demo_url, 2, 1, 1, 0.0, progress=False)
        assert report.failed == 0, [record.error for record in report.records if not record.ok]
        chains += 2
        assert time.time() - outage < 120, f"the queue holds {queued:.0f} bytes after {chains} chains"
    print(f"Phoenix down: {chains} demo chains queued {queued:.0f} bytes (threshold {threshold:.0f})")

    def near_full_and_nothing_critical() -> dict[str, Any] | None:
        assert _named(prometheus, CRITICAL_FANOUT) == [], "a critical alert while the spans are only queued"
        return _firing(prometheus, "FanoutQueueNearFull")

    near_full = poll(near_full_and_nothing_critical, 300, "FanoutQueueNearFull firing while Phoenix is down")
    seen = time.time()
    assert near_full["labels"] | {"alertname": "x"} == {
        "alertname": "x",
        "job": JOB,
        "instance": target,
        "exporter": otelcol.EXPORTER_ID,
        "severity": "warning",
        "stack": "stackkit",
    }, near_full["labels"]
    assert f"({otelcol.EXPORTER_ID}): once full it drops spans" in near_full["annotations"]["summary"]
    assert "Diagnose: `invoke status`" in near_full["annotations"]["summary"]
    assert "invoke logs --service otelcol" in near_full["annotations"]["description"]
    first = _first_sample_at(
        prometheus, f'otelcol_exporter_queue_size{{job="{JOB}"}}', outage, lambda size: size > threshold
    )
    measured.append(
        _measured(
            "FanoutQueueNearFull", outage, first, near_full, seen, f"Phoenix stopped ({holds['FanoutQueueNearFull']})"
        )
    )

    # --- spans the full queue cannot take: a flood of small spans straight into the Collector's receiver.
    receiver = f"http://127.0.0.1:{settings.alloy_otlp_http_port}/v1/traces"
    flood = time.time()
    statuses = []
    body = raw_batch(100, padding=16 * 1024)  # 1.6 MB: ten fill the queue, and Phoenix writes them back in seconds
    for _ in range(50):
        answer = requests.post(receiver, data=body, headers={"Content-Type": "application/x-protobuf"}, timeout=30)
        statuses.append(answer.status_code)
        if answer.status_code != 200:
            break
    print(f"flood into the Collector: {len(statuses)} requests of 100 spans of 16 KiB: {statuses}")
    # The receiver hands spans straight to the queue: a full queue refuses the request with a retryable error.
    assert statuses[-1] == 503, statuses
    overflow = poll(lambda: _firing(prometheus, "FanoutQueueOverflow"), 60, "FanoutQueueOverflow firing")
    seen = time.time()
    assert overflow["labels"]["exporter"] == otelcol.EXPORTER_ID and overflow["labels"]["severity"] == "critical"
    assert "its sending queue is full" in overflow["annotations"]["summary"]
    first = _first_sample_at(prometheus, '{__name__=~"otelcol_exporter_enqueue_failed_spans(_total)?"}', flood)
    measured.append(
        _measured("FanoutQueueOverflow", flood, first, overflow, seen, f"flood began ({holds['FanoutQueueOverflow']})")
    )
    refusing = poll(lambda: _firing(prometheus, "FanoutRefusingSpans"), 60, "FanoutRefusingSpans firing")
    seen = time.time()
    assert refusing["labels"]["severity"] == "critical", refusing["labels"]
    assert "to their senders with a retryable error" in refusing["annotations"]["summary"]
    first = _first_sample_at(prometheus, '{__name__=~"otelcol_receiver_refused_spans(_total)?"}', flood)
    measured.append(
        _measured("FanoutRefusingSpans", flood, first, refusing, seen, f"flood began ({holds['FanoutRefusingSpans']})")
    )

    # --- Phoenix back: the queue drains and the warning resolves (the overflow's lost spans stay counted for
    # the rule's 5m window, so FanoutQueueOverflow stays until then: not waited for).
    runtime.start("phoenix", make_plan(runtime))
    back = time.time()
    health = wait_healthy(f"{settings.phoenix_url}/healthz", 120, lambda: runtime.state("phoenix").running)
    assert health.ok, "\n".join(runtime.logs("phoenix", tail=30))
    poll(
        lambda: None if _named(prometheus, ("FanoutQueueNearFull",)) else True,
        300,
        "FanoutQueueNearFull resolved after Phoenix came back",
    )
    resolved = time.time()
    assert _queue_bytes(settings) <= threshold
    measured.append(f"MEASURED FanoutQueueNearFull resolved +{resolved - back:.1f}s after Phoenix was started again")
    assert _named(prometheus, ("FanoutExportFailing", "FanoutMetricsDown")) == []

    # --- the Collector's key revoked: Phoenix answers 401, which the exporter does not retry: spans lost.
    stored = secrets.load(settings)
    auth.revoke(settings, stored, stored["PHOENIX_API_KEY_ID"])
    revoked = time.time()
    invoke_ok(environ, "traffic", "--requests", "3")
    failing = poll(lambda: _firing(prometheus, "FanoutExportFailing"), 60, "FanoutExportFailing firing")
    seen = time.time()
    assert failing["labels"]["exporter"] == otelcol.EXPORTER_ID and failing["labels"]["severity"] == "critical"
    assert f"to Phoenix in the last 5m ({otelcol.EXPORTER_ID}): they are lost" in failing["annotations"]["summary"]
    first = _first_sample_at(prometheus, '{__name__=~"otelcol_exporter_send_failed_spans(_total)?"}', revoked)
    measured.append(
        _measured("FanoutExportFailing", revoked, first, failing, seen, f"key revoked ({holds['FanoutExportFailing']})")
    )

    assert _fanout_panels_without_data(prometheus, settings, watched) == []

    # --- the Collector stopped: its metrics are gone, and so is every app's way to Phoenix.
    assert runtime.stop(JOB), "the Collector was not stopped"
    stopped = time.time()
    down = poll(lambda: _firing(prometheus, "FanoutMetricsDown"), 120, "FanoutMetricsDown firing")
    seen = time.time()
    assert down["labels"]["instance"] == target and down["labels"]["severity"] == "critical"
    assert f"at {target}: Alloy or the Collector is down" in down["annotations"]["summary"]
    first = _first_sample_at(prometheus, f'up{{job="{JOB}"}}', stopped, lambda up: up == 0)
    measured.append(
        _measured("FanoutMetricsDown", stopped, first, down, seen, f"Collector stopped ({holds['FanoutMetricsDown']})")
    )
    print(
        "\n".join(measured)
        + f"\n(scrape {prometheus.scrape_interval:g}s, evaluation {prometheus.evaluation_interval:g}s)"
    )
