"""The weather tool: sources, per-attempt timeout, retries with backoff, and one TOOL span per attempt."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

import pytest
from ai_demo.tools import (
    TOOL_NAME,
    TOOL_PARAMETERS,
    HttpWeather,
    OfflineWeather,
    ToolFailure,
    ToolTimeout,
    WeatherTool,
    backoff_seconds,
)
from demo_helpers import LocalHttpServer, Received, Traced
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

Start = Callable[[Callable[[Received], tuple[int, bytes]]], LocalHttpServer]
LISBON = {"city": "Lisbon", "temperature_c": 21, "conditions": "sunny"}


def attempt_spans(traced: Traced) -> list[ReadableSpan]:
    spans = [span for span in traced.spans() if span.name == TOOL_NAME]
    return sorted(spans, key=lambda span: span.start_time)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_offline_source_is_deterministic_and_quick() -> None:
    source = OfflineWeather()
    started = time.perf_counter()
    first = source.fetch("Lisbon", timeout=0.5)
    assert time.perf_counter() - started < 0.1
    assert first == source.fetch("lisbon ", timeout=0.5) | {"city": "Lisbon"}
    assert {"temperature_c", "conditions", "wind_kph", "humidity_pct"} <= first.keys()
    assert source.fetch("Oslo", 0.5) != first


def test_offline_source_respects_a_tiny_timeout() -> None:
    with pytest.raises(ToolTimeout):
        OfflineWeather().fetch("Lisbon", timeout=0.001)


def test_http_source_asks_for_the_city(local_http: Start) -> None:
    server = local_http(lambda request: (200, json.dumps(LISBON).encode()))
    assert HttpWeather(f"{server.url}/weather").fetch("Lisbon", timeout=2) == LISBON
    query = parse_qs(urlparse(server.paths()[0]).query)
    assert urlparse(server.paths()[0]).path == "/weather" and query == {"city": ["Lisbon"]}


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (503, b'{"error": "busy"}', "HTTP 503"),
        (200, b"not json", "JSON object"),
        (200, b"[1, 2]", "JSON object"),
    ],
)
def test_http_source_failures(local_http: Start, status: int, body: bytes, message: str) -> None:
    server = local_http(lambda request: (status, body))
    with pytest.raises(ToolFailure, match=message):
        HttpWeather(server.url).fetch("Lisbon", timeout=2)


def test_http_source_refused_connection() -> None:
    with pytest.raises(ToolFailure, match="ConnectionError"):
        HttpWeather(f"http://127.0.0.1:{unused_port()}").fetch("Lisbon", timeout=2)


def test_http_source_times_out(local_http: Start) -> None:
    def slow(request: Received) -> tuple[int, bytes]:
        time.sleep(1.0)
        return 200, json.dumps(LISBON).encode()

    server = local_http(slow)
    started = time.perf_counter()
    with pytest.raises(ToolTimeout, match=r"no answer within 0\.2s"):
        HttpWeather(server.url).fetch("Lisbon", timeout=0.2)
    assert time.perf_counter() - started < 0.8


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_seconds(retry, base=0.1) for retry in (1, 2, 3)] == pytest.approx([0.1, 0.2, 0.4])
    assert backoff_seconds(10, base=0.1) == 2.0


def test_success_is_one_tool_span_in_openinference_terms(traced: Traced) -> None:
    outcome = WeatherTool(traced.tracer, OfflineWeather(), timeout=0.5, max_retries=2).call("Lisbon")
    assert outcome.ok and outcome.attempts == 1 and outcome.retries == 0 and outcome.error == ""
    [span] = attempt_spans(traced)
    attributes = span.attributes
    assert attributes["openinference.span.kind"] == "TOOL"
    assert attributes["tool.name"] == "get_weather"
    assert json.loads(attributes["tool.parameters"]) == TOOL_PARAMETERS
    assert json.loads(attributes["input.value"]) == {"city": "Lisbon"}
    assert attributes["input.mime_type"] == attributes["output.mime_type"] == "application/json"
    assert json.loads(attributes["output.value"]) == outcome.report
    assert json.loads(attributes["metadata"]) == {"attempt": 1, "max_attempts": 3, "timeout_s": 0.5}
    assert span.status.status_code == StatusCode.OK


def test_retries_with_backoff_until_the_source_answers(traced: Traced, local_http: Start) -> None:
    def flaky(request: Received) -> tuple[int, bytes]:
        if len(server.received) <= 2:
            return 500, b'{"error": "overloaded"}'
        return 200, json.dumps(LISBON).encode()

    server = local_http(flaky)
    tool = WeatherTool(traced.tracer, HttpWeather(server.url), timeout=2, max_retries=3, backoff_base=0.05)
    outcome = tool.call("Lisbon")

    assert outcome.ok and outcome.attempts == 3 and outcome.report == LISBON
    first, second, third = attempt_spans(traced)
    for failed in (first, second):
        assert failed.status.status_code == StatusCode.ERROR
        assert "HTTP 500" in failed.status.description
        [event] = failed.events
        assert event.name == "exception" and event.attributes["exception.type"].endswith(".ToolFailure")
    assert third.status.status_code == StatusCode.OK and not third.events
    # The pauses between attempts are the backoff: 0.05 s, then 0.1 s.
    assert (second.start_time - first.end_time) / 1e9 >= 0.05
    assert (third.start_time - second.end_time) / 1e9 >= 0.1
    assert [json.loads(span.attributes["metadata"])["attempt"] for span in (first, second, third)] == [
        1,
        2,
        3,
    ]


def test_unresponsive_source_times_out_every_attempt(traced: Traced) -> None:
    tool = WeatherTool(traced.tracer, OfflineWeather(), timeout=0.1, max_retries=2, backoff_base=0.01)
    started = time.perf_counter()
    outcome = tool.call("Lisbon", unresponsive=True)
    elapsed = time.perf_counter() - started

    assert not outcome.ok and outcome.attempts == 3 and outcome.retries == 2
    assert outcome.error.startswith("get_weather failed after 3 attempt(s): no answer within 0.1s")
    assert 0.3 <= elapsed < 1.0
    spans = attempt_spans(traced)
    assert len(spans) == 3
    for span in spans:
        assert span.status.status_code == StatusCode.ERROR
        assert [event.name for event in span.events] == ["exception"]
        assert span.events[0].attributes["exception.type"].endswith(".ToolTimeout")
        assert 0.1 <= (span.end_time - span.start_time) / 1e9 < 0.3  # each attempt lasts its timeout


def test_no_retries_means_a_single_attempt(traced: Traced) -> None:
    outcome = WeatherTool(traced.tracer, OfflineWeather(), timeout=0.05, max_retries=0).call("X", unresponsive=True)
    assert outcome.attempts == 1 and len(attempt_spans(traced)) == 1
