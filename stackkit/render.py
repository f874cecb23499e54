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

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlparse

import jinja2
import yaml

from stackkit import components, envfile, phoenix_metrics
from stackkit.secrets import ADMIN_PASSWORD
from stackkit.settings import Settings

ALLOY_DIR = "grafana-alloy"
ENV_DIR = "env"
COMPOSE_DIR = "compose"
# Services of a compose project other than the component's own, by the environment they get.
EXTRA_SERVICES = {"postgres": "phoenix"}
# Alloy's sending queue is measured in bytes of serialized spans (ALLOY_QUEUE_MIB) and kept on disk; its
# consumers each hold one batch in memory while sending it. README ("Sizing Alloy's queue") does the sums.
ALLOY_QUEUE_CONSUMERS = 2
# Retried until Phoenix answers: the queue's bound, not a timer, decides what is dropped in a long outage.
ALLOY_RETRY_MAX_ELAPSED = "0s"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Plan:
    """What a bring-up runs: the runtime and the components, with the reason for any skipped one."""

    runtime: str
    components: tuple[str, ...]
    skipped: Mapping[str, str]
    # Components the user runs elsewhere (not started, also listed in skipped), by name, with their base URL.
    external: Mapping[str, str] = field(default_factory=dict)

    @property
    def with_alloy(self) -> bool:
        """Spans go through an Alloy: the stack's own or one the user runs."""
        return "alloy" in self.components or "alloy" in self.external


@dataclass(frozen=True)
class Endpoints:
    """How components reach each other on a runtime (container names on docker, loopback natively)."""

    phoenix_base: str
    alloy_otlp_http: str


def endpoints(settings: Settings, runtime: str) -> Endpoints:
    if runtime == "docker":
        hops = Endpoints(phoenix_base="http://phoenix:6006", alloy_otlp_http="http://alloy:4318")
    else:
        hops = Endpoints(phoenix_base=settings.phoenix_url, alloy_otlp_http=settings.alloy_otlp_http_url)
    # What the user runs elsewhere is reached at the URL they gave, from the host and from containers alike.
    if settings.phoenix_external_url:
        hops = dataclasses.replace(hops, phoenix_base=settings.phoenix_url)
    if settings.alloy_external_otlp_url:
        hops = dataclasses.replace(hops, alloy_otlp_http=settings.alloy_otlp_http_url)
    return hops


# Where a container finds PHOENIX_CA_BUNDLE (mounted read-only by the compose override).
CA_BUNDLE_IN_CONTAINER = "/etc/stackkit/phoenix-ca.pem"


def ca_bundle_path(settings: Settings, runtime: str) -> str:
    """The path a component reads the private CA from: the file itself natively, its mount in a container."""
    if not settings.phoenix_ca_bundle:
        return ""
    return CA_BUNDLE_IN_CONTAINER if runtime == "docker" else settings.phoenix_ca_bundle


def phoenix_env(settings: Settings, plan: Plan, secrets: Mapping[str, str]) -> dict[str, str]:
    # Phoenix's own settings the user gave first: what the stack sets below is not theirs to override.
    env = dict(settings.phoenix_passthrough)
    env |= {
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": str(settings.phoenix_allow_external_resources).lower(),
        "PHOENIX_LOG_MIGRATIONS": "false",
        "PHOENIX_ENABLE_AUTH": str(settings.phoenix_enable_auth).lower(),
        "PHOENIX_DEFAULT_RETENTION_POLICY_DAYS": str(settings.phoenix_default_retention_policy_days),
    }
    if plan.runtime == "docker":
        # Natively stackkit.phoenix_launch sets it when Phoenix starts (only one Phoenix can have port 9090).
        env["PHOENIX_ENABLE_PROMETHEUS"] = "true"
    capacity = settings.phoenix_database_allocated_storage_capacity_gibibytes
    if capacity is not None:
        threshold = settings.phoenix_database_usage_insertion_blocking_threshold_percentage
        env |= {
            "PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES": f"{capacity:g}",
            "PHOENIX_DATABASE_USAGE_INSERTION_BLOCKING_THRESHOLD_PERCENTAGE": f"{threshold:g}",
        }
    if plan.runtime == "docker":
        env["PHOENIX_WORKING_DIR"] = settings.phoenix_working_dir
    else:
        env |= {
            "PHOENIX_WORKING_DIR": str(settings.data_dir / "phoenix"),
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(settings.phoenix_ui_port),
            "PHOENIX_GRPC_PORT": str(settings.phoenix_grpc_host_port),
        }
    if settings.phoenix_enable_auth:
        env["PHOENIX_SECRET"] = secrets["PHOENIX_SECRET"]
        env["PHOENIX_ADMIN_SECRET"] = secrets["PHOENIX_ADMIN_SECRET"]
        # Honoured only when the store is first created; an older store is fixed by `invoke up` (admin.py).
        if secrets.get(ADMIN_PASSWORD):
            env[ADMIN_PASSWORD] = secrets[ADMIN_PASSWORD]
    database_url = database_url_for(settings, plan.runtime, secrets)
    if database_url:
        env["PHOENIX_SQL_DATABASE_URL"] = database_url
    return env


