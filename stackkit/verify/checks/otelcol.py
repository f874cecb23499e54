"""The upstream OpenTelemetry Collector as the fan-out (STACK_COLLECTOR=otelcol): its rendered config judged by
the binary itself, its health, the errors in its log, and its on-disk queue read from its own metrics."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import requests
import yaml

from stackkit.components import otelcol
from stackkit.components.component import Plan
from stackkit.core.health import probe
from stackkit.core.setting_values import AI_DEMO_NAME, OTELCOL_NAME, PHOENIX_NAME
from stackkit.core.settings import Settings
from stackkit.verify.collector import LOGS_FIX, explain, last_export_error, skip_reason
from stackkit.verify.live import UP_FIX, rendered_env, running
from stackkit.verify.registry import CheckResult, Stage, VerifyContext, check


def _structure_problems(parsed: object) -> list[str]:
    """What the Collector would refuse or silently get wrong, read from the config itself."""
    if not isinstance(parsed, dict):
        return ["it is not a YAML mapping"]
    problems = []
    service = parsed.get("service") or {}
    # A connector is an exporter of one pipeline and a receiver of another.
    connectors = parsed.get("connectors") or {}
    for pipeline, body in (service.get("pipelines") or {}).items():
        for kind in ("receivers", "processors", "exporters"):
            for name in body.get(kind) or []:
                if name not in (parsed.get(kind) or {}) and (kind == "processors" or name not in connectors):
                    problems.append(f"pipeline {pipeline} names {kind[:-1]} {name}, which is not defined")
    for name, endpoint in ((parsed.get("receivers") or {}).get("otlp", {}).get("protocols") or {}).items():
        if not str((endpoint or {}).get("endpoint", "")).startswith("0.0.0.0:"):
            problems.append(f"the otlp receiver's {name} endpoint is not on 0.0.0.0 (others cannot reach it)")
    traces = (service.get("pipelines") or {}).get("traces") or {}
    if any(str(name).split("/")[0] == "batch" for name in traces.get("processors") or []):
        problems.append(
            "a batch processor is in the traces pipeline: it answers the receiver before the sending queue is "
            "tried, so a full queue answers the senders 200 and drops their spans (batch in the exporter's "
            "sending_queue instead)"
        )
    exporter = (parsed.get("exporters") or {}).get(otelcol.EXPORTER_ID) or {}
    if str(exporter.get("endpoint", "")).rstrip("/").endswith("/v1/traces"):
        problems.append(f"{otelcol.EXPORTER_ID}'s endpoint ends in /v1/traces (it appends it: 404)")
    queue = exporter.get("sending_queue") or {}
    storage = queue.get("storage")
    if not queue.get("enabled") or queue.get("sizer") != "bytes":
        problems.append(f"{otelcol.EXPORTER_ID}'s sending_queue is not enabled and sized in bytes")
    if storage not in (service.get("extensions") or []):
        problems.append(
            f"{otelcol.EXPORTER_ID}'s queue is not on a storage extension the service runs (lost on restart)"
        )
    return problems


def _config_to_check(settings: Settings) -> tuple[str, dict[str, str], str]:
    """The rendered config and its environment, or (no stack rendered yet) the template rendered for docker."""
    config = settings.rendered_dir / otelcol.STACK_DIR / otelcol.CONFIG_NAME
    if config.exists():
        return config.read_text(), rendered_env(settings, OTELCOL_NAME), str(config)
    plan = Plan(runtime="docker", components=(PHOENIX_NAME, OTELCOL_NAME, AI_DEMO_NAME), skipped={})
    env = otelcol.environment(settings, plan, {"PHOENIX_API_KEY": "placeholder"})
    return otelcol.config_text(settings, plan), env, f"stacks/{otelcol.STACK_DIR}/{otelcol.CONFIG_NAME}.j2"


@check("otelcol.config", static=True)
def otelcol_config(ctx: VerifyContext) -> CheckResult:
    """The Collector's config (the template when nothing is rendered: it ships whichever fan-out is chosen)."""
    settings = ctx.settings
    text, env, shown = _config_to_check(settings)
    fix = "fix stacks/otelcol/config.yaml.j2 or the settings it reads, then `invoke render`"
    try:
        problems = _structure_problems(yaml.safe_load(text))
    except yaml.YAMLError as error:
        return CheckResult.failed(f"{shown} is not valid YAML: {str(error)[:200]}", fix)
    if problems:
        return CheckResult.failed(f"{shown}: " + "; ".join(problems), fix)
    binary = otelcol.binary()
    if binary is None:
        return CheckResult.passed(
            f"{shown}: pipelines, receiver and queue are sound ({otelcol.MISSING_BINARY} to validate it)"
        )
    with tempfile.TemporaryDirectory(prefix="stackkit-otelcol-") as scratch:
        config = Path(scratch) / otelcol.CONFIG_NAME
        config.write_text(text)
        try:
            result = subprocess.run(
                [binary, "validate", f"--config={config}"],
                env={"PATH": "/usr/bin:/bin", **env},
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return CheckResult.failed(f"`{binary} validate` could not run: {error}", "rebuild it: `nox -s collector`")
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()
        return CheckResult.failed(
            f"{shown}: the Collector refuses it: {reason[-1][:300] if reason else f'exit {result.returncode}'}", fix
        )
    return CheckResult.passed(f"{shown} is valid for {Path(binary).name} (`validate`)")


@check("otelcol.ready", static=False, stage=Stage.COLLECTOR)
def otelcol_ready(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    if reason := skip_reason(settings):
        return CheckResult.skipped(reason)
    health = probe(f"http://127.0.0.1:{settings.otelcol_health_port}/")
    if not running(settings, OTELCOL_NAME) or not health.ok:
        return CheckResult.failed(
            f"the Collector's health check: {health.detail}", UP_FIX.format(component=OTELCOL_NAME)
        )
    return CheckResult.passed(f"the Collector is healthy (health_check on port {settings.otelcol_health_port})")


@check("otelcol.errors", static=False, stage=Stage.COLLECTOR)
def otelcol_errors(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    if reason := skip_reason(settings):
        return CheckResult.skipped(reason)
    if not running(settings, OTELCOL_NAME):
        return CheckResult.skipped("the Collector is not running (see otelcol.ready)")
    errors, warnings = last_export_error(settings)
    if errors:
        return CheckResult.failed(
            f"{len(errors)} error lines in the Collector's log, last: {explain(errors[-1])}", LOGS_FIX
        )
    if warnings:
        return CheckResult.warned(
            f"{len(warnings)} warning lines in the Collector's log, last: {explain(warnings[-1])}", LOGS_FIX
        )
    return CheckResult.passed("no errors or warnings in the Collector's recent log")


@check("otelcol.queue", static=False, stage=Stage.COLLECTOR)
def otelcol_queue(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    if reason := skip_reason(settings):
        return CheckResult.skipped(reason)
    try:
        text = otelcol.metrics(settings)
    except requests.RequestException as error:
        return CheckResult.failed(
            f"the Collector's metrics ({otelcol.metrics_url(settings)}) did not answer: {type(error).__name__}",
            UP_FIX.format(component=OTELCOL_NAME),
        )
    labels = {"exporter": otelcol.EXPORTER_ID}
    size = otelcol.metric_sum(text, "otelcol_exporter_queue_size", **labels)
    capacity = otelcol.metric_sum(text, "otelcol_exporter_queue_capacity", **labels)
    not_queued = otelcol.metric_sum(text, "otelcol_exporter_enqueue_failed_spans", **labels)
    # What the receiver answered: a refusal is an HTTP 503 / gRPC UNAVAILABLE the sender's SDK retries.
    refused = otelcol.metric_sum(text, "otelcol_receiver_refused_spans", receiver="otlp")
    if not capacity:
        return CheckResult.failed(
            f"the Collector reports no sending queue for {otelcol.EXPORTER_ID}: spans are not held while Phoenix is "
            "down",
            "render again (`invoke up`): the stack's config.yaml has a sending_queue on file_storage",
        )
    used = f"{size / otelcol.MIB:.1f} of {capacity / otelcol.MIB:g} MiB queued on disk"
    fix = (
        "Phoenix is down or slower than the traffic: see phoenix.health and phoenix.ingest; ALLOY_QUEUE_MIB "
        "raises the bound"
    )
    if not_queued and refused >= not_queued:
        return CheckResult.failed(
            f"{used}; the full queue could not take {not_queued:g} spans, and the receiver refused {refused:g} spans "
            "to their senders with a retryable error (their SDKs retry, then drop and count what still fails: "
            "`invoke traffic` reports the demo's)",
            fix,
        )
    if not_queued:
        return CheckResult.failed(
            f"{used}; the full queue dropped {not_queued - refused:g} spans the receiver had answered with success "
            f"(it refused {refused:g}): something in front of the queue took them first, and they are lost",
            "route the traces pipeline straight to the exporter (batch in its sending_queue), then " + fix,
        )
    if refused:
        return CheckResult.failed(
            f"{used}; the receiver refused {refused:g} spans to their senders with a retryable error (their SDKs "
            "retry, then drop and count what still fails)",
            "`invoke logs --service otelcol` says what pushed back",
        )
    if size > capacity / 2:
        return CheckResult.warned(f"{used}: Phoenix is behind or unreachable", "see phoenix.health and phoenix.ingest")
    return CheckResult.passed(f"{used} ({otelcol.STORAGE_ID}, survives a restart)")
