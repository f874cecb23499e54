"""Phoenix as a component of the stack: its registry entry, rendered environment and image, and what it alone
does as the store the spans end up in, called by name by the procedures that need it: its steps once healthy
(ingestion key, UI admin, retention, the offline model's price), its PostgreSQL on docker, a Phoenix the user
runs elsewhere (its problems, its key)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from stackkit.components.component import Component, Plan, Printer
from stackkit.core import secrets
from stackkit.core.errors import OperationFailed
from stackkit.core.secrets import ADMIN_PASSWORD
from stackkit.core.setting_values import AI_DEMO_NAME, PHOENIX_NAME
from stackkit.core.settings import Settings
from stackkit.docker import images
from stackkit.phoenix import admin, database, remote, storage
from stackkit.phoenix import keys as auth
from stackkit.phoenix import metrics as phoenix_metrics
from stackkit.phoenix import pricing as model_pricing
from stackkit.phoenix import versions as phoenix_env
from stackkit.phoenix.api import PhoenixError, phoenix_client

POSTGRES_OVERRIDE = "docker-compose.postgres.yml"


def _command(settings: Settings) -> list[str]:
    # PHOENIX_VERSION's own environment (created on first use), so the setting means what the image tag does.
    # Through stackkit.phoenix.launch, which decides Phoenix's metrics (port 9090) at the last moment.
    # This checkout's stackkit first, whatever the environment has installed.
    launch = (
        f"import sys; sys.path.insert(0, {str(settings.repo_root)!r}); "
        "import stackkit.phoenix.launch as launch; launch.main(sys.argv)"
    )
    metrics = "metrics" if settings.stack_phoenix_metrics else "no-metrics"  # STACK_PHOENIX_METRICS
    command = [sys.executable, "-c", launch, phoenix_env.ensure(settings.phoenix_version), metrics]
    if settings.ai_demo_llm_provider == "offline":
        # Priced before Phoenix starts, so the price is live once it answers (stackkit/phoenix/seeded_serve.py);
        # also with `--only phoenix`, so a demo started later finds it live.
        command.append(model_pricing.seed_argument())
    return command


# Phoenix features the stack does not use, off unless the user passes them through (`.env`): each builds an MCP
# server out of Phoenix's whole REST API at start (the /mcp endpoint; the in-UI agent assistant), together about
# a fifth of Phoenix's start-up and ~30 MB of its idle memory here.
LEAN_DEFAULTS = {"PHOENIX_ENABLE_MCP_SERVER": "false", "PHOENIX_DISABLE_AGENT_ASSISTANT": "true"}


def environment(settings: Settings, plan: Plan, secrets: Mapping[str, str]) -> dict[str, str]:
    # Phoenix's own settings the user gave, over the stack's lean defaults: what the stack sets below is not
    # theirs to override.
    env = LEAN_DEFAULTS | dict(settings.phoenix_passthrough)
    env |= {
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": str(settings.phoenix_allow_external_resources).lower(),
        "PHOENIX_LOG_MIGRATIONS": "false",
        "PHOENIX_ENABLE_AUTH": str(settings.phoenix_enable_auth).lower(),
        "PHOENIX_DEFAULT_RETENTION_POLICY_DAYS": str(settings.phoenix_default_retention_policy_days),
    }
    if plan.runtime == "docker":
        # Natively stackkit.phoenix.launch sets it when Phoenix starts (only one Phoenix can have port 9090).
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
            "PHOENIX_WORKING_DIR": str(database.working_dir(settings)),
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


def postgres_env(secrets: Mapping[str, str]) -> dict[str, str]:
    return {
        "POSTGRES_USER": "phoenix",
        "POSTGRES_DB": "phoenix",
        "POSTGRES_PASSWORD": secrets["POSTGRES_PASSWORD"],
    }


def other_services(settings: Settings, plan: Plan, secrets: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The other services of Phoenix's compose project (its PostgreSQL on docker), with their environment."""
    if settings.phoenix_db == "postgres" and plan.runtime == "docker":
        return {"postgres": postgres_env(secrets)}
    return {}


