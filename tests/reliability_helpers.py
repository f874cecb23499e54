"""Helpers of the reliability tests: `invoke` as the user runs it, and spans sent the way an app sends
them (OpenTelemetry SDK, OTLP/HTTP exporter straight to Phoenix's /v1/traces), counted at every step:
created, acknowledged by Phoenix (HTTP 200), read back."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from secrets import token_bytes

import requests
from isolation import invoke
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from stackkit.phoenix.api import PhoenixClient


def raw_batch(spans: int, padding: int = 0) -> bytes:
    """One OTLP/HTTP export request body holding `spans` minimal spans of one new trace, each with an attribute
    of `padding` bytes when given (to fill a queue sized in bytes)."""
    trace_id, now = token_bytes(16), time.time_ns()
    body = [Span(trace_id=trace_id, span_id=token_bytes(8), name="flood") for _ in range(spans)]
    for span in body:
        span.start_time_unix_nano, span.end_time_unix_nano = now, now + 1000
        if padding:
            span.attributes.append(KeyValue(key="padding", value=AnyValue(string_value="x" * padding)))
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=body)])]
    ).SerializeToString()


def post(url: str, body: bytes) -> int:
    """POST one export request body to Phoenix's /v1/traces; its HTTP status."""
    return requests.post(url, data=body, headers={"Content-Type": "application/x-protobuf"}, timeout=30).status_code


def invoke_ok(environ: dict[str, str], *args: str) -> str:
    """Run an invoke task that must succeed; its output (stdout then stderr)."""
    result = invoke(environ, *args)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"invoke {' '.join(args)} failed:\n{output}"
    return output


class CountingExporter(SpanExporter):
    """Counts the spans Phoenix acknowledged and the ones whose export failed (after the SDK's retries)."""

    def __init__(self, inner: SpanExporter):
        self.inner = inner
        self.acknowledged = 0
        self.failed = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self.acknowledged += len(spans)
            else:
                self.failed += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class SpanSender:
    """A tracer provider exporting in batches to Phoenix; `created` counts every span ended."""

    def __init__(self, phoenix_url: str, project: str):
        self.exporter = CountingExporter(OTLPSpanExporter(endpoint=f"{phoenix_url}/v1/traces"))
        self.provider = TracerProvider(resource=Resource({"openinference.project.name": project}))
        # A queue large enough that the SDK itself never drops a span: loss measured is the wire's.
        self.provider.add_span_processor(
            BatchSpanProcessor(self.exporter, max_queue_size=100_000, schedule_delay_millis=200)
        )
        self.tracer = self.provider.get_tracer("stackkit-tests")
        self.created = 0

    def send(self, count: int) -> None:
        for _ in range(count):
            with self.tracer.start_as_current_span("test-span", attributes={"test.sequence": self.created}):
                pass
            self.created += 1

    def flush(self) -> None:
        self.provider.force_flush(timeout_millis=120_000)

    def close(self) -> None:
        self.provider.shutdown()

    @property
    def lost_on_the_wire(self) -> int:
        return self.created - self.exporter.acknowledged


def send_spans(phoenix_url: str, project: str, count: int) -> int:
    """Send `count` spans and wait until each export is answered; returns how many Phoenix acknowledged."""
    sender = SpanSender(phoenix_url, project)
    try:
        sender.send(count)
        sender.flush()
        return sender.exporter.acknowledged
    finally:
        sender.close()


def count_spans(phoenix_url: str, project: str) -> int:
    return len(PhoenixClient(phoenix_url, timeout=60).spans(project))


def wait_for_count(phoenix_url: str, project: str, expected: int, timeout: float = 120) -> int:
    """Poll until the project holds at least `expected` spans (Phoenix answers before it writes);
    returns the last count, which the caller compares."""
    deadline = time.monotonic() + timeout
    while True:
        count = count_spans(phoenix_url, project)
        if count >= expected or time.monotonic() >= deadline:
            return count
        time.sleep(0.5)


def wait_for_roots(phoenix_url: str, project: str, name: str, expected: int, timeout: float = 60) -> int:
    """Poll until the project holds `expected` root spans called `name`; returns the last count."""
    client = PhoenixClient(phoenix_url, timeout=60)
    deadline = time.monotonic() + timeout
    while True:
        count = len(client.spans(project, parent_id="null", name=name))
        if count >= expected or time.monotonic() >= deadline:
            return count
        time.sleep(0.5)
