"""The `get_weather` tool: a weather source behind a per-attempt timeout and retries, a TOOL span each try."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from openinference.semconv.trace import (
    OpenInferenceMimeTypeValues,
    OpenInferenceSpanKindValues,
    SpanAttributes,
)
from opentelemetry.trace import Status, StatusCode, Tracer

TOOL_NAME = "get_weather"
TOOL_DESCRIPTION = "Current weather conditions for a city."
TOOL_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "Name of the city"}},
    "required": ["city"],
}
BACKOFF_BASE_SECONDS = 0.1
BACKOFF_CAP_SECONDS = 2.0
_CONDITIONS = ("sunny", "partly cloudy", "overcast", "light rain", "heavy rain", "foggy", "windy", "snow")


class ToolFailure(Exception):
    """One attempt failed; the caller may retry."""


class ToolTimeout(ToolFailure):
    """One attempt got no answer within its timeout."""


class WeatherSource(Protocol):
    def fetch(self, city: str, timeout: float) -> dict[str, Any]:
        """The weather for `city`, or ToolFailure; must give up after `timeout` seconds."""
        ...


class OfflineWeather:
    """Deterministic weather from the city's name, with 5-25 ms of latency; no network."""

    def fetch(self, city: str, timeout: float) -> dict[str, Any]:
        digest = hashlib.sha256(city.strip().lower().encode()).digest()
        latency = (5 + digest[0] % 21) / 1000
        if latency > timeout:
            time.sleep(timeout)
            raise ToolTimeout(f"no answer within {timeout:g}s")
        time.sleep(latency)
        conditions = _CONDITIONS[digest[1] % len(_CONDITIONS)]
        temperature = digest[2] % 36 - 5
        if conditions == "snow":
            temperature = min(temperature, 1)
        return {
            "city": city,
            "temperature_c": temperature,
            "conditions": conditions,
            "wind_kph": digest[3] % 45,
            "humidity_pct": 30 + digest[4] % 66,
            "source": "offline",
        }


class HttpWeather:
    """GET <url>?city=<name>, answered by a JSON object. `timeout` bounds the connect and each read."""

    def __init__(self, url: str):
        self.url = url

    def fetch(self, city: str, timeout: float) -> dict[str, Any]:
        try:
            response = requests.get(self.url, params={"city": city}, timeout=timeout)
        except requests.Timeout:
            raise ToolTimeout(f"no answer within {timeout:g}s from {self.url}") from None
        except requests.RequestException as error:
            raise ToolFailure(f"{type(error).__name__} calling {self.url}") from error
        if response.status_code != 200:
            raise ToolFailure(f"HTTP {response.status_code} from {self.url}: {response.text[:200]}")
        try:
            report = response.json()
        except ValueError:
            report = None
        if not isinstance(report, dict):
            raise ToolFailure(f"{self.url} did not answer with a JSON object")
        return report


class UnresponsiveWeather:
    """What `fail_tool` asks for: a source that never answers, so every attempt times out."""

    def fetch(self, city: str, timeout: float) -> dict[str, Any]:
        time.sleep(timeout)
        raise ToolTimeout(f"no answer within {timeout:g}s (fail_tool was requested)")


def make_weather_source(weather_api_url: str) -> WeatherSource:
    return HttpWeather(weather_api_url) if weather_api_url else OfflineWeather()


@dataclass(frozen=True)
class ToolOutcome:
    city: str
    report: dict[str, Any] | None  # None when every attempt failed
    error: str  # "" on success
    attempts: int

    @property
    def ok(self) -> bool:
        return self.report is not None

    @property
    def retries(self) -> int:
        return self.attempts - 1


def backoff_seconds(retry: int, base: float = BACKOFF_BASE_SECONDS) -> float:
    """Pause before retry number `retry` (1, 2, ...): base, 2*base, 4*base, ... capped."""
    return min(base * 2 ** (retry - 1), BACKOFF_CAP_SECONDS)


class WeatherTool:
    def __init__(
        self,
        tracer: Tracer,
        source: WeatherSource,
        timeout: float,
        max_retries: int,
        backoff_base: float = BACKOFF_BASE_SECONDS,
    ):
        self.tracer = tracer
        self.source = source
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base

    def call(self, city: str, unresponsive: bool = False) -> ToolOutcome:
        source = UnresponsiveWeather() if unresponsive else self.source
        max_attempts = 1 + self.max_retries
        error = ""
        for attempt in range(1, max_attempts + 1):
            if attempt > 1:
                time.sleep(backoff_seconds(attempt - 1, self.backoff_base))
            report, error = self._attempt(source, city, attempt, max_attempts)
            if report is not None:
                return ToolOutcome(city, report, "", attempt)
        return ToolOutcome(city, None, f"{TOOL_NAME} failed after {max_attempts} attempt(s): {error}", max_attempts)

    def _attempt(
        self, source: WeatherSource, city: str, attempt: int, max_attempts: int
    ) -> tuple[dict[str, Any] | None, str]:
        attributes = {
            SpanAttributes.OPENINFERENCE_SPAN_KIND: OpenInferenceSpanKindValues.TOOL.value,
            SpanAttributes.TOOL_NAME: TOOL_NAME,
            SpanAttributes.TOOL_DESCRIPTION: TOOL_DESCRIPTION,
            SpanAttributes.TOOL_PARAMETERS: json.dumps(TOOL_PARAMETERS),
            SpanAttributes.INPUT_VALUE: json.dumps({"city": city}),
            SpanAttributes.INPUT_MIME_TYPE: OpenInferenceMimeTypeValues.JSON.value,
            SpanAttributes.METADATA: json.dumps(
                {"attempt": attempt, "max_attempts": max_attempts, "timeout_s": self.timeout}
            ),
        }
        # Failures are expected here and recorded by hand, so the span is not left to the context manager.
        with self.tracer.start_as_current_span(
            TOOL_NAME, attributes=attributes, record_exception=False, set_status_on_exception=False
        ) as span:
            try:
                report = source.fetch(city, self.timeout)
            except ToolFailure as failure:
                span.record_exception(failure)
                span.set_status(Status(StatusCode.ERROR, str(failure)))
                return None, str(failure)
            span.set_attributes(
                {
                    SpanAttributes.OUTPUT_VALUE: json.dumps(report),
                    SpanAttributes.OUTPUT_MIME_TYPE: OpenInferenceMimeTypeValues.JSON.value,
                }
            )
            span.set_status(Status(StatusCode.OK))
            return report, ""