def compose_overrides(settings: Settings) -> tuple[str, ...]:
    """The compose files after Phoenix's docker-compose.yml, relative to its compose folder."""
    return (POSTGRES_OVERRIDE,) if settings.phoenix_db == "postgres" else ()


def _build_image(settings: Settings, client: Any, progress: Printer) -> str:
    return images.ensure_phoenix_image(settings, client, progress=progress)


def _native_version(settings: Settings) -> str:
    python = phoenix_env.python_for(settings.phoenix_version)
    return phoenix_env.installed_version(python) or settings.phoenix_version


def secure_admin(settings: Settings, out: Printer) -> None:
    """With auth on: Phoenix's UI admin logs in with the generated password, never admin/admin."""
    if not settings.phoenix_enable_auth or settings.phoenix_external_url:
        return
    stored = secrets.ensure(settings)
    try:
        out(f"phoenix: {admin.ensure(settings, stored)}")
    except (requests.RequestException, admin.AdminLoginError) as error:
        raise OperationFailed(
            f"securing Phoenix's UI admin failed: {str(error)[:200]}. Log in to {settings.phoenix_url} as "
            f"{admin.ADMIN_EMAIL} and change its password (Profile), or run `invoke up` again"
        ) from None


def _ingest_key(settings: Settings, stored: dict[str, str]) -> tuple[dict[str, str], str]:
    try:
        return auth.ensure_ingest_key(settings, stored)
    except (requests.RequestException, PhoenixError) as error:
        raise OperationFailed(f"minting Phoenix's ingestion key failed: {str(error)[:200]}") from None


def _apply_retention(settings: Settings) -> str:
    try:
        return storage.apply_retention(settings)
    except (requests.RequestException, PhoenixError) as error:
        raise OperationFailed(f"setting Phoenix's retention policy failed: {str(error)[:200]}") from None


def _register_offline_price(settings: Settings, out: Printer) -> bool:
    """Before the demo sends anything, so that Phoenix's cost columns price its spans (cosmetic: a failure is
    one line, not a failed bring-up). True when the price is registered (now or before)."""
    source = model_pricing.PRICE_SOURCE
    try:
        if model_pricing.register_offline_model_price(phoenix_client(settings, timeout=5.0)):
            out(f"phoenix: registered the demo's offline model's price through Phoenix's API ({source})")
        else:
            out(f"phoenix: the demo's offline model's price is in Phoenix's database ({source})")
        return True
    except (requests.RequestException, PhoenixError) as error:
        out(f"phoenix: could not register the offline model's price ({str(error)[:120]}); costs show $0")
        return False


def _wait_price_live(settings: Settings, out: Printer) -> None:
    """Ready means priced: until Phoenix prices a probe span of the offline model (it loads new prices every
    5 s). Past the timeout, one warning line: the stack works, early spans cost $0."""
    out("phoenix: waiting until Phoenix prices the offline model (it loads new prices every 5 s)")
    try:
        waited = model_pricing.wait_until_live(phoenix_client(settings, timeout=5.0))
    except (requests.RequestException, PhoenixError) as error:
        out(f"WARNING: phoenix: asking whether the offline model is priced failed ({str(error)[:120]})")
        return
    if waited is None:
        out(
            f"WARNING: phoenix: the offline model's price was not live after "
            f"{model_pricing.PRICE_LIVE_TIMEOUT_SECONDS:g} s; spans written before it is cost $0"
        )
    else:
        out(
            f"phoenix: the offline model's price is live (probe {waited.probes} came back priced "
            f"after {waited.seconds:.1f} s)"
        )


