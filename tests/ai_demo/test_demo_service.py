"""The HTTP service in process (FastAPI's TestClient runs the real app, lifespan included)."""

from __future__ import annotations

import re

from ai_demo.config import load_config
from ai_demo.service import create_app
from ai_demo.telemetry import Telemetry
from demo_helpers import Traced
from fastapi.testclient import TestClient
from openinference.instrumentation import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

CONFIG = load_config({"AI_DEMO_OTLP_ENDPOINT": "http://127.0.0.1:9", "AI_DEMO_TOOL_TIMEOUT": "0.05"})


def client_for(traced: Traced) -> TestClient:
    return TestClient(create_app(CONFIG, Telemetry(traced.provider, None)))


def test_chat_answers_with_its_trace_and_session(traced: Traced) -> None:
    with client_for(traced) as client:
        response = client.post("/chat", json={"message": "Weather in Lisbon?", "user_id": "u-1"})
    assert response.status_code == 200
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["trace_id"]) and body["trace_id"] != "0" * 32
    assert re.fullmatch(r"session-[0-9a-f]{16}", body["session_id"])  # generated: none was given
    assert body["answer"].startswith("In Lisbon it is")

    spans = traced.spans()
    assert {format(span.context.trace_id, "032x") for span in spans} == {body["trace_id"]}
    [root] = [span for span in spans if span.parent is None]
    # The HTTP server span is the root Phoenix lists: a CHAIN carrying the question and the answer.
    assert root.name == "POST /chat"
    assert root.attributes["openinference.span.kind"] == "CHAIN"
    assert (root.attributes["input.value"], root.attributes["output.value"]) == (
        "Weather in Lisbon?",
        body["answer"],
    )
    assert root.attributes["http.route"] == "/chat"
    assert sorted(span.name for span in spans) == ["POST /chat", "chat", "get_weather", "plan", "synthesize"]
    for span in spans:
        assert (span.attributes["session.id"], span.attributes["user.id"]) == (body["session_id"], "u-1")
        # Every step that succeeded says so, as OpenInference instrumentations do (none is left UNSET).
        assert span.status.status_code.name == "OK", span.name


def test_a_given_session_is_kept(traced: Traced) -> None:
    with client_for(traced) as client:
        body = client.post("/chat", json={"message": "Weather in Oslo?", "session_id": "mine"}).json()
    assert body["session_id"] == "mine"


def test_fail_tool_still_answers_200_with_a_degraded_answer(traced: Traced) -> None:
    with client_for(traced) as client:
        response = client.post("/chat", json={"message": "Weather in Oslo?", "fail_tool": True})
    assert response.status_code == 200
    assert "weather tool failed" in response.json()["answer"]
    failed = [span for span in traced.spans() if span.name == "get_weather"]
    assert len(failed) == 3 and all(span.status.status_code.name == "ERROR" for span in failed)
    answered = [span for span in traced.spans() if span.name in ("POST /chat", "chat", "plan", "synthesize")]
    assert all(span.status.status_code.name == "OK" for span in answered)


def test_healthz_is_not_traced(traced: Traced) -> None:
    with client_for(traced) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
    assert traced.spans() == []


def test_bad_requests_are_refused(traced: Traced) -> None:
    with client_for(traced) as client:
        assert client.post("/chat", json={"message": ""}).status_code == 422
        assert client.post("/chat", json={"session_id": "s"}).status_code == 422


def test_cors_lets_a_browser_ui_call_it(traced: Traced) -> None:
    with client_for(traced) as client:
        preflight = client.options(
            "/chat",
            headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
        )
        answer = client.post("/chat", json={"message": "Weather in Rome?"}, headers={"Origin": "http://x.test"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert answer.headers["access-control-allow-origin"] == "*"
    # The preflight is answered outside the traced app: only the chat makes a trace.
    assert "OPTIONS /chat" not in {span.name for span in traced.spans()}
    assert len({span.context.trace_id for span in traced.spans()}) == 1


def test_tracing_off_still_answers() -> None:
    config = load_config({"AI_DEMO_TRACING": "false"})
    with TestClient(create_app(config)) as client:
        body = client.post("/chat", json={"message": "Weather in Lisbon?"}).json()
    assert body["trace_id"] == "0" * 32 and body["answer"].startswith("In Lisbon")


def test_shutdown_flushes_what_the_batch_still_holds() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
    with TestClient(create_app(CONFIG, Telemetry(provider, None))) as client:
        client.post("/chat", json={"message": "Weather in Lisbon?"})
        assert exporter.get_finished_spans() == ()  # held for a minute by the batch processor
    # Leaving the client runs the lifespan shutdown, as SIGTERM does under uvicorn.
    assert len(exporter.get_finished_spans()) == 5
