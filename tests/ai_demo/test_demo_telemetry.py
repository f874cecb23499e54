"""Telemetry against a local OTLP/HTTP receiver: paths, headers, project, processors, metrics, shutdown."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ai_demo import telemetry as telemetry_module
from ai_demo.config import DemoConfig, load_config
from ai_demo.providers import OpenAIProvider
from ai_demo.telemetry import DemoMetrics, setup_telemetry
from demo_helpers import OPENAI_ANSWER, LocalHttpServer, Received
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.trace import NoOpTracer

Start = Callable[[Callable[[Received], tuple[int, bytes]]], LocalHttpServer]
LEAKY_ENVIRONMENT = {
    "PHOENIX_API_KEY": "leaked-key",
    "PHOENIX_CLIENT_HEADERS": "authorization=Bearer leaked-header",
    "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer leaked-otel",
    "PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:1",
    "PHOENIX_PROJECT_NAME": "wrong-project",
}


@pytest.fixture
def collector(local_http: Start) -> LocalHttpServer:
    """A local OTLP/HTTP receiver that accepts everything, like Phoenix or Alloy would."""
    return local_http(lambda request: (200, b""))


def demo_config(collector: LocalHttpServer, **overrides: str) -> DemoConfig:
    return load_config({"AI_DEMO_OTLP_ENDPOINT": collector.url, "AI_DEMO_PROJECT_NAME": "telemetry-test", **overrides})


def attributes_of(key_values: list[KeyValue]) -> dict[str, Any]:
    values = {}
    for key_value in key_values:
        which = key_value.value.WhichOneof("value")
        values[key_value.key] = getattr(key_value.value, which)
    return values


def exported_spans(collector: LocalHttpServer) -> list[tuple[dict[str, Any], Any]]:
    """(resource attributes, span) of every span received on /v1/traces."""
    spans = []
    for request in collector.received:
        if request.path == "/v1/traces":
            for resource_spans in ExportTraceServiceRequest.FromString(request.body).resource_spans:
                resource = attributes_of(resource_spans.resource.attributes)
                spans += [(resource, span) for scope in resource_spans.scope_spans for span in scope.spans]
    return spans


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_traces_go_to_base_v1_traces_in_the_configured_project(
    collector: LocalHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in LEAKY_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    telemetry = setup_telemetry(demo_config(collector))
    with telemetry.tracer.start_as_current_span("probe"):
        pass
    telemetry.shutdown()

    [(resource, span)] = exported_spans(collector)
    assert span.name == "probe"
    assert resource["openinference.project.name"] == "telemetry-test"
    assert resource["service.name"] == "ai-demo"
    [request] = collector.received
    assert request.headers["content-type"] == "application/x-protobuf"
    # No key configured: no authorization header at all, whatever the environment holds.
    assert "authorization" not in request.headers
    # The variables hidden while the exporters were built are back.
    assert {name: os.environ[name] for name in LEAKY_ENVIRONMENT} == LEAKY_ENVIRONMENT
    assert "PHOENIX_DISCOVER_CONFIG" not in os.environ


def test_the_configured_key_is_the_only_authorization(
    collector: LocalHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOENIX_API_KEY", "leaked-key")
    telemetry = setup_telemetry(demo_config(collector, AI_DEMO_PHOENIX_API_KEY="the-key"))
    with telemetry.tracer.start_as_current_span("probe"):
        pass
    telemetry.shutdown()
    [request] = collector.received
    assert request.headers["authorization"] == "Bearer the-key"


def test_batch_processor_holds_spans_until_flushed(collector: LocalHttpServer) -> None:
    telemetry = setup_telemetry(demo_config(collector, OTEL_BSP_SCHEDULE_DELAY="60000"))
    with telemetry.tracer.start_as_current_span("held"):
        pass
    time.sleep(0.5)
    assert collector.received == []  # still in the batch (a one-minute schedule)
    telemetry.shutdown()
    assert [span.name for _, span in exported_spans(collector)] == ["held"]


def test_a_lone_requests_spans_leave_together_without_a_flush(collector: LocalHttpServer) -> None:
    telemetry = setup_telemetry(demo_config(collector))
    with telemetry.tracer.start_as_current_span("request"):
        for step in ("plan", "get_weather", "synthesize"):
            with telemetry.tracer.start_as_current_span(step):
                pass
    # The SDK's default schedule (5 s) would still hold them; the demo's (0.5 s) has sent them, in one export.
    assert wait_for(lambda: len(exported_spans(collector)) == 4, timeout=4.0)
    assert len(collector.received) == 1
    telemetry.shutdown()


def test_under_load_a_full_batch_leaves_at_once(collector: LocalHttpServer) -> None:
    """The schedule is short, the batch size is not: 1,100 spans ended at once go as 512 + 512 + 76 (three
    exports), not as one export per schedule tick."""
    telemetry = setup_telemetry(demo_config(collector, OTEL_BSP_SCHEDULE_DELAY="60000"))
    for number in range(1_100):
        with telemetry.tracer.start_as_current_span(f"span-{number}"):
            pass
    assert wait_for(lambda: len(exported_spans(collector)) >= 1_024, timeout=10.0)  # no tick within a minute
    telemetry.shutdown()
    exports = [ExportTraceServiceRequest.FromString(request.body) for request in collector.received]
    sizes = [
        sum(len(scope.spans) for spans in export.resource_spans for scope in spans.scope_spans) for export in exports
    ]
    assert sizes == [512, 512, 76]


def test_simple_processor_exports_each_span_as_it_ends(collector: LocalHttpServer) -> None:
    telemetry = setup_telemetry(demo_config(collector, AI_DEMO_SPAN_PROCESSOR="simple"))
    with telemetry.tracer.start_as_current_span("sent-at-once"):
        pass
    assert wait_for(lambda: len(collector.received) == 1, timeout=2)
    telemetry.shutdown()


def test_metrics_go_to_base_v1_metrics(collector: LocalHttpServer) -> None:
    telemetry = setup_telemetry(
        demo_config(collector, AI_DEMO_EXPORT_METRICS="true", AI_DEMO_PHOENIX_API_KEY="the-key")
    )
    metrics = DemoMetrics(telemetry.meter)
    metrics.record_request(0.25, "ok")
    metrics.record_tokens("plan", "offline-weather-1", 30, 2)
    metrics.record_tool_retries("get_weather", 2)
    telemetry.shutdown()

    metric_requests = [request for request in collector.received if request.path == "/v1/metrics"]
    assert metric_requests and all(r.headers["authorization"] == "Bearer the-key" for r in metric_requests)
    names = {
        metric.name
        for request in metric_requests
        for resource_metrics in ExportMetricsServiceRequest.FromString(request.body).resource_metrics
        for scope in resource_metrics.scope_metrics
        for metric in scope.metrics
    }
    assert {
        "ai_demo.requests",
        "ai_demo.request.duration",
        "ai_demo.llm.tokens",
        "ai_demo.tool.retries",
    } <= names


def test_no_metrics_unless_asked(collector: LocalHttpServer) -> None:
    telemetry = setup_telemetry(demo_config(collector))
    assert telemetry.meter_provider is None
    DemoMetrics(telemetry.meter).record_request(0.1, "ok")  # a no-op meter
    telemetry.shutdown()
    assert "/v1/metrics" not in collector.paths()


def test_tracing_off_means_no_tracer_provider_at_all(collector: LocalHttpServer) -> None:
    telemetry = setup_telemetry(demo_config(collector, AI_DEMO_TRACING="false"))
    assert telemetry.tracer_provider is None and isinstance(telemetry.tracer, NoOpTracer)
    with telemetry.tracer.start_as_current_span("nothing") as span:
        assert not span.get_span_context().is_valid
    telemetry.shutdown()
    assert collector.received == []


def test_protocol_is_spelled_out_for_register() -> None:
    # Arize-ai/phoenix#10730: without the protocol, a /v1/traces endpoint is misrouted to gRPC on :4317.
    assert 'protocol="http/protobuf"' in Path(telemetry_module.__file__).read_text()


def test_register_is_loaded_without_leaving_a_bare_phoenix_package(collector: LocalHttpServer) -> None:
    setup_telemetry(demo_config(collector)).shutdown()
    phoenix = sys.modules.get("phoenix")
    assert phoenix is None or hasattr(phoenix, "__version__")


def test_real_sdk_calls_are_traced_by_the_auto_instrumentor(collector: LocalHttpServer, local_http: Start) -> None:
    from openinference.instrumentation.anthropic import AnthropicInstrumentor
    from openinference.instrumentation.openai import OpenAIInstrumentor

    openai_api = local_http(lambda request: (200, json.dumps(OPENAI_ANSWER).encode()))
    config = demo_config(collector, AI_DEMO_LLM_PROVIDER="openai", OPENAI_API_KEY="sk-test")
    telemetry = setup_telemetry(config)
    try:
        provider = OpenAIProvider(config.openai_api_key, "gpt-4o-mini", base_url=f"{openai_api.url}/v1")
        with telemetry.tracer.start_as_current_span("chat"):
            provider.complete("plan", [])
        telemetry.shutdown()
    finally:
        # The instrumentors patch the SDK modules for the whole process.
        OpenAIInstrumentor().uninstrument()
        AnthropicInstrumentor().uninstrument()

    llm = [span for _, span in exported_spans(collector) if span.name != "chat"]
    assert len(llm) == 1
    attributes = attributes_of(llm[0].attributes)
    assert attributes["openinference.span.kind"] == "LLM"
    assert attributes["llm.token_count.total"] == 23
    assert attributes["llm.model_name"] == "gpt-4o-mini"


def test_shutdown_is_bounded_when_the_collector_hangs(local_http: Start, caplog: pytest.LogCaptureFixture) -> None:
    def hanging(request: Received) -> tuple[int, bytes]:
        time.sleep(5)
        return 200, b""

    collector = local_http(hanging)
    telemetry = setup_telemetry(demo_config(collector))
    with telemetry.tracer.start_as_current_span("stuck"):
        pass
    started = time.monotonic()
    telemetry.shutdown(budget_seconds=0.5)
    assert time.monotonic() - started < 1.5  # docker's stop grace period is not outlived
    assert "NOT flushed within 0.5s" in caplog.text


def test_admin_flush_exports_the_chats_spans_at_once_and_is_not_traced(collector: LocalHttpServer) -> None:
    from ai_demo.service import create_app
    from fastapi.testclient import TestClient

    telemetry = setup_telemetry(demo_config(collector, AI_DEMO_TOOL_TIMEOUT="0.05"))
    with TestClient(create_app(demo_config(collector), telemetry)) as client:
        trace_id = client.post("/chat", json={"message": "Weather in Lisbon?"}).json()["trace_id"]
        assert exported_spans(collector) == []  # held by the batch processor (5 s schedule)
        flushed = client.post("/admin/flush")
        assert flushed.status_code == 200 and flushed.json()["flushed"] is True
        # Answered only once the export was: the whole chain is at the collector, and the flush left no span.
        spans = [span for _, span in exported_spans(collector)]
        assert sorted(span.name for span in spans) == ["POST /chat", "chat", "get_weather", "plan", "synthesize"]
        assert {span.trace_id.hex() for span in spans} == {trace_id}
        # What became of the spans, counted by the exporter: all five accepted.
        assert flushed.json()["spans"] == {"ended": 5, "exported": 5, "failed": 0}
        assert client.get("/admin/spans").json() == {"ended": 5, "exported": 5, "failed": 0}
        assert client.post("/admin/flush").json()["flushed"] is True  # nothing left: still fine
    assert len(exported_spans(collector)) == 5


def test_a_refusal_is_retried_and_an_export_that_fails_for_good_is_counted(local_http: Start) -> None:
    answers = iter([503, 200])  # a full fan-out queue refuses once (retryable), then takes the batch

    def refusing_once(request: Received) -> tuple[int, bytes]:
        return next(answers, 200), b""

    refused_once = local_http(refusing_once)
    telemetry = setup_telemetry(demo_config(refused_once))
    with telemetry.tracer.start_as_current_span("retried"):
        pass
    assert telemetry.flush_traces() is True
    assert telemetry.span_counts.snapshot() == {"ended": 1, "exported": 1, "failed": 0}
    assert len([request for request in refused_once.received if request.path == "/v1/traces"]) == 2

    # 400 is not retried: the batch is dropped, and the count says so (not a log line only).
    rejecting = setup_telemetry(demo_config(local_http(lambda request: (400, b""))))
    for _ in range(3):
        with rejecting.tracer.start_as_current_span("rejected"):
            pass
    assert rejecting.flush_traces() is True
    assert rejecting.span_counts.snapshot() == {"ended": 3, "exported": 0, "failed": 3}


def test_a_flush_the_collector_does_not_answer_says_so_within_its_budget(local_http: Start) -> None:
    def hanging(request: Received) -> tuple[int, bytes]:
        time.sleep(3)
        return 200, b""

    telemetry = setup_telemetry(demo_config(local_http(hanging)))
    with telemetry.tracer.start_as_current_span("stuck"):
        pass
    assert telemetry.flush_traces(budget_seconds=0.3) is False
    assert setup_telemetry(demo_config(local_http(hanging), AI_DEMO_TRACING="false")).flush_traces() is True