@dataclass(frozen=True)
class StepsDone:
    """What Phoenix's steps once it is healthy leave for `up`: the secrets after them (a key minted once it
    answers, so the others must be rendered again), and the waits `up` runs once every component it started is
    healthy, before it calls the stack ready (the others start meanwhile)."""

    secrets: dict[str, str]
    until_ready: tuple[Callable[[], None], ...] = ()


def steps_once_healthy(settings: Settings, whole: Plan, stored: dict[str, str], out: Printer) -> StepsDone:
    """Run by `up` once the Phoenix it started is healthy: the ingestion key and the UI admin (auth on), the
    retention policy, the demo's offline model's price."""
    if settings.phoenix_enable_auth:
        stored, what = _ingest_key(settings, stored)
        out(f"phoenix: auth on, {what}")
        secure_admin(settings, out)
    out(f"phoenix: {_apply_retention(settings)}")
    offline_demo = AI_DEMO_NAME in whole.components and settings.ai_demo_llm_provider == "offline"
    if offline_demo and _register_offline_price(settings, out):
        return StepsDone(stored, (lambda: _wait_price_live(settings, out),))
    return StepsDone(stored)


def external_problem(settings: Settings) -> tuple[str, str] | None:
    """A problem with the Phoenix the user runs (PHOENIX_EXTERNAL_URL): (summary, fix), or None."""
    problem = remote.diagnose(settings)
    return (problem.summary, problem.fix) if problem else None


def external_secrets(settings: Settings, stored: dict[str, str], out: Printer) -> dict[str, str]:
    """The ingestion key for a Phoenix the stack does not run: the one given, or minted with the admin secret."""
    if settings.phoenix_api_key:
        if stored.get("PHOENIX_API_KEY") != settings.phoenix_api_key:
            stored = {**stored, "PHOENIX_API_KEY": settings.phoenix_api_key}
            stored.pop("PHOENIX_API_KEY_ID", None)  # not ours: never revoked by rotate-key
            secrets.save(settings, stored)
        out(f"phoenix: external, sending with the given key {secrets.fingerprint(settings.phoenix_api_key)}")
        return stored
    if settings.phoenix_enable_auth:
        stored, what = _ingest_key(settings, stored)
        out(f"phoenix: external with auth, {what}")
    return stored


PHOENIX = Component(
    name=PHOENIX_NAME,
    health_path="/healthz",
    url_port_setting="PHOENIX_UI_PORT",
    port_settings=("PHOENIX_UI_PORT", "PHOENIX_GRPC_HOST_PORT"),
    version_setting="PHOENIX_VERSION",
    image_setting="PHOENIX_IMAGE",
    compose_dir="stacks/arize-phoenix",
    compose_project=phoenix_metrics.PHOENIX_COMPOSE_PROJECT,
    compose_service=phoenix_metrics.PHOENIX_COMPOSE_SERVICE,
    sends_to_phoenix=False,
    optional=False,
    native_command=_command,
    native_modules=("phoenix",),
    environment=environment,
    container_endpoint="http://phoenix:6006",
    host_endpoint=lambda settings: settings.phoenix_url,
    external_url_setting="PHOENIX_EXTERNAL_URL",
    external_endpoint_setting="PHOENIX_EXTERNAL_URL",
    data_folder=database.DATA_FOLDER,
    build_image=_build_image,
    native_version=_native_version,
    exit_consequence=(
        "Phoenix answers 200 to an export before it writes the spans, so spans it accepted in its last seconds "
        "(up to PHOENIX_MAX_SPANS_QUEUE_SIZE of them) may be lost, and no sender will resend them. The fan-out's "
        "(Alloy's or the Collector's) sending queue holds what Phoenix had not yet accepted and resends it once "
        "Phoenix answers again (natively supervisord starts it at once); "
        "Phoenix's own metrics (phoenix_span_queue_size, phoenix_span_ingestion_failed_spans_total on :9090, "
        "with STACK_PHOENIX_METRICS=true) show how much was waiting"
    ),
)
