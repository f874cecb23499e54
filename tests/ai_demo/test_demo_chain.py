"""The chain end to end in one process: spans in OpenInference terms, session and user everywhere, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
from ai_demo.chain import Chain, parse_city
from ai_demo.providers import Completion, LLMProvider, Message, OfflineProvider, ProviderError
from ai_demo.telemetry import DemoMetrics
from ai_demo.tools import OfflineWeather, WeatherTool
from demo_helpers import Traced
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode


@dataclass
class Metrics:
    """DemoMetrics on the real SDK, read back in memory."""

    reader: InMemoryMetricReader
    demo: DemoMetrics

    def points(self) -> dict[str, list]:
        points: dict[str, list] = {}
        data = self.reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else []:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    points.setdefault(metric.name, []).extend(metric.data.data_points)
        return points

    def total(self, name: str, **attributes: str) -> float:
        matching = [p for p in self.points().get(name, []) if attributes.items() <= dict(p.attributes).items()]
        return sum(getattr(point, "value", None) or point.sum for point in matching)


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield Metrics(reader, DemoMetrics(provider.get_meter("tests")))
    provider.shutdown()


def make_chain(traced: Traced, metrics: Metrics, provider: LLMProvider | None = None) -> Chain:
    weather = WeatherTool(traced.tracer, OfflineWeather(), timeout=0.1, max_retries=2, backoff_base=0.01)
    return Chain(traced.tracer, provider or OfflineProvider(traced.tracer), weather, metrics.demo)


def by_name(spans: Sequence[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    grouped: dict[str, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda span: span.start_time):
        grouped.setdefault(span.name, []).append(span)
    return grouped


def test_a_chat_is_one_trace_chain_llm_tool_llm(traced: Traced, metrics: Metrics) -> None:
    result = make_chain(traced, metrics).run("What's the weather in Lisbon today?", "s-1", "u-1")

    assert result.city == "Lisbon" and result.tool_ok and result.tool_attempts == 1
    assert result.answer.startswith("In Lisbon it is") and result.session_id == "s-1"
    spans = traced.spans()
    assert {format(span.context.trace_id, "032x") for span in spans} == {result.trace_id}
    named = by_name(spans)
    [chat] = named["chat"]
    assert chat.parent is None
    assert chat.attributes["openinference.span.kind"] == "CHAIN"
    assert chat.attributes["input.value"] == "What's the weather in Lisbon today?"
    assert chat.attributes["output.value"] == result.answer
    assert chat.attributes["input.mime_type"] == chat.attributes["output.mime_type"] == "text/plain"
    assert json.loads(chat.attributes["metadata"]) == {
        "city": "Lisbon",
        "fail_tool": False,
        "tool_ok": True,
        "tool_attempts": 1,
    }
    children = sorted((span for span in spans if span is not chat), key=lambda span: span.start_time)
    assert [(span.name, span.attributes["openinference.span.kind"]) for span in children] == [
        ("plan", "LLM"),
        ("get_weather", "TOOL"),
        ("synthesize", "LLM"),
    ]
    assert all(span.parent.span_id == chat.context.span_id for span in children)
    for span in spans:
        assert (span.attributes["session.id"], span.attributes["user.id"]) == ("s-1", "u-1")
    synthesize = named["synthesize"][0]
    assert "Lisbon" in synthesize.attributes["llm.input_messages.0.message.content"]  # the tool's report


def test_fail_tool_gives_error_spans_and_a_degraded_answer(traced: Traced, metrics: Metrics) -> None:
    result = make_chain(traced, metrics).run("Weather in Oslo?", "s-2", "u-2", fail_tool=True)

    assert not result.tool_ok and result.tool_attempts == 3
    assert "weather tool failed" in result.answer and "Oslo" in result.answer
    named = by_name(traced.spans())
    assert len(named["get_weather"]) == 3
    for attempt in named["get_weather"]:
        assert attempt.status.status_code == StatusCode.ERROR
        assert [event.name for event in attempt.events] == ["exception"]
        assert attempt.attributes["session.id"] == "s-2"
    # The chain handled the failure: its own span is not an error, its metadata says what happened.
    [chat] = named["chat"]
    assert chat.status.status_code == StatusCode.OK
    assert json.loads(chat.attributes["metadata"])["tool_ok"] is False
    assert len(named["plan"]) == len(named["synthesize"]) == 1


def test_without_user_only_the_session_is_set(traced: Traced, metrics: Metrics) -> None:
    make_chain(traced, metrics).run("Weather in Rome?", "s-3")
    for span in traced.spans():
        assert span.attributes["session.id"] == "s-3"
        assert "user.id" not in span.attributes


class BrokenProvider:
    name = "broken"

    def complete(self, step: str, messages: Sequence[Message]) -> Completion:
        raise ProviderError("openai: 401 bad key")


def test_a_provider_error_fails_the_chain_span(traced: Traced, metrics: Metrics) -> None:
    with pytest.raises(ProviderError):
        make_chain(traced, metrics, BrokenProvider()).run("Weather in Rome?", "s-4")
    [chat] = traced.spans()
    assert chat.status.status_code == StatusCode.ERROR
    assert [event.name for event in chat.events] == ["exception"]
    assert metrics.total("ai_demo.requests", outcome="error") == 1


def test_metrics_count_requests_tokens_and_retries(traced: Traced, metrics: Metrics) -> None:
    chain = make_chain(traced, metrics)
    chain.run("Weather in Lisbon?", "s-5")
    chain.run("Weather in Oslo?", "s-5", fail_tool=True)

    assert metrics.total("ai_demo.requests", outcome="ok") == 1
    assert metrics.total("ai_demo.requests", outcome="degraded") == 1
    assert sum(point.count for point in metrics.points()["ai_demo.request.duration"]) == 2
    llm_spans = [span for span in traced.spans() if span.attributes["openinference.span.kind"] == "LLM"]
    token_total = sum(span.attributes["llm.token_count.total"] for span in llm_spans)
    assert metrics.total("ai_demo.llm.tokens") == token_total
    assert metrics.total("ai_demo.tool.retries", tool="get_weather") == 2


@pytest.mark.parametrize(
    ("planner_text", "city"),
    [("Lisbon", "Lisbon"), ("  'New York'.\nBecause...", "New York"), ("", "unknown"), ("x" * 200, "x" * 80)],
)
def test_parse_city(planner_text: str, city: str) -> None:
    assert parse_city(planner_text) == city
