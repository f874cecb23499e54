"""How an app sends its traces to the running stack, said once: the lines `invoke up` and `invoke status` print, and
the standard OTEL_* variables `invoke render --print app-env` prints (a shell snippet and a compose
`environment:` block).

The endpoint in use is the fan-out when one runs (it accepts OTLP/HTTP protobuf and JSON, OTLP/gRPC, and metrics,
and holds Phoenix's key itself), else Phoenix, which takes OTLP/HTTP protobuf traces only (JSON: 415, metrics and
logs: 405) and the key when auth is on. Each limit named here is one the client matrix
(tests/stackkit/clients/) measures.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from urllib.parse import quote

import yaml

from stackkit.components import registry as components
from stackkit.components.component import Plan
from stackkit.core import secrets
from stackkit.core.errors import OperationFailed
from stackkit.core.settings import Settings
from stackkit.stack import lifecycle

PROJECT_ATTRIBUTE = "openinference.project.name"
PROJECT_HEADER = "x-project-name"
COMPOSE_MARKER = "COMPOSE"
KEY_HINT = "`invoke render --print app-env --show` prints it; `invoke credentials` says where it is kept"


@dataclass(frozen=True)
class AppEndpoint:
    """Where an app on this host sends, and what it must send with."""

    via: str  # the component apps send to: a fan-out's name, or Phoenix's
    http_base: str  # OTLP/HTTP base URL; the SDKs append /v1/traces
    grpc_address: str  # host:port of OTLP/gRPC
    container_base: str  # OTLP/HTTP base URL for a container on the stack's network ("" when none is known)
    needs_key: bool  # the app itself sends `authorization: Bearer <ingestion key>`
    project: str
    straight_to_phoenix: bool

    @property
    def traces_url(self) -> str:
        return f"{self.http_base}/v1/traces"


def endpoint(settings: Settings, plan: Plan) -> AppEndpoint:
    """The endpoint apps use with this plan (the running one: `lifecycle.running_plan`)."""
    fan_out = plan.fan_out
    if fan_out is not None:
        component = components.get(fan_out)
        return AppEndpoint(
            via=fan_out,
            http_base=settings.alloy_otlp_http_url,
            grpc_address=f"127.0.0.1:{settings.alloy_otlp_grpc_port}",
            container_base="" if fan_out in plan.external else component.container_endpoint,
            needs_key=False,  # the fan-out holds Phoenix's ingestion key
            project=settings.phoenix_project_name,
            straight_to_phoenix=False,
        )
    phoenix = components.PHOENIX
    external = phoenix.name in plan.external
    return AppEndpoint(
        via=phoenix.name,
        http_base=settings.phoenix_url,
        grpc_address="" if external else f"127.0.0.1:{settings.phoenix_grpc_host_port}",
        container_base="" if external else phoenix.container_endpoint,
        needs_key=settings.phoenix_wants_key,
        project=settings.phoenix_project_name,
        straight_to_phoenix=True,
    )


def running_endpoint(settings: Settings) -> AppEndpoint:
    """The endpoint of the stack that runs now (as `invoke status` finds it)."""
    runtime = lifecycle.recorded_runtime(settings)
    plan = lifecycle.running_plan(runtime, lifecycle.make_plan(runtime))
    if not plan.components and not plan.external:
        raise OperationFailed(f"no stack runs from {settings.state_dir}: `invoke up` first, then ask again")
    return endpoint(settings, plan)


def how_to_send_lines(settings: Settings, plan: Plan) -> list[str]:
    """What `invoke up` and `invoke status` print for an app's author: where, which protocol, which headers."""
    target = endpoint(settings, plan)
    project = f'resource attribute {PROJECT_ATTRIBUTE}="{target.project}" (or the {PROJECT_HEADER} header)'
    if not target.straight_to_phoenix:
        return [
            f"OTLP for apps:     {target.traces_url} (HTTP: protobuf or JSON), {target.grpc_address} (gRPC), "
            f"through {target.via}; no key needed ({target.via} holds Phoenix's)",
            f"  project:         {project}",
            "  env for your app: `invoke render --print app-env`",
        ]
    lines = [
        f"OTLP for apps:     {target.traces_url} (HTTP, straight to Phoenix: no fan-out runs)",
        "  protocol:        http/protobuf only: OTLP/JSON gets 415 (Node's exporter-trace-otlp-http sends JSON "
        "by default: set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf or use exporter-trace-otlp-proto); traces "
        "only: metrics and logs get 405 (set OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none)",
    ]
    if target.grpc_address:
        lines.append(f"  gRPC:            {target.grpc_address}")
    if target.needs_key:
        lines.append(f"  headers:         authorization: Bearer <ingestion key> (without it: 401; {KEY_HINT})")
    lines += [f"  project:         {project}", "  env for your app: `invoke render --print app-env`"]
    return lines


def app_env_values(settings: Settings, target: AppEndpoint, show: bool, base: str) -> dict[str, str]:
    """The standard OTEL_* variables for an app sending to `base`; the key's value only with show."""
    values = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": base,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_RESOURCE_ATTRIBUTES": f"{PROJECT_ATTRIBUTE}={quote(target.project, safe='')}",
    }
    if target.needs_key:
        values["OTEL_EXPORTER_OTLP_HEADERS"] = "authorization=Bearer%20" + quote(_key(settings, show), safe="<>")
    if target.straight_to_phoenix:
        # Phoenix takes traces only: metrics and logs sent there are refused (405).
        values["OTEL_METRICS_EXPORTER"] = "none"
        values["OTEL_LOGS_EXPORTER"] = "none"
    return values


def _key(settings: Settings, show: bool) -> str:
    key = settings.phoenix_api_key or secrets.load(settings).get("PHOENIX_API_KEY", "")
    if not key:
        return "<no ingestion key yet: run `invoke up`>"
    return key if show else "<ingestion-key>"


def app_env_text(settings: Settings, show: bool) -> str:
    """What `invoke render --print app-env [--show]` prints: the variables for the stack that runs now."""
    return env_text(settings, running_endpoint(settings), show)


def env_text(settings: Settings, target: AppEndpoint, show: bool) -> str:
    """The OTEL_* variables for `target`: a shell snippet, then a compose `environment:` block."""
    values = app_env_values(settings, target, show, target.http_base)
    lines = [
        f"# OTLP for an app on this host, sending to {target.via} ({target.traces_url}).",
        "# Standard OpenTelemetry SDK variables: Python's and Node.js's SDKs read them as they are.",
    ]
    if target.needs_key and not show:
        lines.append(f"# The key is hidden: {KEY_HINT}.")
    lines += [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    if target.container_base:
        block = {"environment": app_env_values(settings, target, show, target.container_base)}
        # Inside a no-op here-document, so the whole output can still be pasted into a shell.
        lines += [
            "",
            f"# The same for a compose service on the stack's network ({settings.stack_network}), to copy into its",
            "# service (the lines between the COMPOSE markers):",
            f": <<'{COMPOSE_MARKER}'",
            yaml.safe_dump(block, default_flow_style=False, sort_keys=False, width=10_000).rstrip(),
            COMPOSE_MARKER,
        ]
    return "\n".join(lines) + "\n"
