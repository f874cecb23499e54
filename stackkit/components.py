"""The stack's components, each declared once: everything that lists or branches on components reads this.

Adding a component is one entry here (plus its compose folder, its rendered environment in render.py,
its tests and docs).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass

from stackkit.errors import UsageError
from stackkit.settings import Settings


def _phoenix_command(settings: Settings) -> list[str]:
    return [sys.executable, "-m", "phoenix.server.main", "serve"]


def _alloy_command(settings: Settings) -> list[str]:
    return [
        shutil.which("alloy") or "alloy",
        "run",
        str(settings.rendered_dir / "grafana-alloy"),
        f"--server.http.listen-addr=127.0.0.1:{settings.alloy_ui_port}",
        f"--storage.path={settings.data_dir / 'alloy'}",
    ]


def _ai_demo_command(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "ai_demo.app:app",
        "--app-dir",
        str(settings.repo_root / "services" / "ai-demo"),
        "--host",
        "127.0.0.1",
        "--port",
        str(settings.ai_demo_port),
    ]


@dataclass(frozen=True)
class Component:
    name: str
    health_path: str
    url_port_setting: str  # the host port of its health/UI URL
    port_settings: tuple[str, ...]  # every host port it holds
    version_setting: str | None  # None: built from this repository
    image_setting: str
    compose_dir: str  # folder of its docker-compose.yml, relative to the repository
    compose_project: str
    compose_service: str
    sends_to_phoenix: bool  # stopped before Phoenix stops, so its queued spans drain into Phoenix
    optional: bool  # may be skipped where it cannot run (the stack then works without it)
    native_command: Callable[[Settings], list[str]]  # how the native runtime runs it
    native_binary: str | None = None  # the program the native runtime needs on PATH, when not this Python
    # The setting naming one the user already runs (base URL): when set, the stack uses it and starts none.
    external_url_setting: str | None = None

    @property
    def compose_file(self) -> str:
        return f"{self.compose_dir}/docker-compose.yml"


PHOENIX = Component(
    name="phoenix",
    health_path="/healthz",
    url_port_setting="PHOENIX_UI_PORT",
    port_settings=("PHOENIX_UI_PORT", "PHOENIX_GRPC_HOST_PORT"),
    version_setting="PHOENIX_VERSION",
    image_setting="PHOENIX_IMAGE",
    compose_dir="stacks/arize-phoenix",
    compose_project="arize-phoenix",
    compose_service="phoenix",
    sends_to_phoenix=False,
    optional=False,
    native_command=_phoenix_command,
    external_url_setting="PHOENIX_EXTERNAL_URL",
)
ALLOY = Component(
    name="alloy",
    health_path="/-/ready",
    url_port_setting="ALLOY_UI_PORT",
    port_settings=("ALLOY_OTLP_GRPC_PORT", "ALLOY_OTLP_HTTP_PORT", "ALLOY_UI_PORT"),
    version_setting="ALLOY_VERSION",
    image_setting="ALLOY_IMAGE",
    compose_dir="stacks/grafana-alloy",
    compose_project="grafana-alloy",
    compose_service="alloy",
    sends_to_phoenix=True,
    optional=True,
    native_command=_alloy_command,
    native_binary="alloy",
    external_url_setting="ALLOY_EXTERNAL_URL",
)
AI_DEMO = Component(
    name="ai-demo",
    health_path="/healthz",
    url_port_setting="AI_DEMO_PORT",
    port_settings=("AI_DEMO_PORT",),
    version_setting=None,
    image_setting="AI_DEMO_IMAGE",
    compose_dir="services/ai-demo",
    compose_project="ai-demo",
    compose_service="ai-demo",
    sends_to_phoenix=True,
    optional=False,
    native_command=_ai_demo_command,
)

# Bring-up order; tear-down runs it backwards so senders drain into a still-running Phoenix.
ALL: tuple[Component, ...] = (PHOENIX, ALLOY, AI_DEMO)
NAMES: tuple[str, ...] = tuple(component.name for component in ALL)
BY_NAME = {component.name: component for component in ALL}


def get(name: str) -> Component:
    """The component called `name`; UsageError naming the choices otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise UsageError(f"unknown component {name!r}: choose from {', '.join(NAMES)}") from None


def external_urls(settings: Settings) -> dict[str, str]:
    """The components the user already runs elsewhere, by name, with their base URL."""
    return {
        component.name: str(settings.value_of(component.external_url_setting)).rstrip("/")
        for component in ALL
        if component.external_url_setting and settings.value_of(component.external_url_setting)
    }


def senders() -> tuple[Component, ...]:
    return tuple(component for component in ALL if component.sends_to_phoenix)
