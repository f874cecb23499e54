"""Grafana Alloy as a component of the stack: its registry entry, rendered environment and the
configuration pieces rendered from stacks/grafana-alloy/*.alloy.j2."""

from __future__ import annotations

import functools
import re
import shutil
from collections.abc import Mapping
from urllib.parse import urlparse

import jinja2
import requests

from stackkit.components.component import Component, Plan, ca_bundle_path
from stackkit.components.phoenix import PHOENIX
from stackkit.core import llm_metrics
from stackkit.core.setting_values import ALLOY_NAME
from stackkit.core.settings import Settings
from stackkit.phoenix import metrics as phoenix_metrics

ALLOY_DIR = "grafana-alloy"  # in the repository's stacks/ and in the rendered folder
# Alloy's sending queue is measured in bytes of serialized spans (ALLOY_QUEUE_MIB) and kept on disk; its
# consumers each hold one batch in memory while sending it. docs/operations.md ("Sizing Alloy's queue") does the sums.
ALLOY_QUEUE_CONSUMERS = 2
# Retried until Phoenix answers: the queue's bound, not a timer, decides what is dropped in a long outage.
ALLOY_RETRY_MAX_ELAPSED = "0s"
MIB = 1024 * 1024
# Traces are batched in the exporter's sending queue (its `batch` block), not by a batch processor: a processor
# answers the receiver before the queue is tried, so a full queue was answered 200 and its spans dropped. In the
# queue, a full queue refuses the export request with a retryable error. Batches are measured in bytes, like the
# queue; their spans stay in the queue's file until Phoenix took them. A batch leaves after QUEUE_BATCH_FLUSH or
# once it holds QUEUE_BATCH_MIN_BYTES, and is split above QUEUE_BATCH_MAX_BYTES (~160 and ~320 LLM spans of
# ~50 KiB): each consumer holds at most one such batch in memory while sending.
QUEUE_BATCH_FLUSH = "200ms"
QUEUE_BATCH_MIN_BYTES = 8 * MIB
QUEUE_BATCH_MAX_BYTES = 16 * MIB
DATA_FOLDER = ALLOY_NAME
# Pieces `invoke render --print NAME` prints for pasting into an Alloy configuration the user runs.
PRINTABLE_PIECES = ("phoenix-exporter",)
# The lowest stability level Alloy loads components at (`alloy run --stability.level`, default
# generally-available): otelcol.storage.file, the Phoenix exporter's on-disk queue, is public-preview at the
# pinned Alloy, and Alloy refuses to start a configuration using a component below the level. It is the
# ALLOY_STABILITY_LEVEL setting's default; both runtimes pass the setting (the compose file reads it as
# ALLOY_STABILITY_LEVEL); verify's alloy.stability checks it.
ALLOY_STABILITY_LEVEL = "public-preview"
# At this level (the user's choice: ALLOY_STABILITY_LEVEL) the LLM piece also sums tokens per model:
# otelcol.connector.signaltometrics and otelcol.processor.deltatocumulative are experimental in Alloy v1.18.1.
TOKENS_STABILITY_LEVEL = "experimental"


def _command(settings: Settings) -> list[str]:
    return [
        shutil.which("alloy") or "alloy",
        "run",
        str(settings.rendered_dir / ALLOY_DIR),
        f"--server.http.listen-addr=127.0.0.1:{settings.alloy_ui_port}",
        f"--storage.path={settings.data_dir / DATA_FOLDER}",
        f"--stability.level={settings.alloy_stability_level}",
    ]


