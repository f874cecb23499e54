"""The three pieces `invoke render --print` prints: the rules, the scrape jobs and the dashboard, as text."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import jinja2

from stackkit.core.settings import Settings
from stackkit.monitoring.dashboard import dashboard
from stackkit.monitoring.rules import recording_rules, rules
from stackkit.monitoring.targets import PHOENIX_JOB, Watched, watched
from stackkit.stack import lifecycle

PROMETHEUS_DIR = "prometheus"
PRINTABLE = ("prometheus-rules", "prometheus-scrape", "grafana-dashboard")


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
        for name in (
            "ALERT_QUEUE_PERCENT",
            "ALERT_STORAGE_PERCENT",
            "ALERT_DEMO_ERROR_PERCENT",
            "ALERT_TOOL_FAILURE_PERCENT",
            "ALERT_LLM_ERROR_PERCENT",
            "ALERT_TOKEN_SURGE_FACTOR",
            "EVAL_LATENCY_THRESHOLD_MS",
        )
    )
    return (
        _templates(settings)
        .get_template("rules.yml.j2")
        .render(rules=rules(settings, watched), recording_rules=recording_rules(), thresholds=thresholds)
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
