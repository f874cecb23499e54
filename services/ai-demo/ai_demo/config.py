"""The demo's configuration: read once from AI_DEMO_* (and the providers' keys) into one frozen object.

This is the only module of the demo that reads the environment. stackkit/runtimes/render.py (`ai_demo_env`) writes
exactly these variables; anything else in the environment is ignored.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

PROVIDERS = ("offline", "anthropic", "openai")
SPAN_PROCESSORS = ("batch", "simple")
_PROVIDER_KEYS = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


class ConfigError(Exception):
    """Every problem found in the environment, reported together."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = ["ai-demo: invalid configuration:", *(f"  - {problem}" for problem in problems)]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class DemoConfig:
    otlp_endpoint: str  # base URL; "/v1/traces" and "/v1/metrics" are appended
    export_metrics: bool
    project_name: str
    llm_provider: str
    llm_model: str  # "" = the provider's default model
    tool_timeout: float  # seconds per attempt
    tool_max_retries: int
    weather_api_url: str  # "" = the offline deterministic source
    tracing: bool
    span_processor: str
    # The Batch processor's schedule: OTEL_BSP_SCHEDULE_DELAY, the SDK's own variable, with the demo's default.
    span_export_delay_ms: int = 500
    otlp_ca_file: str = ""  # PEM of a private CA for an https OTLP endpoint; "" = the system's CAs
    phoenix_api_key: str = field(default="", repr=False)
    anthropic_api_key: str = field(default="", repr=False)
    openai_api_key: str = field(default="", repr=False)

    @property
    def traces_endpoint(self) -> str:
        return f"{self.otlp_endpoint}/v1/traces"

    @property
    def metrics_endpoint(self) -> str:
        return f"{self.otlp_endpoint}/v1/metrics"

    @property
    def provider_api_key(self) -> str:
        return {"anthropic": self.anthropic_api_key, "openai": self.openai_api_key}.get(self.llm_provider, "")


def load_config(environ: Mapping[str, str] | None = None) -> DemoConfig:
    """Parse the environment; raise ConfigError listing every problem."""
    env = os.environ if environ is None else environ
    problems: list[str] = []

    def read(name: str, default: str) -> str:
        return env.get(name, default).strip()

    def boolean(name: str, default: str) -> bool:
        raw = read(name, default).lower()
        if raw not in _TRUE | _FALSE:
            problems.append(f"{name}={raw!r}: expected true or false")
        return raw in _TRUE

    def choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
        raw = read(name, default).lower()
        if raw not in allowed:
            problems.append(f"{name}={raw!r}: expected one of {', '.join(allowed)}")
        return raw

    def positive_seconds(name: str, default: str) -> float:
        raw = read(name, default)
        try:
            value = float(raw)
        except ValueError:
            value = 0.0
        if not (value > 0 and math.isfinite(value)):
            problems.append(f"{name}={raw!r}: expected a number of seconds greater than 0")
        return value

    def whole_number(name: str, default: str) -> int:
        raw = read(name, default)
        if not raw.isdigit():
            problems.append(f"{name}={raw!r}: expected a whole number of at least 0")
            return 0
        return int(raw)

    tracing = boolean("AI_DEMO_TRACING", "true")
    export_metrics = boolean("AI_DEMO_EXPORT_METRICS", "false")
    otlp_endpoint = _base_url(read("AI_DEMO_OTLP_ENDPOINT", ""), required=tracing or export_metrics, problems=problems)
    llm_provider = choice("AI_DEMO_LLM_PROVIDER", "offline", PROVIDERS)
    key_name = _PROVIDER_KEYS.get(llm_provider)
    if key_name and not read(key_name, ""):
        problems.append(f"AI_DEMO_LLM_PROVIDER={llm_provider}: needs {key_name}")
    project_name = read("AI_DEMO_PROJECT_NAME", "ai-demo")
    if not project_name:
        problems.append("AI_DEMO_PROJECT_NAME: must not be empty")
    otlp_ca_file = read("AI_DEMO_OTLP_CA_FILE", "")
    if otlp_ca_file and not os.path.isfile(otlp_ca_file):
        problems.append(f"AI_DEMO_OTLP_CA_FILE={otlp_ca_file!r}: no such file; expected the PEM of the CA to trust")
    weather_api_url = read("AI_DEMO_WEATHER_API_URL", "")
    if weather_api_url and not _is_http_url(weather_api_url):
        problems.append(f"AI_DEMO_WEATHER_API_URL={weather_api_url!r}: expected empty or an http(s):// URL")

    export_delay_ms = whole_number("OTEL_BSP_SCHEDULE_DELAY", "500")
    if read("OTEL_BSP_SCHEDULE_DELAY", "500").isdigit() and export_delay_ms == 0:
        problems.append("OTEL_BSP_SCHEDULE_DELAY='0': expected a whole number of milliseconds greater than 0")

    config = DemoConfig(
        otlp_endpoint=otlp_endpoint,
        export_metrics=export_metrics,
        project_name=project_name,
        llm_provider=llm_provider,
        llm_model=read("AI_DEMO_LLM_MODEL", ""),
        tool_timeout=positive_seconds("AI_DEMO_TOOL_TIMEOUT", "0.5"),
        tool_max_retries=whole_number("AI_DEMO_TOOL_MAX_RETRIES", "2"),
        weather_api_url=weather_api_url,
        tracing=tracing,
        span_processor=choice("AI_DEMO_SPAN_PROCESSOR", "batch", SPAN_PROCESSORS),
        span_export_delay_ms=export_delay_ms,
        otlp_ca_file=otlp_ca_file,
        phoenix_api_key=read("AI_DEMO_PHOENIX_API_KEY", ""),
        anthropic_api_key=read("ANTHROPIC_API_KEY", ""),
        openai_api_key=read("OPENAI_API_KEY", ""),
    )
    if problems:
        raise ConfigError(problems)
    return config


def _is_http_url(value: str) -> bool:
    parsed = urlparse(value)
    try:
        parsed.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.hostname)


def _base_url(raw: str, required: bool, problems: list[str]) -> str:
    name = "AI_DEMO_OTLP_ENDPOINT"
    if not raw:
        if required:
            problems.append(f"{name}: not set; expected a base URL such as http://127.0.0.1:4318")
        return ""
    value = raw.rstrip("/")
    if not _is_http_url(value):
        problems.append(f"{name}={raw!r}: expected a base URL such as http://127.0.0.1:4318")
    elif value.endswith(("/v1/traces", "/v1/metrics")):
        # The demo appends the signal path itself; a doubled /v1/traces/v1/traces answers 404.
        problems.append(f"{name}={raw!r}: give the base URL without /v1/traces or /v1/metrics")
    return value
