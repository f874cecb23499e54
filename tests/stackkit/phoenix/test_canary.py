"""The stack's own spans (verify's canary, the drain's marker) never show in the user's project, and eval
scores exactly the demo's chains, on a real stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from isolation import isolated_environ
from reliability_helpers import invoke_ok, send_spans, wait_for_roots

from stackkit.core.settings import load_settings
from stackkit.phoenix.api import PhoenixClient
from stackkit.phoenix.canary import STACK_PROJECT

pytestmark = pytest.mark.phoenix


def test_canaries_and_drain_markers_leave_no_trace_and_eval_scores_only_demo_chains(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    try:
        invoke_ok(environ, "up")
        settings = load_settings(environ=environ)
        traffic = tmp_path / "traffic.json"
        invoke_ok(environ, "traffic", "--requests", "8", "--sessions", "2", "--save", str(traffic))
        # A span of the user's own in the demo's project: not a demo chain, so eval skips it and says so. Nothing
        # tells eval that app's spans have landed (only the demo flushes on request): wait until this one has.
        assert send_spans(settings.phoenix_url, settings.phoenix_project_name, 1) == 1
        assert wait_for_roots(settings.phoenix_url, settings.phoenix_project_name, "test-span", 1) == 1
        # traffic had the demo flush its exporter and recorded what it flushed: eval knows, without a quiet window.
        report = json.loads(invoke_ok(environ, "eval", "--json"))
        for _ in range(3):
            assert "canary" in invoke_ok(environ, "verify")
        invoke_ok(environ, "restart", "--service", "phoenix")  # drains with a marker span

        phoenix = PhoenixClient(settings.phoenix_url)
        projects = {project["name"] for project in phoenix.projects()}
        assert projects <= {"default", settings.phoenix_project_name, STACK_PROJECT}
        assert phoenix.spans(STACK_PROJECT) == [], "the stack's own spans are deleted once read"
        roots = phoenix.spans(settings.phoenix_project_name, parent_id="null", name="POST /chat")
        assert sorted(root["context"]["trace_id"] for root in roots) == sorted(
            json.loads(traffic.read_text())["trace_ids"]
        )
        assert all(root["name"] == "POST /chat" and root["status_code"] == "OK" for root in roots)

        assert report["chains"] == 8 and report["in_flight"] is False and report["flushed_chains"] == 8
        assert report["skipped"] == {"not a demo chain (root 'test-span')": 1}
        assert {name: rate["pass_rate"] for name, rate in report["evaluators"].items()} == {
            "answered": 1.0,
            "latency": 1.0,
            "tool_ok": 1.0,
        }
    finally:
        invoke_ok(environ, "down")