def fan_out_environment(settings: Settings, plan: Plan, secrets: Mapping[str, str]) -> dict[str, str]:
    """What a fan-out (Alloy or the Collector) reads to reach Phoenix and Prometheus: the same variables for both."""
    env = {"PHOENIX_OTLP_ENDPOINT": PHOENIX.reached_at(settings, plan.runtime)}
    # The key is minted once Phoenix is healthy; `invoke up` renders again before starting the fan-out.
    if settings.phoenix_wants_key and secrets.get("PHOENIX_API_KEY"):
        env["PHOENIX_API_KEY"] = secrets["PHOENIX_API_KEY"]
    if ca_file := ca_bundle_path(settings, plan.runtime):
        env["PHOENIX_CA_FILE"] = ca_file
    if settings.metrics_enabled:
        env["PROMETHEUS_REMOTE_WRITE_URL"] = settings.prometheus_remote_write_url
    return env


def queue_batch(queue_bytes: int) -> dict[str, int | str]:
    """The sending queue's batch sizes for a queue of `queue_bytes`: a batch is sent once it holds half the queue
    at most (a batch waiting to fill a 1 MiB queue would only leave on its timer) and is never larger than the
    queue (the Collector refuses a min_size above queue_size)."""
    return {
        "batch_flush_timeout": QUEUE_BATCH_FLUSH,
        "batch_min_bytes": min(QUEUE_BATCH_MIN_BYTES, queue_bytes // 2),
        "batch_max_bytes": min(QUEUE_BATCH_MAX_BYTES, queue_bytes),
    }


def environment(settings: Settings, plan: Plan, secrets: Mapping[str, str]) -> dict[str, str]:
    env = fan_out_environment(settings, plan, secrets)
    if plan.runtime == "native":
        env["ALLOY_OTLP_GRPC_LISTEN_PORT"] = str(settings.alloy_otlp_grpc_port)
        env["ALLOY_OTLP_HTTP_LISTEN_PORT"] = str(settings.alloy_otlp_http_port)
    return env


def phoenix_metrics_address(settings: Settings, plan: Plan) -> str:
    """Where Alloy (or the Collector) scrapes Phoenix's metrics: the container on the compose network, or the
    host's port 9090 when the native Phoenix has them on; "" when they are off or Phoenix is not the stack's."""
    if settings.phoenix_external_url:
        return ""
    if plan.runtime == "docker":
        return f"{PHOENIX.compose_service}:{phoenix_metrics.METRICS_PORT}"
    return f"127.0.0.1:{phoenix_metrics.METRICS_PORT}" if phoenix_metrics.enabled(settings, "native") else ""


def pieces(settings: Settings, plan: Plan) -> dict[str, str]:
    """The rendered *.alloy.j2 templates, by file name."""
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(settings.repo_root / "stacks" / ALLOY_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    context = {
        "auth_enabled": settings.phoenix_wants_key,
        "phoenix_endpoint_is_plain_http": urlparse(PHOENIX.reached_at(settings, plan.runtime)).scheme == "http",
        "private_ca": bool(settings.phoenix_ca_bundle),
        "remote_write_enabled": settings.metrics_enabled,
        "phoenix_metrics_address": phoenix_metrics_address(settings, plan),
        "queue_bytes": settings.alloy_queue_mib * MIB,
        "queue_mib": settings.alloy_queue_mib,
        "queue_consumers": ALLOY_QUEUE_CONSUMERS,
        "retry_max_elapsed": ALLOY_RETRY_MAX_ELAPSED,
        **queue_batch(settings.alloy_queue_mib * MIB),
        "tokens_enabled": settings.alloy_stability_level == TOKENS_STABILITY_LEVEL,
        "tokens_stability_level": TOKENS_STABILITY_LEVEL,
    } | llm_metrics.template_context()
    return {
        name.removesuffix(".j2"): templates.get_template(name).render(context)
        for name in ("phoenix-exporter.alloy.j2", "metrics.alloy.j2", "llm-metrics.alloy.j2")
    }


def rendered_files(settings: Settings, plan: Plan) -> dict[str, str]:
    """config.alloy verbatim and the rendered pieces, in the folder `alloy run` reads."""
    config = (settings.repo_root / "stacks" / ALLOY_DIR / "config.alloy").read_text()
    return {f"{ALLOY_DIR}/config.alloy": config} | {
        f"{ALLOY_DIR}/{name}": text for name, text in pieces(settings, plan).items()
    }


def piece_to_paste(settings: Settings, name: str) -> str:
    """A rendered piece for an Alloy the stack does not run: the header names the variables it reads."""
    plan = Plan(runtime="native", components=(ALLOY_NAME,), skipped={})
    body = pieces(settings, plan)[f"{name}.alloy"]
    body = body.split("\n", 2)[2]  # the "Rendered by `invoke render`, do not edit" header is not theirs
    reads = [f"//   PHOENIX_OTLP_ENDPOINT={PHOENIX.reached_at(settings, 'native')}  (base URL, no /v1/traces)"]
    if settings.phoenix_wants_key:
        reads.append("//   PHOENIX_API_KEY=<an ingestion key of that Phoenix>")
    if settings.phoenix_ca_bundle:
        reads.append(f"//   PHOENIX_CA_FILE={settings.phoenix_ca_bundle}  (the private CA, readable by Alloy)")
    header = [
        "// Phoenix trace exporter from stackkit (`invoke render --print phoenix-exporter`): paste it into your",
        "// config.alloy and route your receiver's traces straight to it (it batches in its queue; a batch processor",
        "// in front would answer your apps 200 when the queue is full and drop their spans):",
        "//   output { traces = [otelcol.exporter.otlphttp.phoenix.input] }.",
        f"// Its queue (otelcol.storage.file) is {ALLOY_STABILITY_LEVEL}: run your Alloy with "
        f"--stability.level={ALLOY_STABILITY_LEVEL} (or {TOKENS_STABILITY_LEVEL}).",
        "// It reads these variables from Alloy's environment:",
        *reads,
    ]
    return "\n".join(header) + "\n" + body


def _native_missing(settings: Settings) -> str | None:
    if shutil.which("alloy") is None:
        return "no `alloy` binary on PATH; the demo exports straight to Phoenix's /v1/traces"
    return None


def _not_chosen(settings: Settings) -> str | None:
    return None if settings.stack_collector == ALLOY_NAME else f"STACK_COLLECTOR={settings.stack_collector}"


# The Phoenix exporter's id in Alloy's metrics (the `component_id` label), as verify reads it.
EXPORTER_COMPONENT_ID = "otelcol.exporter.otlphttp.phoenix"


def queued_bytes(settings: Settings) -> float:
    """Bytes in the sending queue to Phoenix (its sizer is bytes), from Alloy's own metrics."""
    text = requests.get(f"{settings.alloy_url}/metrics", timeout=5).text
    pattern = (
        rf'^otelcol_exporter_queue_size\{{[^}}]*component_id="{re.escape(EXPORTER_COMPONENT_ID)}"[^}}]*\}}\s+(\S+)'
    )
    return sum(float(value) for value in re.findall(pattern, text, flags=re.MULTILINE))


ALLOY = Component(
    name=ALLOY_NAME,
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
    native_command=_command,
    environment=environment,
    container_endpoint="http://alloy:4318",
    host_endpoint=lambda settings: settings.alloy_otlp_http_url,
    native_missing=_native_missing,
    external_url_setting="ALLOY_EXTERNAL_URL",
    external_endpoint_setting="ALLOY_EXTERNAL_OTLP_URL",
    data_folder=DATA_FOLDER,
    rendered_files=rendered_files,
    destination=lambda plan: PHOENIX.name,
    printable_pieces=tuple((name, functools.partial(piece_to_paste, name=name)) for name in PRINTABLE_PIECES),
    not_chosen=_not_chosen,
    queued_bytes=queued_bytes,
    exit_consequence=(
        "until it answers again (natively supervisord starts it at once; docker, its restart policy) the apps' "
        "exports to it are refused and their OTLP SDK retries for a while, then drops that batch; spans in "
        "Alloy's on-disk queue (every span it accepted) are sent when it starts again"
    ),
)
