"""The demo for real (uvicorn in a subprocess) against a real Phoenix, read back through its REST API."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from stackkit.commands.traffic import run_traffic
from stackkit.core.health import wait_healthy
from stackkit.core.settings import REPO_ROOT, Settings
from stackkit.phoenix.api import PhoenixClient

pytestmark = pytest.mark.phoenix

DEMO_APP_DIR = REPO_ROOT / "services" / "ai-demo"
SPANS_PER_CHAT = 5  # POST /chat, chat, plan, get_weather, synthesize
TOOL_RETRIES = 2


@dataclass(frozen=True)
class Demo:
    process: subprocess.Popen
    url: str
    log: Path


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_demo(tmp_path: Path, phoenix_url: str, project: str, **extra_env: str) -> Iterator[Demo]:
    """The native runtime's command line, with the environment render.py writes; stopped by PID."""
    port = unused_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PHOENIX_", "AI_DEMO_", "OTEL_"))}
    env |= {
        "AI_DEMO_OTLP_ENDPOINT": phoenix_url,
        "AI_DEMO_EXPORT_METRICS": "false",  # Phoenix takes traces only
        "AI_DEMO_PROJECT_NAME": project,
        "AI_DEMO_LLM_PROVIDER": "offline",
        "AI_DEMO_TOOL_TIMEOUT": "0.2",
        "AI_DEMO_TOOL_MAX_RETRIES": str(TOOL_RETRIES),
        **extra_env,
    }
    command = [sys.executable, "-m", "uvicorn", "ai_demo.app:app", "--app-dir", str(DEMO_APP_DIR)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / f"{project}.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        health = wait_healthy(f"{url}/healthz", timeout=60, still_running=lambda: process.poll() is None)
        if not health.ok:
            pytest.fail(f"the demo did not start: {health.detail}\n{log.read_text()[-3000:]}")
        yield Demo(process, url, log)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def unique_project(purpose: str) -> str:
    return f"demo-{purpose}-{uuid.uuid4().hex[:8]}"


def of_kind(spans: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [span for span in spans if span["span_kind"] == kind]


def test_traffic_lands_in_phoenix_as_readable_traces(
    phoenix: PhoenixClient, phoenix_settings: Settings, tmp_path: Path
) -> None:
    project = unique_project("traffic")
    with running_demo(tmp_path, phoenix_settings.phoenix_url, project) as demo:
        report = run_traffic(demo.url, requests=20, sessions=3, concurrency=4, fail_ratio=0.25, progress=False)
        assert (report.sent, report.succeeded, report.failed) == (20, 20, 0)
        failing = [record.trace_id for record in report.records if record.fail_tool]
        assert len(failing) == 5
        # Read back from Phoenix itself, while the demo runs: the exporter's 200 proves nothing.
        phoenix.wait_for_traces(project, failing, timeout=60, min_spans_per_trace=SPANS_PER_CHAT + TOOL_RETRIES)
        by_trace = phoenix.wait_for_traces(project, report.trace_ids, timeout=60, min_spans_per_trace=SPANS_PER_CHAT)

    assert set(by_trace) == set(report.trace_ids) and len(by_trace) == 20
    sessions_seen = set()
    for record in report.records:
        spans = by_trace[record.trace_id]
        roots = [span for span in spans if span["parent_id"] is None]
        assert [root["span_kind"] for root in roots] == ["CHAIN"], record
        assert roots[0]["attributes"]["input.value"] == record.message
        llm_spans = of_kind(spans, "LLM")
        assert len(llm_spans) == 2
        for llm in llm_spans:
            attributes = llm["attributes"]
            assert attributes["llm.token_count.total"] > 0
            assert attributes["llm.token_count.total"] == (
                attributes["llm.token_count.prompt"] + attributes["llm.token_count.completion"]
            )
        tool_spans = of_kind(spans, "TOOL")
        assert len(tool_spans) >= 1
        for span in spans:
            assert span["attributes"]["session.id"] == record.session_id
            assert span["attributes"]["user.id"] == record.user_id
        sessions_seen.add(record.session_id)
        if record.fail_tool:
            assert len(tool_spans) == 1 + TOOL_RETRIES
            for tool in tool_spans:
                assert tool["status_code"] == "ERROR"
                assert "exception" in [event["name"] for event in tool["events"]]
        else:
            assert [tool["status_code"] for tool in tool_spans] == ["OK"]
    assert sessions_seen == set(report.session_ids) and len(sessions_seen) == 3


def test_sigterm_flushes_the_last_requests_spans(
    phoenix: PhoenixClient, phoenix_settings: Settings, tmp_path: Path
) -> None:
    project = unique_project("sigterm")
    # A one-minute batch delay: the spans can only reach Phoenix through the flush at shutdown.
    with running_demo(tmp_path, phoenix_settings.phoenix_url, project, OTEL_BSP_SCHEDULE_DELAY="60000") as demo:
        response = requests.post(f"{demo.url}/chat", json={"message": "Weather in Lisbon?"}, timeout=10)
        trace_id = response.json()["trace_id"]
        demo.process.send_signal(signal.SIGTERM)
        # Uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is a clean exit too.
        assert demo.process.wait(timeout=30) in (0, -signal.SIGTERM)

    by_trace = phoenix.wait_for_traces(project, [trace_id], timeout=30, min_spans_per_trace=SPANS_PER_CHAT)
    assert len(by_trace[trace_id]) == SPANS_PER_CHAT
    assert "traces flushed on shutdown" in demo.log.read_text()
