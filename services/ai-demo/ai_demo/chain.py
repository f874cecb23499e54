"""The chat chain: planner LLM call -> `get_weather` tool -> synthesis LLM call, under one CHAIN span."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from openinference.instrumentation import using_attributes
from openinference.semconv.trace import (
    OpenInferenceMimeTypeValues,
    OpenInferenceSpanKindValues,
    SpanAttributes,
)
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from ai_demo.providers import WEATHER_REPORT_HEADER, LLMProvider, Message
from ai_demo.telemetry import DemoMetrics
from ai_demo.tools import TOOL_NAME, WeatherTool

PLANNER_PROMPT = (
    "You route weather questions to a weather tool. Reply with only the name of the city the user asks "
    "about, nothing else."
)
SYNTHESIS_PROMPT = (
    "You are a concise weather assistant. Answer the user's question in one or two sentences, using only "
    "the weather report below. If the report has an `error`, say that the weather tool failed and that you "
    "cannot give the current weather.\n\n" + WEATHER_REPORT_HEADER + "\n"
)
MAX_CITY_LENGTH = 80


@dataclass(frozen=True)
class ChatResult:
    answer: str
    trace_id: str  # 32 hex digits; all zeros when tracing is off
    session_id: str
    city: str
    tool_ok: bool
    tool_attempts: int


def request_attributes(session_id: str, user_id: str | None) -> dict[str, str]:
    """session.id and user.id, which every span of a request carries."""
    attributes = {SpanAttributes.SESSION_ID: session_id}
    if user_id:
        attributes[SpanAttributes.USER_ID] = user_id
    return attributes


def trace_id_of(span: Span) -> str:
    return format(span.get_span_context().trace_id, "032x")


def parse_city(planner_text: str) -> str:
    lines = [line.strip() for line in planner_text.strip().splitlines() if line.strip()]
    city = lines[0].strip(" .\"'`*") if lines else ""
    return city[:MAX_CITY_LENGTH] or "unknown"


class Chain:
    def __init__(self, tracer: Tracer, provider: LLMProvider, weather: WeatherTool, metrics: DemoMetrics):
        self.tracer = tracer
        self.provider = provider
        self.weather = weather
        self.metrics = metrics

    def run(self, message: str, session_id: str, user_id: str | None = None, fail_tool: bool = False) -> ChatResult:
        started = time.perf_counter()
        outcome = "error"
        attributes = {
            SpanAttributes.OPENINFERENCE_SPAN_KIND: OpenInferenceSpanKindValues.CHAIN.value,
            SpanAttributes.INPUT_VALUE: message,
            SpanAttributes.INPUT_MIME_TYPE: OpenInferenceMimeTypeValues.TEXT.value,
        }
        try:
            # using_attributes puts session and user in the context; the OpenInference tracer that register()
            # provides, and the SDK instrumentors, copy them onto every span they start below.
            with (
                using_attributes(session_id=session_id, user_id=user_id or ""),
                self.tracer.start_as_current_span("chat", attributes=attributes) as span,
            ):
                result = self._steps(span, message, session_id, fail_tool)
            outcome = "ok" if result.tool_ok else "degraded"
            return result
        finally:
            self.metrics.record_request(time.perf_counter() - started, outcome)

    def _steps(self, span: Span, message: str, session_id: str, fail_tool: bool) -> ChatResult:
        plan = self.provider.complete("plan", [Message("system", PLANNER_PROMPT), Message("user", message)])
        self.metrics.record_tokens("plan", plan.model, plan.prompt_tokens, plan.completion_tokens)
        city = parse_city(plan.text)

        tool = self.weather.call(city, unresponsive=fail_tool)
        self.metrics.record_tool_retries(TOOL_NAME, tool.retries)
        report = tool.report if tool.ok else {"city": city, "error": tool.error}

        synthesis_prompt = SYNTHESIS_PROMPT + json.dumps(report)
        answer = self.provider.complete("synthesize", [Message("system", synthesis_prompt), Message("user", message)])
        self.metrics.record_tokens("synthesize", answer.model, answer.prompt_tokens, answer.completion_tokens)

        text = answer.text.strip()
        span.set_attributes(
            {
                SpanAttributes.OUTPUT_VALUE: text,
                SpanAttributes.OUTPUT_MIME_TYPE: OpenInferenceMimeTypeValues.TEXT.value,
                SpanAttributes.METADATA: json.dumps(
                    {"city": city, "fail_tool": fail_tool, "tool_ok": tool.ok, "tool_attempts": tool.attempts}
                ),
            }
        )
        # Answered (a failed tool is reported in the answer and on its own TOOL spans): the chain succeeded.
        span.set_status(Status(StatusCode.OK))
        return ChatResult(text, trace_id_of(span), session_id, city, tool.ok, tool.attempts)