def database_url_for(settings: Settings, runtime: str, secrets: Mapping[str, str]) -> str:
    if settings.phoenix_db != "postgres":
        return ""
    if runtime == "docker":
        # Quoted: a password of the user's choosing may hold '@', ':' or '/'.
        return f"postgresql://phoenix:{quote(secrets['POSTGRES_PASSWORD'], safe='')}@postgres:5432/phoenix"
    # libpq takes the postgres:// alias; Phoenix (SQLAlchemy) exits on it ("not a supported dialect").
    return re.sub(r"^postgres://", "postgresql://", settings.phoenix_sql_database_url)


def alloy_env(settings: Settings, plan: Plan, secrets: Mapping[str, str]) -> dict[str, str]:
    env = {"PHOENIX_OTLP_ENDPOINT": endpoints(settings, plan.runtime).phoenix_base}
    # The key is minted once Phoenix is healthy; `invoke up` renders again before starting Alloy.
    if settings.phoenix_wants_key and secrets.get("PHOENIX_API_KEY"):
        env["PHOENIX_API_KEY"] = secrets["PHOENIX_API_KEY"]
    if ca_file := ca_bundle_path(settings, plan.runtime):
        env["PHOENIX_CA_FILE"] = ca_file
    if settings.metrics_enabled:
        env["PROMETHEUS_REMOTE_WRITE_URL"] = settings.prometheus_remote_write_url
    if plan.runtime == "native":
        env["ALLOY_OTLP_GRPC_LISTEN_PORT"] = str(settings.alloy_otlp_grpc_port)
        env["ALLOY_OTLP_HTTP_LISTEN_PORT"] = str(settings.alloy_otlp_http_port)
    return env


def ai_demo_env(settings: Settings, plan: Plan, secrets: Mapping[str, str]) -> dict[str, str]:
    hops = endpoints(settings, plan.runtime)
    env = {
        "AI_DEMO_PROJECT_NAME": settings.phoenix_project_name,
        "AI_DEMO_LLM_PROVIDER": settings.ai_demo_llm_provider,
        "AI_DEMO_LLM_MODEL": settings.ai_demo_llm_model,
        "AI_DEMO_TOOL_TIMEOUT": str(settings.ai_demo_tool_timeout),
        "AI_DEMO_TOOL_MAX_RETRIES": str(settings.ai_demo_tool_max_retries),
        "AI_DEMO_WEATHER_API_URL": settings.ai_demo_weather_api_url,
    }
    if plan.with_alloy:
        env |= {"AI_DEMO_OTLP_ENDPOINT": hops.alloy_otlp_http, "AI_DEMO_EXPORT_METRICS": "true"}
    else:
        # Straight to Phoenix, which takes traces only (no /v1/metrics) and wants the key itself.
        env |= {"AI_DEMO_OTLP_ENDPOINT": hops.phoenix_base, "AI_DEMO_EXPORT_METRICS": "false"}
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


def postgres_env(secrets: Mapping[str, str]) -> dict[str, str]:
    return {
        "POSTGRES_USER": "phoenix",
        "POSTGRES_DB": "phoenix",
        "POSTGRES_PASSWORD": secrets["POSTGRES_PASSWORD"],
    }


def component_envs(settings: Settings, plan: Plan, secrets: Mapping[str, str]) -> dict[str, dict[str, str]]:
    envs = {
        "phoenix": phoenix_env(settings, plan, secrets),
        "alloy": alloy_env(settings, plan, secrets),
        "ai-demo": ai_demo_env(settings, plan, secrets),
    }
    if settings.phoenix_db == "postgres" and plan.runtime == "docker":
        envs["postgres"] = postgres_env(secrets)
    return envs


