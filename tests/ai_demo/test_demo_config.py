"""The demo's configuration, including what stackkit/runtimes/render.py actually hands it."""

from __future__ import annotations

from pathlib import Path

import pytest
from ai_demo.config import ConfigError, load_config

from stackkit.components.component import Plan
from stackkit.components.demo import environment as ai_demo_env
from stackkit.core.settings import load_settings

ENDPOINT = {"AI_DEMO_OTLP_ENDPOINT": "http://127.0.0.1:4318"}


def test_defaults() -> None:
    config = load_config(ENDPOINT)
    assert config.traces_endpoint == "http://127.0.0.1:4318/v1/traces"
    assert config.metrics_endpoint == "http://127.0.0.1:4318/v1/metrics"
    assert (config.llm_provider, config.llm_model, config.project_name) == ("offline", "", "ai-demo")
    assert (config.tool_timeout, config.tool_max_retries, config.weather_api_url) == (0.5, 2, "")
    assert (config.tracing, config.span_processor, config.export_metrics) == (True, "batch", False)
    assert config.span_export_delay_ms == 500
    assert config.phoenix_api_key == ""


def test_the_export_schedule_is_the_sdks_own_variable() -> None:
    assert load_config(ENDPOINT | {"OTEL_BSP_SCHEDULE_DELAY": "60000"}).span_export_delay_ms == 60_000
    for bad in ("0", "soon", "-5"):
        with pytest.raises(ConfigError, match="OTEL_BSP_SCHEDULE_DELAY"):
            load_config(ENDPOINT | {"OTEL_BSP_SCHEDULE_DELAY": bad})


def test_trailing_slash_and_case_are_normalised() -> None:
    config = load_config(
        {
            "AI_DEMO_OTLP_ENDPOINT": "http://phoenix:6006/",
            "AI_DEMO_TRACING": "TRUE",
            "AI_DEMO_SPAN_PROCESSOR": "Simple",
        }
    )
    assert config.traces_endpoint == "http://phoenix:6006/v1/traces"
    assert config.span_processor == "simple"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(
            {
                "AI_DEMO_OTLP_ENDPOINT": "http://127.0.0.1:6006/v1/traces",
                "AI_DEMO_EXPORT_METRICS": "maybe",
                "AI_DEMO_LLM_PROVIDER": "anthropic",
                "AI_DEMO_TOOL_TIMEOUT": "0",
                "AI_DEMO_TOOL_MAX_RETRIES": "-1",
                "AI_DEMO_WEATHER_API_URL": "ftp://weather",
                "AI_DEMO_SPAN_PROCESSOR": "eager",
            }
        )
    message = str(raised.value)
    for name in (
        "AI_DEMO_OTLP_ENDPOINT",
        "AI_DEMO_EXPORT_METRICS",
        "needs ANTHROPIC_API_KEY",
        "AI_DEMO_TOOL_TIMEOUT",
        "AI_DEMO_TOOL_MAX_RETRIES",
        "AI_DEMO_WEATHER_API_URL",
        "AI_DEMO_SPAN_PROCESSOR",
    ):
        assert name in message
    assert len(raised.value.problems) == 7
    assert "without /v1/traces" in message


@pytest.mark.parametrize("timeout", ["abc", "-1", "nan", "inf"])
def test_timeout_must_be_a_positive_finite_number(timeout: str) -> None:
    with pytest.raises(ConfigError, match="AI_DEMO_TOOL_TIMEOUT"):
        load_config({**ENDPOINT, "AI_DEMO_TOOL_TIMEOUT": timeout})


def test_endpoint_is_required_only_when_something_is_exported() -> None:
    with pytest.raises(ConfigError, match="AI_DEMO_OTLP_ENDPOINT: not set"):
        load_config({})
    config = load_config({"AI_DEMO_TRACING": "false", "AI_DEMO_EXPORT_METRICS": "false"})
    assert (config.tracing, config.otlp_endpoint) == (False, "")


def test_keys_stay_out_of_repr() -> None:
    config = load_config(
        {
            **ENDPOINT,
            "AI_DEMO_PHOENIX_API_KEY": "phx-secret",
            "AI_DEMO_LLM_PROVIDER": "openai",
            "OPENAI_API_KEY": "sk-1",
        }
    )
    assert config.phoenix_api_key == "phx-secret"
    assert config.provider_api_key == "sk-1"
    assert "phx-secret" not in repr(config) and "sk-1" not in repr(config)


def _stack_settings(tmp_path: Path, **overrides: str):
    env_file = tmp_path / "empty.env"
    env_file.touch()
    return load_settings({"STACK_ENV_FILE": str(env_file), "STACK_STATE_DIR": str(tmp_path / "state"), **overrides})


def test_what_render_writes_without_alloy_parses(tmp_path: Path) -> None:
    settings = _stack_settings(tmp_path, PHOENIX_ENABLE_AUTH="true")
    plan = Plan(runtime="native", components=("phoenix", "ai-demo"), skipped={"alloy": "no binary"})
    config = load_config(ai_demo_env(settings, plan, {"PHOENIX_API_KEY": "ingest-key"}))
    assert config.traces_endpoint == f"{settings.phoenix_url}/v1/traces"
    assert (config.export_metrics, config.phoenix_api_key) == (False, "ingest-key")
    assert config.project_name == settings.phoenix_project_name


def test_what_render_writes_with_alloy_parses(tmp_path: Path) -> None:
    settings = _stack_settings(tmp_path)
    plan = Plan(runtime="docker", components=("phoenix", "alloy", "ai-demo"), skipped={})
    config = load_config(ai_demo_env(settings, plan, {}))
    assert config.traces_endpoint == "http://alloy:4318/v1/traces"
    assert config.metrics_endpoint == "http://alloy:4318/v1/metrics"
    assert (config.export_metrics, config.phoenix_api_key) == (True, "")
