"""The stack watches itself: alert rules, scrape jobs and a Grafana dashboard for a Prometheus and Grafana the
user already runs (`invoke render --print prometheus-rules | prometheus-scrape | grafana-dashboard`).

Every number that says a trace was lost, or is about to be, is declared once as a PromQL expression
(`signals.Signals`); the alert rules (`rules`) compare those expressions with the thresholds (ALERT_* settings)
and the dashboard's panels (`dashboard`) plot the very same expressions, so what pages and what is drawn cannot
drift apart. `targets` is what the user's Prometheus scrapes for the stack as a plan runs it; `text` renders the
three pieces (the rules through stacks/prometheus/rules.yml.j2, the scrape jobs through scrape.yml.j2).

The fan-out is Alloy or the upstream Collector: both export the Collector's `otelcol_*` metrics, Alloy
labelled `component_id=...` with counters named `..._total`, the Collector (v0.165) `exporter=...`/
`receiver=...` with counters named without `_total`. Every selector matches both names and every aggregation
keeps both label sets, so one rule covers either; its scrape job is named after it (`alloy` or `otelcol`) and
the rules match both job names.

This package's modules import downwards only (targets <- signals <- rules, dashboard <- text); this file
names what the rest of stackkit uses.
"""

from __future__ import annotations

from stackkit.monitoring.dashboard import DASHBOARD_UID, dashboard, dashboard_rows
from stackkit.monitoring.rules import RecordingRule, Rule, recording_rules, rules
from stackkit.monitoring.signals import COST_RECORD, Signals, signals
from stackkit.monitoring.targets import PHOENIX_DEFAULT_MAX_SPANS_QUEUE, PHOENIX_JOB, Watched, watched
from stackkit.monitoring.text import PRINTABLE, dashboard_text, printed, rules_text, scrape_text

__all__ = [
    "COST_RECORD",
    "DASHBOARD_UID",
    "PHOENIX_DEFAULT_MAX_SPANS_QUEUE",
    "PHOENIX_JOB",
    "PRINTABLE",
    "RecordingRule",
    "Rule",
    "Signals",
    "Watched",
    "dashboard",
    "dashboard_rows",
    "dashboard_text",
    "printed",
    "recording_rules",
    "rules",
    "rules_text",
    "scrape_text",
    "signals",
    "watched",
]
