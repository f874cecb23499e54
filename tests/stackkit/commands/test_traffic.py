"""Synthetic traffic: the plan (sessions, fail_tool), the report, and runs against the real demo app."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import uvicorn
from ai_demo.config import load_config
from ai_demo.service import create_app
from ai_demo.telemetry import Telemetry
from openinference.instrumentation import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.types import ASGIApp

from stackkit.commands.traffic import QUESTIONS, fail_tool_plan, format_report, percentile, run_traffic, session_ids_for


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """The app under a real uvicorn on a free port, in a thread of this process."""
    port = unused_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def demo() -> Iterator[tuple[str, InMemorySpanExporter]]:
    """The real demo app (offline provider, short tool timeout), its spans kept in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    config = load_config({"AI_DEMO_OTLP_ENDPOINT": "http://127.0.0.1:9", "AI_DEMO_TOOL_TIMEOUT": "0.05"})
    with serving(create_app(config, Telemetry(provider, None))) as url:
        yield url, exporter


@pytest.mark.parametrize(
    ("count", "ratio", "expected"),
    [(20, 0.25, 5), (20, 0.0, 0), (7, 1.0, 7), (100, 0.29, 29), (10, 0.1, 1), (3, 0.5, 1), (20, 1 / 3, 6)],
)
def test_fail_tool_count_is_exact(count: int, ratio: float, expected: int) -> None:
    assert sum(fail_tool_plan(count, ratio)) == expected


def test_fail_tool_requests_are_evenly_spaced() -> None:
    plan = fail_tool_plan(12, 0.25)
    assert [index for index, fails in enumerate(plan) if fails] == [3, 7, 11]


def test_percentile_is_nearest_rank() -> None:
    values = [float(value) for value in range(100, 0, -1)]
    assert (percentile(values, 0.5), percentile(values, 0.95)) == (50.0, 95.0)
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.5) is None


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match=r"requests=0.*fail_ratio=1\.5"):
        run_traffic("http://127.0.0.1:9", requests=0, fail_ratio=1.5, progress=False)


def test_traffic_against_the_demo(demo: tuple[str, InMemorySpanExporter], capsys: pytest.CaptureFixture) -> None:
    url, exporter = demo
    report = run_traffic(url, requests=12, sessions=3, concurrency=4, fail_ratio=0.25, run_id="t1")

    assert (report.sent, report.succeeded, report.failed, report.fail_tool_requested) == (12, 12, 0, 3)
    assert report.session_ids == tuple(session_ids_for(3, "t1")) == ("traffic-t1-1", "traffic-t1-2", "traffic-t1-3")
    for record in report.records:
        assert record.ok and record.status == 200
        assert record.session_id == report.session_ids[record.index % 3]
        assert record.user_id == f"user-{record.index % 3 + 1}"
        assert record.message == QUESTIONS[record.index % len(QUESTIONS)]
        assert record.fail_tool == (record.index in (3, 7, 11))
    assert len(set(report.trace_ids)) == 12 and all(re.fullmatch(r"[0-9a-f]{32}", t) for t in report.trace_ids)
    assert len(report.latencies_ms) == 12 and report.p50_ms <= report.p95_ms

    # What the demo recorded matches what was asked: sessions, and error spans for fail_tool only.
    spans_by_trace: dict[str, list] = {}
    for span in exporter.get_finished_spans():
        spans_by_trace.setdefault(format(span.context.trace_id, "032x"), []).append(span)
    for record in report.records:
        spans = spans_by_trace[record.trace_id]
        assert {span.attributes["session.id"] for span in spans} == {record.session_id}
        errors = [span for span in spans if span.name == "get_weather" and span.status.status_code.name == "ERROR"]
        assert len(errors) == (3 if record.fail_tool else 0)

    progress = capsys.readouterr().err
    assert progress.count("\r") == 13 and "12/12" in progress and progress.endswith("\n")


def test_no_progress_bar_when_asked(demo: tuple[str, InMemorySpanExporter], capsys: pytest.CaptureFixture) -> None:
    run_traffic(demo[0], requests=2, sessions=1, concurrency=1, progress=False)
    assert capsys.readouterr().err == ""


def test_unreachable_service_is_reported_not_raised() -> None:
    report = run_traffic(f"http://127.0.0.1:{unused_port()}", requests=3, sessions=2, progress=False, timeout=2)
    assert (report.sent, report.succeeded, report.failed) == (3, 0, 3)
    assert report.p50_ms is None and report.trace_ids == ()
    assert all(record.status is None and "ConnectionError" in record.error for record in report.records)
    text = format_report(report)
    assert "0 succeeded, 3 failed" in text and "p50 n/a" in text and "failed request 0: ConnectionError" in text


def test_http_errors_are_reported() -> None:
    class Failing(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(500)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"oops")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        report = run_traffic(f"http://127.0.0.1:{server.server_address[1]}", requests=2, progress=False)
    finally:
        server.shutdown()
        server.server_close()
    assert report.failed == 2 and [record.error for record in report.records] == ["HTTP 500: oops"] * 2


def test_format_report_lists_trace_ids(demo: tuple[str, InMemorySpanExporter]) -> None:
    report = run_traffic(demo[0], requests=12, sessions=2, concurrency=3, fail_ratio=0.5, progress=False)
    text = format_report(report, max_trace_ids=4)
    assert "12 succeeded, 0 failed (6 asked the tool to fail)" in text
    assert f"p50 {report.p50_ms:.0f} ms, p95 {report.p95_ms:.0f} ms" in text
    assert ", ".join(report.session_ids) in text
    assert "trace ids (12):" in text and "... and 8 more" in text
    for record in report.records[:4]:
        assert f"{record.trace_id}  {record.session_id}" in text
    assert f"{report.records[1].trace_id}  {report.records[1].session_id}  fail_tool" in text
