"""What the runtime checks share: the running stack's runtime and plan, and the environments rendered for it."""

from __future__ import annotations

from functools import cache

from stackkit.components.component import Plan
from stackkit.components.registry import ALLOY
from stackkit.core import envfile
from stackkit.core.settings import Settings
from stackkit.runtimes.base import Runtime
from stackkit.runtimes.render import ENV_DIR
from stackkit.stack import lifecycle

CANARY_DEADLINE_S = 10.0
EXPORTER_ID = "otelcol.exporter.otlphttp.phoenix"
UP_FIX = "run `invoke up` (then `invoke status`); `invoke logs --service {component}` shows why it stopped"


@cache
def runtime_and_plan(settings: Settings) -> tuple[Runtime, Plan]:
    runtime = lifecycle.recorded_runtime(settings)
    return runtime, lifecycle.make_plan(runtime)


def running(settings: Settings, component: str) -> bool:
    runtime, _ = runtime_and_plan(settings)
    return runtime.state(component).running


def rendered_env(settings: Settings, component: str) -> dict[str, str]:
    path = settings.rendered_dir / ENV_DIR / f"{component}.env"
    return envfile.read(path)


def external(settings: Settings, component: str) -> bool:
    """The user runs this component (PHOENIX_EXTERNAL_URL, ALLOY_EXTERNAL_URL): reach it there, start none."""
    _, plan = runtime_and_plan(settings)
    return component in plan.external


def alloy_skip_reason(settings: Settings) -> str | None:
    _, plan = runtime_and_plan(settings)
    if ALLOY.name in plan.skipped and ALLOY.name not in plan.external:
        return f"Alloy is not part of this stack: {plan.skipped[ALLOY.name]}"
    return None
