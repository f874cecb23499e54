"""Backpressure for real: the upstream Collector (STACK_COLLECTOR=otelcol, native) with a 1 MiB queue in front of a
frozen Phoenix (SIGSTOP to its PID). The receiver hands spans straight to the exporter's on-disk queue (batching is
in the queue), so a full queue refuses the export request with HTTP 503 (retryable) and counts the spans in
otelcol_receiver_refused_spans; every request answered 200 lands once Phoenix is resumed; the demo's exporter sees
the refusals, retries, and counts what it finally could not export, and `invoke traffic` says how many."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from collector_helpers import collector_binary
from isolation import invoke, isolated_environ
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from reliability_helpers import raw_batch

from stackkit.components import otelcol
from stackkit.core.settings import Settings, load_settings
from stackkit.demo import flush as demo_flush
from stackkit.phoenix.api import PhoenixClient
from stackkit.runtimes.native import NativeRuntime

pytestmark = pytest.mark.phoenix

SPANS_PER_REQUEST = 20
PADDING = 4096  # ~85 KB a request: a dozen fill the 1 MiB queue
MAX_REQUESTS = 200
REFUSALS_WANTED = 5
PROJECT = "default"  # raw OTLP without a project attribute lands in Phoenix's default project


def _trace_id(body: bytes) -> str:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    return request.resource_spans[0].scope_spans[0].spans[0].trace_id.hex()


def _metric(settings: Settings, name: str, **labels: str) -> float:
    return otelcol.metric_sum(otelcol.metrics(settings), name, **labels)


def _poll(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout:g}s: {what}")


@pytest.fixture
def environ(tmp_path: Path) -> Iterator[dict[str, str]]:
    collector_binary()
    # No metrics leg: the test is about traces (PROMETHEUS_REMOTE_WRITE_URL empty: the Collector drops metrics).
    environ = isolated_environ(
        tmp_path / "state", STACK_COLLECTOR="otelcol", ALLOY_QUEUE_MIB="1", PROMETHEUS_REMOTE_WRITE_URL=""
    )
    started = invoke(environ, "up")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "otelcol: healthy" in started.stdout, started.stdout
        yield environ
    finally:
        settings = load_settings(environ=environ)
        if (pid := NativeRuntime(settings).pid("phoenix")) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)  # never leave a frozen Phoenix behind
        if invoke(environ, "down").returncode != 0:
            invoke(environ, "down", "--force")


def test_a_full_queue_refuses_with_503_and_every_accepted_span_lands(environ: dict[str, str]) -> None:
    settings = load_settings(environ=environ)
    phoenix_pid = NativeRuntime(settings).pid("phoenix")
    assert phoenix_pid is not None
    receiver = f"http://127.0.0.1:{settings.alloy_otlp_http_port}/v1/traces"
    os.kill(phoenix_pid, signal.SIGSTOP)
    accepted: list[str] = []
    accepted_single: list[str] = []
    statuses: list[int] = []
    try:
        # --- the flood: the queue fills (Phoenix takes nothing), then requests are refused, not dropped.
        for _ in range(MAX_REQUESTS):
            body = raw_batch(SPANS_PER_REQUEST, padding=PADDING)
            answer = requests.post(receiver, data=body, headers={"Content-Type": "application/x-protobuf"}, timeout=30)
            statuses.append(answer.status_code)
            if answer.status_code == 200:
                accepted.append(_trace_id(body))
            if statuses.count(503) >= REFUSALS_WANTED:
                break
        # The room left is less than a big request: fill it with one-span requests until even one is refused, so
        # that the demo's small exports below find no room either.
        tiny_accepted = tiny_refused = 0
        for padding in (PADDING // 20, 0):  # ~4 KB, then ~100 bytes a request: the room left shrinks to nothing
            for _ in range(MAX_REQUESTS):
                body = raw_batch(1, padding=padding)
                answer = requests.post(
                    receiver, data=body, headers={"Content-Type": "application/x-protobuf"}, timeout=30
                )
                if answer.status_code != 200:
                    assert answer.status_code == 503, answer.status_code
                    tiny_refused += 1
                    break
                tiny_accepted += 1
                accepted_single.append(_trace_id(body))
            else:
                raise AssertionError(f"{MAX_REQUESTS} one-span requests of {padding} bytes all fit in the full queue")
        refused_requests = statuses.count(503)
        print(
            f"flood into a 1 MiB queue, Phoenix frozen: {len(statuses)} requests, {len(accepted)} answered 200, "
            f"{refused_requests} answered 503; then {tiny_accepted} one-span requests fit before one was refused"
        )
        assert set(statuses) <= {200, 503}, statuses
        assert refused_requests == REFUSALS_WANTED, statuses
        assert accepted, "the queue took nothing"
        refused = _metric(settings, "otelcol_receiver_refused_spans", receiver="otlp")
        not_queued = _metric(settings, "otelcol_exporter_enqueue_failed_spans", exporter=otelcol.EXPORTER_ID)
        assert refused == refused_requests * SPANS_PER_REQUEST + tiny_refused, (refused, statuses)
        assert not_queued == refused, (not_queued, refused)  # every span the queue could not take was refused

        # --- the demo through the same full queue: its exporter retries the 503s, then counts what it drops.
        before = demo_flush.counts(settings.ai_demo_url)
        assert before is not None, "the demo does not report its span counts"
        traffic = invoke(environ, "traffic", "--requests", "4", "--concurrency", "2")
        output = traffic.stdout + traffic.stderr
        print(output)
        assert traffic.returncode == 1, output
        assert "could not be exported" in output or "did not finish exporting" in output, output

        def settled() -> demo_flush.SpanCounts | None:
            now = demo_flush.counts(settings.ai_demo_url)
            return now if now is not None and now.ended > before.ended and now.not_exported == now.failed else None

        after = _poll(settled, 60, "the demo's exporter finished with every span it ended") - before
        print(f"the demo while the queue was full: {after}")
        assert after.failed > 0 and after.exported + after.failed == after.ended, after
    finally:
        os.kill(phoenix_pid, signal.SIGCONT)

    # --- Phoenix resumed: every span answered 200 was on disk and lands.
    client = PhoenixClient(settings.phoenix_url)
    by_trace = client.wait_for_traces(PROJECT, accepted, 120, min_spans_per_trace=SPANS_PER_REQUEST)
    landed = [trace_id for trace_id, spans in by_trace.items() if len(spans) >= SPANS_PER_REQUEST]
    singles = client.wait_for_traces(PROJECT, accepted_single, 60, min_spans_per_trace=1)
    landed_single = [trace_id for trace_id, spans in singles.items() if spans]
    print(f"after Phoenix resumed: {len(landed)} of {len(accepted)} accepted flood traces landed, "
          f"{len(landed_single)} of {len(accepted_single)} one-span ones")  # fmt: skip
    assert len(landed) == len(accepted)
    assert len(landed_single) == len(accepted_single)

    # --- verify says what the counters say: refused to the senders with a retryable error.
    result = invoke(environ, "verify", "--json")
    checks = {check["id"]: check for check in json.loads(result.stdout)}
    queue = checks["otelcol.queue"]
    print(queue)
    assert queue["status"] == "fail", queue
    assert "the receiver refused" in queue["summary"] and "with a retryable error" in queue["summary"], queue
