"""stackkit/monitoring/targets.py: the scrape targets follow the runtime, the plan and the external settings."""

from __future__ import annotations

from pathlib import Path

import yaml

from stackkit import monitoring
from stackkit.components.component import Plan
from stackkit.core.settings import settings_from_given


def test_scrape_targets_follow_the_runtime(tmp_path: Path) -> None:
    settings = settings_from_given({"ALLOY_UI_PORT": "12999", "STACK_NETWORK": "obs"})
    docker = monitoring.watched(
        settings, Plan(runtime="docker", components=("phoenix", "alloy", "ai-demo"), skipped={})
    )
    assert (docker.phoenix_target, docker.fanout, docker.fanout_target) == ("phoenix:9090", "alloy", "alloy:12345")
    assert any("docker network connect obs" in note for note in docker.notes)
    native = monitoring.watched(
        settings, Plan(runtime="native", components=("phoenix", "alloy", "ai-demo"), skipped={})
    )
    assert (native.fanout, native.fanout_target) == ("alloy", "127.0.0.1:12999")
    alone = monitoring.watched(settings, Plan(runtime="native", components=("phoenix", "ai-demo"), skipped={}))
    assert alone.fanout_target == "" and any("No fan-out" in note for note in alone.notes)
    external = settings_from_given(
        {"PHOENIX_EXTERNAL_URL": "https://phoenix.example.com", "ALLOY_EXTERNAL_URL": "http://alloy.example.com:12345"}
    )
    plan = Plan(
        runtime="native",
        components=("ai-demo",),
        skipped={},
        external={"phoenix": "https://phoenix.example.com", "alloy": "http://alloy.example.com:12345"},
    )
    outside = monitoring.watched(external, plan)
    assert outside.phoenix_target == "" and any("PHOENIX_EXTERNAL_URL" in note for note in outside.notes)
    assert outside.fanout_target == "alloy.example.com:12345"
    text = monitoring.scrape_text(settings, docker)
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in yaml.safe_load(text)["scrape_configs"]}
    assert jobs == {"phoenix": ["phoenix:9090"], "alloy": ["alloy:12345"]}


def test_the_collector_is_scraped_where_it_serves_its_metrics() -> None:
    settings = settings_from_given({"STACK_COLLECTOR": "otelcol", "OTELCOL_METRICS_PORT": "18888"})
    both = ("phoenix", "otelcol", "ai-demo")
    native = monitoring.watched(settings, Plan(runtime="native", components=both, skipped={}))
    assert (native.fanout, native.fanout_target) == ("otelcol", "127.0.0.1:18888")
    docker = monitoring.watched(settings, Plan(runtime="docker", components=both, skipped={}))
    assert (docker.fanout, docker.fanout_target) == ("otelcol", "otelcol:8888")
    jobs = {job["job_name"] for job in yaml.safe_load(monitoring.scrape_text(settings, docker))["scrape_configs"]}
    assert jobs == {"phoenix", "otelcol"}
