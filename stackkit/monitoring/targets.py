"""The watched-target model: what the user's Prometheus scrapes for the stack as a plan runs it (scrape jobs
named after the components), and the limits the rules compare with."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from stackkit.components import registry as components
from stackkit.components.component import Plan
from stackkit.components.otelcol import CONTAINER_PORTS as OTELCOL_CONTAINER_PORTS
from stackkit.core.errors import UsageError
from stackkit.core.setting_values import FAN_OUTS, PHOENIX_NAME
from stackkit.core.settings import Settings
from stackkit.phoenix import metrics as phoenix_metrics

# Scrape jobs carry the component's name: Phoenix's, and the fan-outs'.
PHOENIX_JOB = PHOENIX_NAME
FANOUT_JOBS = FAN_OUTS
# Phoenix's default when PHOENIX_MAX_SPANS_QUEUE_SIZE is not given (phoenix/config.py).
PHOENIX_DEFAULT_MAX_SPANS_QUEUE = 20_000


@dataclass(frozen=True)
class Watched:
    """What the user's Prometheus scrapes for this stack, and the limits the rules compare with."""

    phoenix_target: str  # host:port of Phoenix's metrics; "" when the stack cannot name one
    fanout: str  # a fan-out's name (FANOUT_JOBS) or "" (no fan-out: apps send straight to Phoenix)
    fanout_target: str
    max_spans_queue: int
    runtime: str
    notes: tuple[str, ...] = ()  # why a job is missing, for the scrape file's header


def _max_spans_queue(settings: Settings) -> int:
    raw = dict(settings.phoenix_passthrough).get("PHOENIX_MAX_SPANS_QUEUE_SIZE", "").strip()
    if not raw:
        return PHOENIX_DEFAULT_MAX_SPANS_QUEUE
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"PHOENIX_MAX_SPANS_QUEUE_SIZE={raw!r}: expected a whole number of at least 1 (spans)")
    return int(raw)


def _host_port(url: str) -> str:
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{parsed.hostname}:{port}"


def watched(settings: Settings, plan: Plan) -> Watched:
    """The scrape targets of the stack as `plan` runs it, reachable from the host natively, and from a container
    on STACK_NETWORK on docker (the metrics ports are not published there)."""
    notes: list[str] = []
    docker = plan.runtime == "docker"
    phoenix_target = ""
    if settings.phoenix_external_url:
        notes.append(
            "Phoenix is external (PHOENIX_EXTERNAL_URL): scrape its metrics port (9090) where it runs, "
            f'as job_name "{PHOENIX_JOB}".'
        )
    elif docker:
        phoenix_target = f"{components.PHOENIX.compose_service}:{phoenix_metrics.METRICS_PORT}"
    elif phoenix_metrics.enabled(settings, "native"):
        phoenix_target = f"127.0.0.1:{phoenix_metrics.METRICS_PORT}"
    else:
        until = "they are on" if not settings.stack_phoenix_metrics else "it is free"
        notes.append(phoenix_metrics.why_off(settings) + f": no Phoenix job until {until}.")
    fanout, fanout_target = "", ""
    alloy = components.ALLOY
    if alloy.name in plan.external:
        fanout, fanout_target = alloy.name, _host_port(settings.alloy_url)
    elif alloy.name in plan.components:
        fanout = alloy.name
        fanout_target = f"{alloy.compose_service}:12345" if docker else f"127.0.0.1:{settings.alloy_ui_port}"
    elif (otelcol := components.OTELCOL).name in plan.components:
        # The Collector's own metrics server (service.telemetry.metrics): OTELCOL_METRICS_PORT on this machine.
        fanout = otelcol.name
        fanout_target = (
            f"{otelcol.compose_service}:{OTELCOL_CONTAINER_PORTS['metrics']}"
            if docker
            else f"127.0.0.1:{settings.otelcol_metrics_port}"
        )
    else:
        notes.append("No fan-out runs (apps send straight to Phoenix): no fan-out job.")
    if docker:
        notes.append(
            f"Docker runtime: these addresses resolve on the network {settings.stack_network}; attach your "
            f"Prometheus to it (`docker network connect {settings.stack_network} <container>`)."
        )
    return Watched(
        phoenix_target=phoenix_target,
        fanout=fanout,
        fanout_target=fanout_target,
        max_spans_queue=_max_spans_queue(settings),
        runtime=plan.runtime,
        notes=tuple(notes),
    )
