"""stackkit/monitoring/dashboard.py: the dashboard is declared from the same expressions as the rules
(stackkit/monitoring/signals.py) and is provisioning-ready."""

from __future__ import annotations

import dataclasses
import json

from monitoring_helpers import WATCHED

from stackkit import monitoring
from stackkit.core.settings import settings_from_given


def test_the_dashboard_plots_the_expressions_the_rules_use() -> None:
    settings = settings_from_given({})
    declared = set(dataclasses.asdict(monitoring.signals(WATCHED)).values())
    rows = monitoring.dashboard_rows(settings, WATCHED)
    plotted = {query.expr for row in rows for panel in row.panels for query in panel.queries}
    assert plotted <= declared, plotted - declared
    for rule in monitoring.rules(settings, WATCHED):
        assert any(expr in rule.expr for expr in declared), rule.alert


def test_the_dashboard_is_provisioning_ready_with_the_datasource_a_variable() -> None:
    board = json.loads(monitoring.dashboard_text(settings_from_given({}), WATCHED))
    assert "id" not in board and board["uid"] == monitoring.DASHBOARD_UID
    variables = board["templating"]["list"]
    assert [(v["name"], v["type"], v["query"]) for v in variables] == [("datasource", "datasource", "prometheus")]
    panels = [panel for panel in board["panels"] if panel["type"] != "row"]
    titles = [panel["title"] for panel in panels]
    assert len(titles) == len(set(titles))
    cells: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        area = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        assert grid["x"] + grid["w"] <= 24
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert "invoke " in panel["description"] or "PROMETHEUS_REMOTE_WRITE_URL" in panel["description"], panel
        assert panel["targets"] and all(target["expr"] for target in panel["targets"])
        assert all(target["datasource"]["uid"] == "${datasource}" for target in panel["targets"])
    sections = [panel["title"] for panel in board["panels"] if panel["type"] == "row"]
    assert sections == [
        "Is it watched",
        "Phoenix ingest",
        "Phoenix store",
        "Fan-out (Alloy or the Collector)",
        "AI demo",
        "LLM usage",
    ]
