"""The AI demo service (services/ai-demo) as a component of the stack: its registry entry, rendered
environment and image."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from stackkit.components.alloy import ALLOY
from stackkit.components.component import Component, Plan, Printer, ca_bundle_path
from stackkit.components.otelcol import OTELCOL
from stackkit.components.phoenix import PHOENIX
from stackkit.core.setting_values import AI_DEMO_NAME
from stackkit.core.settings import Settings
from stackkit.docker import images

SERVICE_DIR = "services/ai-demo"


# Where the demo sends when a fan-out stands between it and Phoenix.
FAN_OUTS = {ALLOY.name: ALLOY, OTELCOL.name: OTELCOL}


def _command(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "ai_demo.app:app",
        "--app-dir",
        str(settings.repo_root / SERVICE_DIR),
        "--host",
        "127.0.0.1",
        "--port",
        str(settings.ai_demo_port),
    ]


def environment(settings: Settings, plan: Plan, secrets: Mapping[str, str]) -> dict[str, str]:
    env = {
        "AI_DEMO_PROJECT_NAME": settings.phoenix_project_name,
        "AI_DEMO_LLM_PROVIDER": settings.ai_demo_llm_provider,
        "AI_DEMO_LLM_MODEL": settings.ai_demo_llm_model,
        "AI_DEMO_TOOL_TIMEOUT": str(settings.ai_demo_tool_timeout),
        "AI_DEMO_TOOL_MAX_RETRIES": str(settings.ai_demo_tool_max_retries),
        "AI_DEMO_WEATHER_API_URL": settings.ai_demo_weather_api_url,
    }
    if plan.fan_out:
        fan_out = FAN_OUTS[plan.fan_out]
        env |= {"AI_DEMO_OTLP_ENDPOINT": fan_out.reached_at(settings, plan.runtime), "AI_DEMO_EXPORT_METRICS": "true"}
    else:
        # Straight to Phoenix, which takes traces only (no /v1/metrics) and wants the key itself.
        env |= {"AI_DEMO_OTLP_ENDPOINT": PHOENIX.reached_at(settings, plan.runtime), "AI_DEMO_EXPORT_METRICS": "false"}
        if settings.phoenix_wants_key and secrets.get("PHOENIX_API_KEY"):
            env["AI_DEMO_PHOENIX_API_KEY"] = secrets["PHOENIX_API_KEY"]
        if ca_file := ca_bundle_path(settings, plan.runtime):
            env["AI_DEMO_OTLP_CA_FILE"] = ca_file
    for key_name, value in (
        ("ANTHROPIC_API_KEY", settings.anthropic_api_key),
        ("OPENAI_API_KEY", settings.openai_api_key),
    ):
        if value:
            env[key_name] = value
    return env


def _build_image(settings: Settings, client: Any, progress: Printer) -> str:
    return images.ensure_ai_demo_image(settings, client, progress=progress)


AI_DEMO = Component(
    name=AI_DEMO_NAME,
    health_path="/healthz",
    url_port_setting="AI_DEMO_PORT",
    port_settings=("AI_DEMO_PORT",),
    version_setting=None,
    image_setting="AI_DEMO_IMAGE",
    compose_dir=SERVICE_DIR,
    compose_project="ai-demo",
    compose_service="ai-demo",
    sends_to_phoenix=True,
    optional=False,
    native_command=_command,
    native_modules=("uvicorn", "fastapi"),
    environment=environment,
    build_image=_build_image,
    destination=lambda plan: plan.fan_out or PHOENIX.name,
    exit_consequence=(
        "requests it was serving failed, and spans its exporter had not yet sent are lost; requests sent "
        "before it answers again are refused"
    ),
)