def _phoenix_metrics_address(settings: Settings, plan: Plan) -> str:
    """Where Alloy scrapes Phoenix's metrics: the container on the compose network, or the host's port 9090
    when the native Phoenix has them on; "" when they are off or Phoenix is not the stack's."""
    if settings.phoenix_external_url:
        return ""
    if plan.runtime == "docker":
        return f"phoenix:{phoenix_metrics.METRICS_PORT}"
    return f"127.0.0.1:{phoenix_metrics.METRICS_PORT}" if phoenix_metrics.enabled(settings, "native") else ""


def _alloy_pieces(settings: Settings, plan: Plan) -> dict[str, str]:
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(settings.repo_root / "stacks" / ALLOY_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    context = {
        "auth_enabled": settings.phoenix_wants_key,
        "phoenix_endpoint_is_plain_http": urlparse(endpoints(settings, plan.runtime).phoenix_base).scheme == "http",
        "private_ca": bool(settings.phoenix_ca_bundle),
        "remote_write_enabled": settings.metrics_enabled,
        "phoenix_metrics_address": _phoenix_metrics_address(settings, plan),
        "queue_bytes": settings.alloy_queue_mib * MIB,
        "queue_mib": settings.alloy_queue_mib,
        "queue_consumers": ALLOY_QUEUE_CONSUMERS,
        "retry_max_elapsed": ALLOY_RETRY_MAX_ELAPSED,
    }
    return {
        name.removesuffix(".j2"): templates.get_template(name).render(context)
        for name in ("phoenix-exporter.alloy.j2", "metrics.alloy.j2")
    }


# Pieces `invoke render --print NAME` prints for pasting into an Alloy configuration the user runs.
PRINTABLE_PIECES = ("phoenix-exporter",)


def piece_to_paste(settings: Settings, name: str) -> str:
    """A rendered piece for an Alloy the stack does not run: the header names the variables it reads."""
    plan = Plan(runtime="native", components=("alloy",), skipped={})
    body = _alloy_pieces(settings, plan)[f"{name}.alloy"]
    body = body.split("\n", 2)[2]  # the "Rendered by `invoke render`, do not edit" header is not theirs
    reads = [f"//   PHOENIX_OTLP_ENDPOINT={endpoints(settings, 'native').phoenix_base}  (base URL, no /v1/traces)"]
    if settings.phoenix_wants_key:
        reads.append("//   PHOENIX_API_KEY=<an ingestion key of that Phoenix>")
    if settings.phoenix_ca_bundle:
        reads.append(f"//   PHOENIX_CA_FILE={settings.phoenix_ca_bundle}  (the private CA, readable by Alloy)")
    header = [
        "// Phoenix trace exporter from stackkit (`invoke render --print phoenix-exporter`): paste it into your",
        "// config.alloy and route traces to it: output { traces = [otelcol.exporter.otlphttp.phoenix.input] }.",
        "// It reads these variables from Alloy's environment:",
        *reads,
    ]
    return "\n".join(header) + "\n" + body


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
    alloy_out = out / ALLOY_DIR
    # Private like everything in the state folder (the docker runtime mounts this folder read-only).
    config = alloy_out / "config.alloy"
    envfile.write_private(config, (settings.repo_root / "stacks" / ALLOY_DIR / "config.alloy").read_text())
    written.append(config)
    for name, text in _alloy_pieces(settings, plan).items():
        envfile.write_private(alloy_out / name, text)
        written.append(alloy_out / name)
    envs = component_envs(settings, plan, secrets)
    for name, env in envs.items():
        path = out / ENV_DIR / f"{name}.env"
        envfile.write(path, env)
        written.append(path)
    for component in components.ALL:
        services = {component.compose_service: envs[component.name]}
        services |= {
            extra: envs[extra] for extra, owner in EXTRA_SERVICES.items() if owner == component.name and extra in envs
        }
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
        "ALLOY_OTLP_GRPC_PORT": str(settings.alloy_otlp_grpc_port),
        "ALLOY_OTLP_HTTP_PORT": str(settings.alloy_otlp_http_port),
        "ALLOY_UI_PORT": str(settings.alloy_ui_port),
        "STACK_UI_ADDRESS": settings.stack_ui_address,
        "ALLOY_OTLP_ADDRESS": settings.alloy_otlp_address,
        "AI_DEMO_IMAGE": settings.ai_demo_image,
        "AI_DEMO_BASE_IMAGE": settings.ai_demo_base_image,
        "AI_DEMO_PORT": str(settings.ai_demo_port),
    }
