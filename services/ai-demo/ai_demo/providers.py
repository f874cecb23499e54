"""LLM providers: an offline deterministic one (the default) and the real Anthropic and OpenAI SDKs.

The real SDK calls are traced by the OpenInference instrumentors that
`phoenix.otel.register(auto_instrument=True)` installs, so those providers open no span themselves. The
offline provider has no SDK to instrument, so it writes the same LLM span an instrumentor would.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from openinference.semconv.trace import (
    MessageAttributes,
    OpenInferenceMimeTypeValues,
    OpenInferenceSpanKindValues,
    SpanAttributes,
)
from opentelemetry.trace import Status, StatusCode, Tracer

from ai_demo.config import DemoConfig

# The synthesis prompt carries the tool's result after this line; the offline model reads it from there.
WEATHER_REPORT_HEADER = "Weather report (JSON):"
DEFAULT_MODELS = {"anthropic": "claude-haiku-4-5", "openai": "gpt-4o-mini"}
OFFLINE_MODEL = "offline-weather-1"
DEFAULT_CITY = "London"
SDK_TIMEOUT_SECONDS = 30.0
MAX_OUTPUT_TOKENS = 300


@dataclass(frozen=True)
class Message:
    role: str  # system | user | assistant
    content: str


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ProviderError(Exception):
    """The LLM could not answer (network, auth, quota...)."""


class ProviderUnavailable(Exception):
    """The configured provider cannot be used in this Python (its SDK is missing)."""


class LLMProvider(Protocol):
    name: str

    def complete(self, step: str, messages: Sequence[Message]) -> Completion:
        """`step` names the chain step ("plan", "synthesize"); only the offline provider uses it."""
        ...


def make_provider(config: DemoConfig, tracer: Tracer) -> LLMProvider:
    if config.llm_provider == "anthropic":
        return AnthropicProvider(config.anthropic_api_key, config.llm_model or DEFAULT_MODELS["anthropic"])
    if config.llm_provider == "openai":
        return OpenAIProvider(config.openai_api_key, config.llm_model or DEFAULT_MODELS["openai"])
    return OfflineProvider(tracer)


def _stable_number(text: str) -> int:
    # Python's hash() is salted per process; the offline answers must be the same everywhere.
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


class OfflineProvider:
    """A deterministic stand-in for an LLM: plausible text, token counts, 20-60 ms of latency, no network."""

    name = "offline"

    def __init__(self, tracer: Tracer):
        self.tracer = tracer

    def complete(self, step: str, messages: Sequence[Message]) -> Completion:
        prompt = "\n".join(f"{message.role}: {message.content}" for message in messages)
        attributes = {
            SpanAttributes.OPENINFERENCE_SPAN_KIND: OpenInferenceSpanKindValues.LLM.value,
            SpanAttributes.LLM_PROVIDER: self.name,
            SpanAttributes.LLM_MODEL_NAME: OFFLINE_MODEL,
            SpanAttributes.LLM_INVOCATION_PARAMETERS: json.dumps({"temperature": 0, "max_tokens": MAX_OUTPUT_TOKENS}),
            SpanAttributes.INPUT_VALUE: json.dumps({"messages": [vars(message) for message in messages]}),
            SpanAttributes.INPUT_MIME_TYPE: OpenInferenceMimeTypeValues.JSON.value,
            **message_attributes(SpanAttributes.LLM_INPUT_MESSAGES, messages),
        }
        with self.tracer.start_as_current_span(step, attributes=attributes) as span:
            time.sleep((20 + _stable_number(prompt) % 41) / 1000)
            text = offline_synthesis(messages) if step == "synthesize" else offline_plan(messages)
            completion = Completion(
                text=text,
                model=OFFLINE_MODEL,
                prompt_tokens=sum(estimate_tokens(message.content) + 4 for message in messages),
                completion_tokens=estimate_tokens(text),
            )
            span.set_attributes(
                {
                    SpanAttributes.OUTPUT_VALUE: text,
                    SpanAttributes.OUTPUT_MIME_TYPE: OpenInferenceMimeTypeValues.TEXT.value,
                    **message_attributes(SpanAttributes.LLM_OUTPUT_MESSAGES, [Message("assistant", text)]),
                    SpanAttributes.LLM_TOKEN_COUNT_PROMPT: completion.prompt_tokens,
                    SpanAttributes.LLM_TOKEN_COUNT_COMPLETION: completion.completion_tokens,
                    SpanAttributes.LLM_TOKEN_COUNT_TOTAL: completion.total_tokens,
                }
            )
            span.set_status(Status(StatusCode.OK))
            return completion


def message_attributes(prefix: str, messages: Sequence[Message]) -> dict[str, str]:
    attributes = {}
    for index, message in enumerate(messages):
        attributes[f"{prefix}.{index}.{MessageAttributes.MESSAGE_ROLE}"] = message.role
        attributes[f"{prefix}.{index}.{MessageAttributes.MESSAGE_CONTENT}"] = message.content
    return attributes


_CITY_AFTER_PREPOSITION = re.compile(r"\b(?:in|for|at|of)\s+([A-Z][\w'-]*(?:[ -][A-Z][\w'-]*)*)")


def offline_plan(messages: Sequence[Message]) -> str:
    """The city the last user message asks about: a capitalised name after in/for/at/of."""
    question = next((message.content for message in reversed(messages) if message.role == "user"), "")
    match = _CITY_AFTER_PREPOSITION.search(question)
    return match.group(1) if match else DEFAULT_CITY


def offline_synthesis(messages: Sequence[Message]) -> str:
    system = next((message.content for message in messages if message.role == "system"), "")
    _, _, report_text = system.rpartition(WEATHER_REPORT_HEADER)
    try:
        report: dict[str, Any] = json.loads(report_text)
    except ValueError:
        report = {"error": "no weather report in the prompt"}
    city = report.get("city", "that city")
    if "error" in report:
        return (
            f"Sorry, I can't tell you the current weather in {city}: the weather tool failed "
            f"({report['error']}). Please try again in a moment."
        )
    if {"temperature_c", "conditions"} <= report.keys():
        wind = f", with wind at {report['wind_kph']} km/h" if "wind_kph" in report else ""
        return f"In {city} it is {report['temperature_c']}°C and {report['conditions']}{wind}. {_advice(report)}"
    details = ", ".join(f"{key}: {value}" for key, value in report.items() if key != "city")
    return f"Current weather in {city}: {details}."


def _advice(report: dict[str, Any]) -> str:
    conditions = str(report["conditions"]).lower()
    if "rain" in conditions or "storm" in conditions or "drizzle" in conditions:
        return "Take an umbrella."
    if "snow" in conditions:
        return "Dress warmly and watch your step."
    if float(report["temperature_c"]) >= 28:
        return "Stay in the shade and drink water."
    return "Enjoy your day."


def _import_sdk(module: str, provider: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ProviderUnavailable(
            f"ai-demo: AI_DEMO_LLM_PROVIDER={provider} needs the `{module}` package, which is not "
            "installed in this Python: `pip install -r services/ai-demo/requirements.txt`, "
            "or set AI_DEMO_LLM_PROVIDER=offline"
        ) from None


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, api_key: str, model: str, base_url: str | None = None):
        self.sdk = _import_sdk("anthropic", self.name)
        self.client = self.sdk.Anthropic(api_key=api_key, base_url=base_url, timeout=SDK_TIMEOUT_SECONDS, max_retries=2)
        self.model = model

    def complete(self, step: str, messages: Sequence[Message]) -> Completion:
        system = "\n\n".join(message.content for message in messages if message.role == "system")
        conversation = [{"role": m.role, "content": m.content} for m in messages if m.role != "system"]
        try:
            response = self.client.messages.create(
                model=self.model, max_tokens=MAX_OUTPUT_TOKENS, system=system, messages=conversation
            )
        except self.sdk.APIError as error:
            raise ProviderError(f"anthropic: {error}") from error
        text = "".join(block.text for block in response.content if block.type == "text")
        return Completion(text, response.model, response.usage.input_tokens, response.usage.output_tokens)


class OpenAIProvider:
    name = "openai"

    def __init__(self, api_key: str, model: str, base_url: str | None = None):
        self.sdk = _import_sdk("openai", self.name)
        self.client = self.sdk.OpenAI(api_key=api_key, base_url=base_url, timeout=SDK_TIMEOUT_SECONDS, max_retries=2)
        self.model = model

    def complete(self, step: str, messages: Sequence[Message]) -> Completion:
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=[{"role": m.role, "content": m.content} for m in messages]
            )
        except self.sdk.OpenAIError as error:
            raise ProviderError(f"openai: {error}") from error
        usage = response.usage
        return Completion(
            text=response.choices[0].message.content or "",
            model=response.model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )
