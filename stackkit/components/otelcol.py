"""The upstream OpenTelemetry Collector as a component of the stack (STACK_COLLECTOR=otelcol, in Alloy's place):
its registry entry, its binary, its rendered environment and config.yaml, and what the checks read from its
own metrics.

Natively it runs the stack's own build (`nox -s collector`, from stacks/otelcol/builder-config.yaml, cached
outside the repository by the manifest's hash) or an `otelcol-contrib` on PATH; on docker the official
`otel/opentelemetry-collector-contrib` image at OTELCOL_VERSION, or where no registry serves it the same build
as a local image (OTELCOL_IMAGE=stackkit/components/otelcol:<manifest hash>, stacks/otelcol/image, built by the
`build_image` hook).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jinja2
import requests

from stackkit.components.alloy import fan_out_environment, phoenix_metrics_address, queue_batch
from stackkit.components.component import Component, Plan, Printer, ca_bundle_path
from stackkit.components.phoenix import PHOENIX
from stackkit.core import llm_metrics
from stackkit.core.setting_values import OTELCOL_NAME
from stackkit.core.settings import REPO_ROOT, Settings
from stackkit.docker import images

STACK_DIR = "otelcol"  # in the repository's stacks/ and in the rendered folder
DATA_FOLDER = "otelcol"
MANIFEST = REPO_ROOT / "stacks" / STACK_DIR / "builder-config.yaml"
BINARY_NAME = "otelcol-stackkit"
CONTRIB_BINARY = "otelcol-contrib"
CONFIG_NAME = "config.yaml"
# The exporter's id in the config, and so the `exporter` label of the Collector's own metrics.
EXPORTER_ID = "otlp_http/phoenix"  # "otlphttp" is a deprecated alias (a warning at every start)
STORAGE_ID = "file_storage/queue"
# Ports inside the container (the docker runtime publishes them on the host ports the settings name).
CONTAINER_PORTS = {"grpc": 4317, "http": 4318, "health": 13133, "metrics": 8888}
CONTAINER_QUEUE_DIR = "/var/lib/otelcol/queue"
# Each queue consumer holds one batch in memory while sending it (as Alloy's ALLOY_QUEUE_CONSUMERS).
QUEUE_CONSUMERS = 2
MIB = 1024 * 1024


# --- the stack's own build ---------------------------------------------------------------------------


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stackkit" / "otelcol"


def manifest_hash() -> str:
    return hashlib.sha256(MANIFEST.read_bytes()).hexdigest()[:16]


def build_dir() -> Path:
    return cache_root() / manifest_hash()


def built_binary() -> Path:
    return build_dir() / BINARY_NAME


def binary() -> str | None:
    """The Collector the native runtime runs: the stack's own build, else an otelcol-contrib on PATH."""
    own = built_binary()
    if own.is_file() and os.access(own, os.X_OK):
        return str(own)
    return shutil.which(CONTRIB_BINARY)


def local_image() -> str:
    """The stack's own build as a local image: one name per manifest, as the binary's folder."""
    return f"stackkit/components/otelcol:{manifest_hash()}"


def _build_image(settings: Settings, client: Any, progress: Printer) -> str:
    return images.ensure_otelcol_image(settings, client, built_binary(), local_image(), progress=progress)


MISSING_BINARY = (
    f"no Collector: neither the stack's own build ({BINARY_NAME}, `nox -s collector` builds it with Go) "
    f"nor `{CONTRIB_BINARY}` on PATH"
)


# --- the rendered config -----------------------------------------------------------------------------


def queue_dir(settings: Settings, runtime: str) -> str:
    return CONTAINER_QUEUE_DIR if runtime == "docker" else str(settings.data_dir / DATA_FOLDER / "queue")


def environment(settings: Settings, plan: Plan, secrets: Mapping[str, str]) -> dict[str, str]:
    """What its config.yaml reads as ${env:...}: the same variables as Alloy's pieces."""
    return fan_out_environment(settings, plan, secrets)


