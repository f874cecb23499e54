"""Render the pieces that depend on `.env` into the state folder; versioned files are never rewritten.

Layout of `<state>/rendered/`:
  grafana-alloy/config.alloy        verbatim copy of stacks/grafana-alloy/config.alloy
  grafana-alloy/phoenix-exporter.alloy, metrics.alloy   from the *.alloy.j2 templates
  env/phoenix.env, alloy.env, ai-demo.env, postgres.env  per-component environment (0600: may hold secrets)
  compose/<compose project>.yml     the same environments as a compose override (0600), for docker

Compose gets the environments through an override file, not `env_file:`: Compose v1 reads env files with
python-dotenv and expands `${...}` even in quotes, Compose v2 keeps backslashes that python-dotenv
unescapes, so no env-file quoting reaches both exactly. A compose file's own values are well defined on
both: YAML strings with `$$` for a literal `$`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from stackkit.components import phoenix
from stackkit.components import registry as components
from stackkit.components.component import CA_BUNDLE_IN_CONTAINER, Plan
from stackkit.core import envfile
from stackkit.core.settings import Settings

ENV_DIR = "env"
COMPOSE_DIR = "compose"


def component_envs(settings: Settings, plan: Plan, secrets: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Each component's environment, and those of the other services of its compose project, by name."""
    envs: dict[str, dict[str, str]] = {}
    for component in components.ALL:
        envs[component.name] = component.environment(settings, plan, secrets)
    return envs | phoenix.other_services(settings, plan, secrets)


def compose_override_text(envs: Mapping[str, Mapping[str, str]], volumes: Mapping[str, list[str]] | None = None) -> str:
    """A compose file setting each service's environment, values quoted so Compose reads them verbatim."""
    services: dict[str, dict[str, object]] = {
        service: {"environment": {key: value.replace("$", "$$") for key, value in env.items()}}
        for service, env in envs.items()
    }
    for service, mounts in (volumes or {}).items():
        services[service]["volumes"] = [mount.replace("$", "$$") for mount in mounts]
    return yaml.safe_dump({"services": services}, default_flow_style=False, sort_keys=False, width=10_000)


def compose_override_path(settings: Settings, component: str) -> Path:
    return settings.rendered_dir / COMPOSE_DIR / f"{components.get(component).compose_project}.yml"


def render(settings: Settings, plan: Plan, secrets: Mapping[str, str]) -> list[Path]:
    """Write every rendered piece; return the paths written."""
    out = settings.rendered_dir
    written: list[Path] = []
    for component in components.ALL:
        # Private like everything in the state folder (the docker runtime mounts this folder read-only).
        for name, text in component.rendered_files(settings, plan).items():
            envfile.write_private(out / name, text)
            written.append(out / name)
    envs = component_envs(settings, plan, secrets)
    for name, env in envs.items():
        path = out / ENV_DIR / f"{name}.env"
        envfile.write(path, env)
        written.append(path)
    for component in components.ALL:
        services = {component.compose_service: envs[component.name]}
        if component is components.PHOENIX:
            services |= phoenix.other_services(settings, plan, secrets)
        path = compose_override_path(settings, component.name)
        mounts = {}
        if settings.phoenix_ca_bundle and component.sends_to_phoenix:
            mounts[component.compose_service] = [f"{settings.phoenix_ca_bundle}:{CA_BUNDLE_IN_CONTAINER}:ro"]
        envfile.write_private(path, compose_override_text(services, mounts))
        written.append(path)
    return written


def compose_environment(settings: Settings) -> dict[str, str]:
    """Variables the versioned compose files interpolate (no secrets: those are in the env files)."""
    return {
        "STACK_RENDERED_DIR": str(settings.rendered_dir),
        "STACK_NETWORK": settings.stack_network,
        "PHOENIX_IMAGE": settings.phoenix_image,
        "PHOENIX_UI_PORT": str(settings.phoenix_ui_port),
        "PHOENIX_GRPC_HOST_PORT": str(settings.phoenix_grpc_host_port),
        "PHOENIX_WORKING_DIR": settings.phoenix_working_dir,
        "POSTGRES_IMAGE": settings.postgres_image,
        "ALLOY_IMAGE": settings.alloy_image,
        "ALLOY_STABILITY_LEVEL": settings.alloy_stability_level,
        "ALLOY_OTLP_GRPC_PORT": str(settings.alloy_otlp_grpc_port),
        "ALLOY_OTLP_HTTP_PORT": str(settings.alloy_otlp_http_port),
        "ALLOY_UI_PORT": str(settings.alloy_ui_port),
        "OTELCOL_IMAGE": settings.otelcol_image,
        "OTELCOL_HEALTH_PORT": str(settings.otelcol_health_port),
        "OTELCOL_METRICS_PORT": str(settings.otelcol_metrics_port),
        "STACK_UI_ADDRESS": settings.stack_ui_address,
        "ALLOY_OTLP_ADDRESS": settings.alloy_otlp_address,
        "AI_DEMO_IMAGE": settings.ai_demo_image,
        "AI_DEMO_BASE_IMAGE": settings.ai_demo_base_image,
        "AI_DEMO_PORT": str(settings.ai_demo_port),
    }
