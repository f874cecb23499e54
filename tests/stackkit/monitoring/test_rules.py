"""stackkit/monitoring/rules.py with Debian's real promtool and Prometheus: the rendered rules check and pass their
unit cases (tests/stackkit/fixtures/monitoring/rule-tests.yml, every rule firing and not firing), and a flood
fires the rejection alert in a real Prometheus scraping the real Phoenix."""

from __future__ import annotations

import dataclasses
import fcntl
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from isolation import invoke, isolated_environ
from monitoring_helpers import FIXTURES, WATCHED, poll, printed, timestamp, write_rules
from reliability_helpers import invoke_ok, post, raw_batch
from system import require

from stackkit import monitoring
from stackkit.components.component import Plan
from stackkit.core import ports
from stackkit.core.errors import UsageError
from stackkit.core.settings import Settings, SettingsError, load_settings, settings_from_given
from stackkit.phoenix import launch as phoenix_launch
from stackkit.phoenix import metrics as phoenix_metrics
from tools.local_prometheus import PrometheusServer, start_prometheus


def test_promtool_checks_the_rendered_rules(tmp_path: Path) -> None:
    promtool = require("promtool")["promtool"]
    rules = write_rules(tmp_path)
    result = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(monitoring.rules(settings_from_given({}), WATCHED)) + len(monitoring.recording_rules())
    assert f"SUCCESS: {count} rules found" in result.stdout