def config_text(settings: Settings, plan: Plan) -> str:
    """config.yaml for the Collector; secrets and URLs stay in its environment (${env:...})."""
    runtime = plan.runtime
    phoenix_base = PHOENIX.reached_at(settings, runtime)
    ca_file = ca_bundle_path(settings, runtime)
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(settings.repo_root / "stacks" / STACK_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    docker = runtime == "docker"
    context = {
        "grpc_port": CONTAINER_PORTS["grpc"] if docker else settings.alloy_otlp_grpc_port,
        "http_port": CONTAINER_PORTS["http"] if docker else settings.alloy_otlp_http_port,
        "health_port": CONTAINER_PORTS["health"] if docker else settings.otelcol_health_port,
        "metrics_port": CONTAINER_PORTS["metrics"] if docker else settings.otelcol_metrics_port,
        # Natively the health and metrics servers are this machine's only; in a container 0.0.0.0, published
        # on STACK_UI_ADDRESS.
        "admin_host": "0.0.0.0" if docker else "127.0.0.1",
        "auth_enabled": settings.phoenix_wants_key,
        "phoenix_endpoint_is_plain_http": urlparse(phoenix_base).scheme == "http",
        "private_ca": bool(ca_file),
        "remote_write_enabled": settings.metrics_enabled,
        "phoenix_metrics_address": phoenix_metrics_address(settings, plan),
        "queue_dir": queue_dir(settings, runtime),
        "queue_bytes": settings.alloy_queue_mib * MIB,
        "queue_mib": settings.alloy_queue_mib,
        "queue_consumers": QUEUE_CONSUMERS,
        **queue_batch(settings.alloy_queue_mib * MIB),
        "exporter_id": EXPORTER_ID,
        "storage_id": STORAGE_ID,
    } | llm_metrics.template_context()
    return templates.get_template(f"{CONFIG_NAME}.j2").render(context)


def rendered_files(settings: Settings, plan: Plan) -> dict[str, str]:
    return {f"{STACK_DIR}/{CONFIG_NAME}": config_text(settings, plan)}


def variables_read(settings: Settings) -> list[str]:
    reads = [f"#   PHOENIX_OTLP_ENDPOINT={PHOENIX.reached_at(settings, 'native')}  (base URL, no /v1/traces)"]
    if settings.phoenix_wants_key:
        reads.append("#   PHOENIX_API_KEY=<an ingestion key of that Phoenix>")
    if settings.phoenix_ca_bundle:
        reads.append(f"#   PHOENIX_CA_FILE={settings.phoenix_ca_bundle}  (the private CA, readable by the Collector)")
    if settings.metrics_enabled:
        reads.append(f"#   PROMETHEUS_REMOTE_WRITE_URL={settings.prometheus_remote_write_url}")
    return reads


def config_to_paste(settings: Settings) -> str:
    """`invoke render --print otelcol-config`: the config for a Collector the user runs, naming what it reads."""
    plan = Plan(runtime="native", components=(OTELCOL_NAME,), skipped={})
    body = config_text(settings, plan).split("\n\n", 1)[1]  # the "Rendered by" header is not theirs
    header = [
        "# OpenTelemetry Collector config from stackkit (`invoke render --print otelcol-config`): run it with",
        "# `otelcol-contrib --config=config.yaml`. It reads these variables from the Collector's environment:",
        *variables_read(settings),
    ]
    return "\n".join(header) + "\n\n" + body


def _command(settings: Settings) -> list[str]:
    config = settings.rendered_dir / STACK_DIR / CONFIG_NAME
    return [binary() or CONTRIB_BINARY, f"--config={config}"]


def _native_missing(settings: Settings) -> str | None:
    if binary() is None:
        return f"{MISSING_BINARY}; the demo exports straight to Phoenix's /v1/traces"
    return None


def _not_chosen(settings: Settings) -> str | None:
    return None if settings.stack_collector == OTELCOL_NAME else f"STACK_COLLECTOR={settings.stack_collector}"


def build_core_version() -> str:
    """The Collector core release the stack's own build is made of (its manifest's otlpreceiver module)."""
    found = re.search(r"go\.opentelemetry\.io/collector/receiver/otlpreceiver v(\S+)", MANIFEST.read_text())
    return found.group(1) if found else ""


def _native_version(settings: Settings) -> str:
    found = binary()
    if found == str(built_binary()):
        return f"stack build {manifest_hash()} (core v{build_core_version()})"
    return f"{CONTRIB_BINARY} on PATH" if found else settings.otelcol_version


def version_problem(settings: Settings, runtime: str) -> str | None:
    """Natively the stack runs its own build, whose version is its manifest's: another OTELCOL_VERSION names a
    Collector that would not run, and `status` would show a version that is not the one running."""
    if runtime != "native" or settings.stack_collector != OTELCOL_NAME or binary() != str(built_binary()):
        return None
    built = build_core_version()
    if not built or settings.otelcol_version == built:
        return None
    return (
        f"OTELCOL_VERSION={settings.otelcol_version}: the native runtime runs the stack's own Collector build, "
        f"core v{built} (stacks/otelcol/builder-config.yaml); set OTELCOL_VERSION={built} (or remove it), or "
        f"run the {settings.otelcol_version} image with STACK_RUNTIME=docker"
    )


# --- what it says about itself -----------------------------------------------------------------------


def metrics_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.otelcol_metrics_port}/metrics"


