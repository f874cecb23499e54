"""LLM providers: the offline one in full; the real SDKs against local servers that speak their APIs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import pytest
from ai_demo.config import load_config
from ai_demo.providers import (
    DEFAULT_CITY,
    OFFLINE_MODEL,
    WEATHER_REPORT_HEADER,
    AnthropicProvider,
    Message,
    OfflineProvider,
    OpenAIProvider,
    ProviderError,
    ProviderUnavailable,
    make_provider,
    offline_plan,
)
from demo_helpers import OPENAI_ANSWER, LocalHttpServer, Received, Traced
from opentelemetry.trace import StatusCode

Start = Callable[[Callable[[Received], tuple[int, bytes]]], LocalHttpServer]
QUESTION = [Message("system", "Reply with only the city name."), Message("user", "Weather in Lisbon today?")]


def synthesis_messages(report: dict) -> list[Message]:
    return [
        Message("system", f"Answer.\n\n{WEATHER_REPORT_HEADER}\n{json.dumps(report)}"),
        Message("user", "?"),
    ]


@pytest.mark.parametrize(
    ("question", "city"),
    [
        ("What's the weather in New York today?", "New York"),
        ("weather for Lisbon?", "Lisbon"),
        ("Is it a good beach day in Sydney?", "Sydney"),
        ("hello there", DEFAULT_CITY),
    ],
)
def test_offline_planner_finds_the_city(question: str, city: str) -> None:
    assert offline_plan([Message("user", question)]) == city


def test_offline_provider_writes_an_openinference_llm_span(traced: Traced) -> None:
    completion = OfflineProvider(traced.tracer).complete("plan", QUESTION)
    assert completion.text == "Lisbon" and completion.model == OFFLINE_MODEL
    assert completion.prompt_tokens > 0 and completion.completion_tokens > 0

    [span] = traced.spans()
    attributes = span.attributes
    assert span.name == "plan" and span.status.status_code == StatusCode.OK
    assert attributes["openinference.span.kind"] == "LLM"
    assert (attributes["llm.provider"], attributes["llm.model_name"]) == ("offline", OFFLINE_MODEL)
    assert attributes["llm.input_messages.0.message.role"] == "system"
    assert attributes["llm.input_messages.1.message.content"] == "Weather in Lisbon today?"
    assert attributes["llm.output_messages.0.message.role"] == "assistant"
    assert attributes["llm.output_messages.0.message.content"] == "Lisbon"
    assert attributes["llm.token_count.prompt"] == completion.prompt_tokens
    assert attributes["llm.token_count.completion"] == completion.completion_tokens
    assert attributes["llm.token_count.total"] == completion.total_tokens
    assert json.loads(attributes["input.value"])["messages"][1] == {
        "role": "user",
        "content": QUESTION[1].content,
    }
    assert (attributes["input.mime_type"], attributes["output.mime_type"]) == (
        "application/json",
        "text/plain",
    )
    assert attributes["output.value"] == "Lisbon"
    assert 0.02 <= (span.end_time - span.start_time) / 1e9 < 0.2  # tens of milliseconds, like a fast model


def test_offline_provider_is_deterministic(traced: Traced) -> None:
    provider = OfflineProvider(traced.tracer)
    assert provider.complete("plan", QUESTION) == provider.complete("plan", QUESTION)


def test_offline_synthesis_uses_the_report(traced: Traced) -> None:
    provider = OfflineProvider(traced.tracer)
    report = {"city": "Lisbon", "temperature_c": 21, "conditions": "light rain", "wind_kph": 12}
    answer = provider.complete("synthesize", synthesis_messages(report)).text
    assert answer == "In Lisbon it is 21°C and light rain, with wind at 12 km/h. Take an umbrella."
    failed = provider.complete("synthesize", synthesis_messages({"city": "Oslo", "error": "timed out"})).text
    assert "Oslo" in failed and "weather tool failed" in failed and "timed out" in failed
    other = provider.complete("synthesize", synthesis_messages({"city": "Rome", "uv_index": 7})).text
    assert other == "Current weather in Rome: uv_index: 7."


def test_missing_sdk_is_a_clear_error(traced: Traced, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)  # what `import anthropic` meets when it is not installed
    config = load_config({"AI_DEMO_TRACING": "false", "AI_DEMO_LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "k"})
    with pytest.raises(ProviderUnavailable, match="needs the `anthropic` package"):
        make_provider(config, traced.tracer)


def test_make_provider_picks_the_configured_one(traced: Traced) -> None:
    offline = load_config({"AI_DEMO_TRACING": "false"})
    assert isinstance(make_provider(offline, traced.tracer), OfflineProvider)
    openai = load_config({"AI_DEMO_TRACING": "false", "AI_DEMO_LLM_PROVIDER": "openai", "OPENAI_API_KEY": "sk-x"})
    provider = make_provider(openai, traced.tracer)
    assert isinstance(provider, OpenAIProvider) and provider.model == "gpt-4o-mini"


ANTHROPIC_ANSWER = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5",
    "content": [{"type": "text", "text": "Lisbon"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 19, "output_tokens": 3},
}


def test_openai_provider_against_a_local_openai_api(local_http: Start) -> None:
    server = local_http(lambda request: (200, json.dumps(OPENAI_ANSWER).encode()))
    completion = OpenAIProvider("sk-test", "gpt-4o-mini", base_url=f"{server.url}/v1").complete("plan", QUESTION)
    assert (completion.text, completion.prompt_tokens, completion.completion_tokens) == ("Lisbon", 21, 2)
    [request] = server.received
    assert request.path == "/v1/chat/completions" and request.headers["authorization"] == "Bearer sk-test"
    assert json.loads(request.body)["messages"][0] == {"role": "system", "content": QUESTION[0].content}


def test_anthropic_provider_against_a_local_anthropic_api(local_http: Start) -> None:
    server = local_http(lambda request: (200, json.dumps(ANTHROPIC_ANSWER).encode()))
    completion = AnthropicProvider("ak-test", "claude-haiku-4-5", base_url=server.url).complete("plan", QUESTION)
    assert (completion.text, completion.prompt_tokens, completion.completion_tokens) == ("Lisbon", 19, 3)
    [request] = server.received
    body = json.loads(request.body)
    assert request.path == "/v1/messages" and request.headers["x-api-key"] == "ak-test"
    assert body["system"] == QUESTION[0].content  # Anthropic takes the system prompt apart from the messages
    assert body["messages"] == [{"role": "user", "content": QUESTION[1].content}]


def test_sdk_errors_become_provider_errors(local_http: Start) -> None:
    server = local_http(lambda request: (401, b'{"error": {"message": "bad key", "type": "auth"}}'))
    with pytest.raises(ProviderError, match="openai"):
        OpenAIProvider("sk-wrong", "gpt-4o-mini", base_url=f"{server.url}/v1").complete("plan", QUESTION)