def test_every_rule_passes_its_unit_cases_in_promtool(tmp_path: Path) -> None:
    promtool = require("promtool")["promtool"]
    write_rules(tmp_path)
    shutil.copy(FIXTURES / "rule-tests.yml", tmp_path / "rule-tests.yml")
    result = subprocess.run(
        [promtool, "test", "rules", "rule-tests.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_unit_cases_see_every_rule_fire_and_stay_quiet() -> None:
    cases = yaml.safe_load((FIXTURES / "rule-tests.yml").read_text())["tests"]
    checks = [check for case in cases for check in case.get("alert_rule_test", [])]
    for rule in monitoring.rules(settings_from_given({}), WATCHED):
        outcomes = [bool(check["exp_alerts"]) for check in checks if check["alertname"] == rule.alert]
        assert True in outcomes, f"no case where {rule.alert} fires"
        assert False in outcomes, f"no case where {rule.alert} stays quiet"


def test_the_unit_cases_fail_when_a_threshold_moves(tmp_path: Path) -> None:
    """The fixture holds the defaults' consequences: other thresholds must break it (it can fail)."""
    promtool = require("promtool")["promtool"]
    write_rules(
        tmp_path,
        ALERT_QUEUE_PERCENT="90",
        ALERT_DEMO_ERROR_PERCENT="20",
        ALERT_TOOL_FAILURE_PERCENT="20",
        ALERT_LLM_ERROR_PERCENT="20",
        EVAL_LATENCY_THRESHOLD_MS="5000",
        ALERT_TOKEN_SURGE_FACTOR="20",
    )
    shutil.copy(FIXTURES / "rule-tests.yml", tmp_path / "rule-tests.yml")
    result = subprocess.run(
        [promtool, "test", "rules", "rule-tests.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    for alert in (
        "PhoenixSpanQueueNearFull",
        "FanoutQueueNearFull",
        "DemoErrorRateHigh",
        "LLMToolFailing",
        "LLMErrorRateHigh",
        "LLMLatencyHigh",
        "LLMTokenSurge",
    ):
        assert f"alertname: {alert}," in result.stdout + result.stderr


def test_every_recording_rule_has_a_unit_case() -> None:
    cases = yaml.safe_load((FIXTURES / "rule-tests.yml").read_text())["tests"]
    checked = [check["expr"] for case in cases for check in case.get("promql_expr_test", []) if check["exp_samples"]]
    for rule in monitoring.recording_rules():
        assert any(expr.startswith(rule.record) for expr in checked), f"no case computing {rule.record}"


def test_the_llm_thresholds_are_shares_below_100_percent_and_a_factor_above_1() -> None:
    for name, bad in (
        ("ALERT_TOOL_FAILURE_PERCENT", "100"),
        ("ALERT_LLM_ERROR_PERCENT", "0.5"),
        ("ALERT_TOKEN_SURGE_FACTOR", "1"),
    ):
        with pytest.raises(SettingsError, match=name):
            settings_from_given({name: bad})
    settings = settings_from_given(
        {
            "ALERT_TOOL_FAILURE_PERCENT": "25",
            "ALERT_LLM_ERROR_PERCENT": "2.5",
            "ALERT_TOKEN_SURGE_FACTOR": "4",
            "EVAL_LATENCY_THRESHOLD_MS": "900",
        }
    )
    exprs = {rule.alert: rule.expr for rule in monitoring.rules(settings, WATCHED)}
    assert exprs["LLMToolFailing"].endswith("> 0.25")
    assert exprs["LLMErrorRateHigh"].endswith("> 0.025")
    assert exprs["LLMLatencyHigh"].endswith("> 900")
    assert ") > 4 * (" in exprs["LLMTokenSurge"]


def test_thresholds_and_phoenix_queue_size_come_from_the_settings() -> None:
    settings = settings_from_given({"ALERT_QUEUE_PERCENT": "90", "ALERT_STORAGE_PERCENT": "70"})
    watched = dataclasses.replace(WATCHED, max_spans_queue=500)
    exprs = {rule.alert: rule.expr for rule in monitoring.rules(settings, watched)}
    assert exprs["PhoenixSpanQueueNearFull"].endswith("/ 500 > 0.9")
    assert exprs["FanoutQueueNearFull"].endswith("> 0.9")
    assert exprs["PhoenixStoreNearGuard"].endswith("> 0.7")
    assert exprs["DemoErrorRateHigh"].endswith("> 0.05")


def test_phoenix_queue_size_is_read_from_phoenix_own_setting(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state", PHOENIX_MAX_SPANS_QUEUE_SIZE="1000")
    result = invoke(environ, "render", "--print", "prometheus-rules")
    assert result.returncode == 0, result.stderr
    assert "max by (job, instance) (phoenix_span_queue_size) / 1000 > 0.8" in result.stdout
    bad = invoke(
        isolated_environ(tmp_path / "bad", PHOENIX_MAX_SPANS_QUEUE_SIZE="many"), "render", "--print", "prometheus-rules"
    )
    assert bad.returncode == 2
    assert "PHOENIX_MAX_SPANS_QUEUE_SIZE='many'" in bad.stderr and "Traceback" not in bad.stderr


def test_a_storage_alert_at_or_past_the_blocking_threshold_is_refused() -> None:
    with pytest.raises(SettingsError, match="ALERT_STORAGE_PERCENT=95: at or past"):
        settings_from_given(
            {"ALERT_STORAGE_PERCENT": "95", "PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES": "1"}
        )
    lower_guard = {
        "PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES": "10",
        "PHOENIX_DATABASE_USAGE_INSERTION_BLOCKING_THRESHOLD_PERCENTAGE": "75",
    }
    with pytest.raises(UsageError, match="PHOENIX_DATABASE_USAGE_INSERTION_BLOCKING_THRESHOLD_PERCENTAGE"):
        settings_from_given({"ALERT_STORAGE_PERCENT": "80", **lower_guard})
    # Without a storage capacity there is no guard to come before.
    settings_from_given({"ALERT_STORAGE_PERCENT": "99"})


def test_without_a_fanout_the_rules_do_not_expect_one() -> None:
    alone = dataclasses.replace(WATCHED, fanout="", fanout_target="")
    exprs = {rule.alert: rule.expr for rule in monitoring.rules(settings_from_given({}), alone)}
    assert "absent" not in exprs["FanoutMetricsDown"]
    assert 'absent(up{job="phoenix"})' in exprs["PhoenixMetricsDown"]


# --- a real Prometheus scraping the real Phoenix ------------------------------------------------------------------

FLOOD_QUEUE_SIZE = "1000"


def metrics_port_claimable() -> bool:
    """Port 9090 free and no Phoenix started by stackkit (in any state folder) holding its host-wide claim."""
    if not ports.is_free(phoenix_metrics.METRICS_PORT):
        return False
    with open(phoenix_launch.metrics_lock_path(), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(lock, fcntl.LOCK_UN)
    return True


def up_with_phoenix_metrics(environ: dict[str, str], settings: Settings, seconds: float) -> None:
    """`invoke up` with Phoenix's metrics on: other stacks on this host may hold port 9090 for a while (only
    one Phoenix can have it), so wait for it, and start again when another Phoenix took it first."""
    deadline = time.monotonic() + seconds
    while True:
        while not metrics_port_claimable():
            if time.monotonic() > deadline:
                pytest.skip(f"port 9090 stayed held (by {ports.holder(9090)}): the test needs Phoenix's metrics")
            time.sleep(2)
        invoke_ok(environ, "up")
        if "Phoenix's metrics on" in (settings.logs_dir / "phoenix.log").read_text():
            return
        invoke_ok(environ, "down")


@pytest.mark.phoenix
def test_a_flood_fires_the_rejection_alert_in_a_real_prometheus_and_a_healthy_run_fires_nothing(
    tmp_path: Path, metrics_port_turn: None
) -> None:
    require("prometheus")
    environ = isolated_environ(
        tmp_path / "state",
        PHOENIX_MAX_SPANS_QUEUE_SIZE=FLOOD_QUEUE_SIZE,
        STACK_PHOENIX_METRICS="true",  # natively off by default (Phoenix's [::]:9090)
        # With a capacity Phoenix measures its store, so the disk panels have real numbers.
        PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES="10",
    )
    try:
        settings = load_settings(environ=environ)
        up_with_phoenix_metrics(environ, settings, 600)
        scrape = yaml.safe_load(printed(environ, "prometheus-scrape"))["scrape_configs"]
        assert {"job_name": "phoenix", "static_configs": [{"targets": ["127.0.0.1:9090"]}]} in scrape
        rules = printed(environ, "prometheus-rules")
        assert f"/ {FLOOD_QUEUE_SIZE} > 0.8" in rules
        prometheus = start_prometheus(tmp_path / "prometheus", scrape, rules)
        try:
            _check_against(prometheus, environ, settings)
        finally:
            prometheus.stop()
    finally:
        invoke(environ, "down")


def _check_against(prometheus: PrometheusServer, environ: dict[str, str], settings: Settings) -> None:
    poll(
        lambda: prometheus.query('up{job="phoenix"} == 1') or None,
        60,
        f"Prometheus scraping Phoenix (log: {prometheus.log_file})",
    )
    loaded = [
        rule["name"]
        for group in prometheus.api("rules")["groups"]
        for rule in group["rules"]
        if rule["type"] == "alerting"
    ]
    watched = monitoring.watched(settings, Plan(runtime="native", components=("phoenix", "ai-demo"), skipped={}))
    assert loaded == [rule.alert for rule in monitoring.rules(settings, watched)]

    # A healthy run: the demo's 50 chains (~300 spans in a few batches) never fill a queue of 1000.
    invoke_ok(environ, "traffic", "--requests", "50")
    # The demo's batch processor exports every 5 s; then one scrape and one evaluation to notice anything.
    quiet_until = time.monotonic() + 5 + prometheus.scrape_interval + prometheus.evaluation_interval + 5
    while time.monotonic() < quiet_until:
        assert prometheus.alerts() == [], prometheus.alerts()
        time.sleep(0.5)
    signals = monitoring.signals(watched)
    # The demo's exports were counted under the path the panel reads (a rate: its first request is its base).
    assert prometheus.query(signals.phoenix_export_requests), "no export requests counted on /v1/traces"

    # A flood past the queue: concurrent export requests of 100 spans each.
    url = f"{settings.phoenix_url}/v1/traces"
    flood_started = time.time()
    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(lambda body: post(url, body), [raw_batch(100) for _ in range(120)]))
    rejected = codes.count(503)
    print(f"flood: {len(codes)} requests of 100 spans, {rejected} answered 503")
    assert rejected > 0 and set(codes) <= {200, 503}, codes

    def rejection_alert() -> dict[str, Any] | None:
        found = [a for a in prometheus.alerts() if a["labels"]["alertname"] == "PhoenixRejectingSpans"]
        return found[0] if found and found[0]["state"] == "firing" else None

    alert = poll(rejection_alert, 120, "PhoenixRejectingSpans firing")
    seen_firing = time.time()
    assert alert["labels"]["instance"] == "127.0.0.1:9090" and alert["labels"]["severity"] == "critical"
    assert "invoke verify" in alert["annotations"]["summary"]
    samples = prometheus.query("phoenix_span_queue_rejections_total[10m]")[0]["values"]
    first_seen = next(float(at) for at, value in samples if float(value) > 0)
    active_at = timestamp(alert["activeAt"])
    print(
        f"rejection alert: first 503 sample scraped {first_seen - flood_started:.1f}s after the flood began, "
        f"active {active_at - first_seen:.1f}s after that sample, seen firing {seen_firing - flood_started:.1f}s "
        f"after the flood began (for: 0s, scrape {prometheus.scrape_interval:g}s, "
        f"evaluation {prometheus.evaluation_interval:g}s)"
    )
    # The rule's `for:` is 0s: the first evaluation after the scrape that saw a rejection fires it.
    assert active_at - first_seen <= 2 * prometheus.evaluation_interval

    # Every panel's query runs; the ones about Phoenix have data (the fan-out and the demo's metrics reach a
    # Prometheus only through a fan-out, which this machine may not have).
    for row in monitoring.dashboard_rows(settings, watched):
        for panel in row.panels:
            results = [prometheus.query(query.expr) for query in panel.queries]
            if panel.about == "phoenix":
                assert any(results), f"{panel.title}: no data"