def metrics(settings: Settings) -> str:
    return requests.get(metrics_url(settings), timeout=5).text


def metric_sum(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels` (0 when there are none). Counters are
    matched with or without `_total` (the Collector v0.165 exports them without it)."""
    total = 0.0
    pattern = rf"^{re.escape(name)}(?:_total)?(?:\{{([^}}]*)\}})?\s+(\S+)"
    for match in re.finditer(pattern, text, flags=re.MULTILINE):
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            total += float(match.group(2))
    return total


def queued_bytes(settings: Settings) -> float:
    """Bytes in the sending queue to Phoenix (its sizer is bytes), from the Collector's own metrics."""
    return metric_sum(metrics(settings), "otelcol_exporter_queue_size", exporter=EXPORTER_ID)


OTELCOL = Component(
    name=OTELCOL_NAME,
    health_path="/",
    url_port_setting="OTELCOL_HEALTH_PORT",
    # The apps' OTLP ports are Alloy's settings: whichever fan-out STACK_COLLECTOR picks holds them.
    port_settings=("ALLOY_OTLP_GRPC_PORT", "ALLOY_OTLP_HTTP_PORT", "OTELCOL_HEALTH_PORT", "OTELCOL_METRICS_PORT"),
    version_setting="OTELCOL_VERSION",
    image_setting="OTELCOL_IMAGE",
    compose_dir=f"stacks/{STACK_DIR}",
    compose_project="otelcol",
    compose_service="otelcol",
    # With no registry (OTELCOL_IMAGE=local_image()): stacks/otelcol/image around the binary above.
    build_image=_build_image,
    sends_to_phoenix=True,
    optional=True,
    native_command=_command,
    environment=environment,
    container_endpoint="http://otelcol:4318",
    host_endpoint=lambda settings: settings.alloy_otlp_http_url,
    data_folder=DATA_FOLDER,
    rendered_files=rendered_files,
    destination=lambda plan: PHOENIX.name,
    native_version=_native_version,
    queued_bytes=queued_bytes,
    not_chosen=_not_chosen,
    printable_pieces=(("otelcol-config", config_to_paste),),
    native_missing=_native_missing,
    # stacks/otelcol/config.yaml.j2: the receiver answers only once the spans are in the on-disk queue (fsync).
    exit_consequence=(
        "until it answers again (natively supervisord starts it at once; docker, its restart policy) the apps' "
        "exports to it are refused and their OTLP SDK retries (the Python one with backoff, within its 10 s "
        "export timeout), then drops that batch; spans in the Collector's on-disk sending queue (every span it "
        "accepted) are sent when it starts again"
    ),
)
