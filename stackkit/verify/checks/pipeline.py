"""The running pipeline end to end: the host ports, a canary span read back, metrics forwarded."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import requests

from stackkit.components import registry as components
from stackkit.components.registry import AI_DEMO, ALLOY, OTELCOL, PHOENIX
from stackkit.core import ports
from stackkit.core.health import probe
from stackkit.core.settings import Settings
from stackkit.phoenix import canary
from stackkit.phoenix.api import PhoenixError, phoenix_client
from stackkit.verify.collector import counters, remote_write_result, which_hop_lost_it
from stackkit.verify.live import (
    CANARY_DEADLINE_S,
    EXPORTER_ID,
    UP_FIX,
    alloy_skip_reason,
    external,
    rendered_env,
    running,
    runtime_and_plan,
)
from stackkit.verify.registry import CheckResult, Stage, VerifyContext, check


@check("ports.conflict", static=False, stage=Stage.PORTS)
def ports_conflict(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    # A component of this stack that runs holds its own ports; the others' must be free.
    # The fan-out not chosen (STACK_COLLECTOR) needs no ports: the chosen one holds the same OTLP ports.
    idle = [
        component
        for component in components.ALL
        if not running(settings, component.name)
        and not external(settings, component.name)
        and not component.not_chosen(settings)
    ]
    clashes = ports.busy(settings.host_ports(), idle)
    if clashes:
        return CheckResult.failed(
            "host ports the stack needs are taken: " + "; ".join(clashes),
            "stop what holds them, or set the named settings in .env to free ports (4317/4318 clash with "
            "other collectors: move ALLOY_OTLP_GRPC_PORT/ALLOY_OTLP_HTTP_PORT)",
        )
    return CheckResult.passed("every host port is free or held by this stack")


def _alloy_counters(settings: Settings) -> dict[str, float]:
    text = requests.get(f"{settings.alloy_url}/metrics", timeout=5).text
    counters = {"accepted": 0.0, "sent": 0.0, "send_failed": 0.0}
    of_exporter = rf'\{{[^}}]*component_id="{EXPORTER_ID}"[^}}]*\}}\s+(\S+)'
    patterns = {
        "accepted": r"^otelcol_receiver_accepted_spans_total\{[^}]*\}\s+(\S+)",
        "sent": r"^otelcol_exporter_sent_spans_total" + of_exporter,
        "send_failed": r"^otelcol_exporter_send_failed_spans_total" + of_exporter,
    }
    for name, pattern in patterns.items():
        counters[name] = sum(float(value) for value in re.findall(pattern, text, flags=re.MULTILINE))
    return counters


@dataclass(frozen=True)
class AppsRoute:
    """Where the apps are told to send their spans (the demo's rendered AI_DEMO_OTLP_ENDPOINT), as reached from
    this host: the fan-out when one is planned, else Phoenix."""

    fan_out: str | None  # the fan-out's component name; None: straight to Phoenix
    url: str  # .../v1/traces
    told: str  # the endpoint as the demo has it (a container name on docker)


def apps_route(settings: Settings) -> AppsRoute:
    """The route the canary takes: the one the apps are told, never one chosen by what runs, so a dead fan-out
    fails the canary as it fails the apps."""
    _, plan = runtime_and_plan(settings)
    told = rendered_env(settings, AI_DEMO.name).get("AI_DEMO_OTLP_ENDPOINT", "").rstrip("/")
    to_phoenix = PHOENIX.reached_at(settings, plan.runtime).rstrip("/")
    if told == to_phoenix or (not told and plan.fan_out is None):
        return AppsRoute(None, f"{settings.phoenix_url}/v1/traces", told or to_phoenix)
    fan_out = plan.fan_out or settings.stack_collector
    endpoint = components.get(fan_out).reached_at(settings, "native").rstrip("/")  # from this host
    return AppsRoute(fan_out, f"{endpoint}/v1/traces", told or endpoint)


def _fan_out_counters(settings: Settings, fan_out: str) -> dict[str, float] | None:
    try:
        return counters(settings) if fan_out == OTELCOL.name else _alloy_counters(settings)
    except requests.RequestException:
        return None  # its metrics do not answer either: the send below says what that means


@check("pipeline.canary", static=False, stage=Stage.PIPELINE)
def pipeline_canary(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    if not probe(f"{settings.phoenix_url}/healthz", verify=settings.phoenix_tls_verify).ok:
        return CheckResult.failed(
            "Phoenix is not answering, so nothing can land", UP_FIX.format(component=PHOENIX.name)
        )
    route = apps_route(settings)
    url, fan_out = route.url, route.fan_out
    before: dict[str, float] | None = None
    if fan_out:
        token, hop = "", f"the fan-out ({fan_out})'s OTLP/HTTP receiver, where the apps send"
        before = _fan_out_counters(settings, fan_out)
    else:
        token = rendered_env(settings, AI_DEMO.name).get("AI_DEMO_PHOENIX_API_KEY", "")
        hop = "Phoenix's /v1/traces (the apps send straight to Phoenix: no fan-out in this stack)"
    sent_at = time.monotonic()
    try:
        result = canary.send_canary(url, token, verify=settings.phoenix_tls_verify)
    except requests.RequestException as error:
        if fan_out:
            answer = (
                "did not answer in time (frozen or overloaded?)"
                if isinstance(error, requests.Timeout)
                else (
                    "refused the connection (not running?)" if isinstance(error, requests.ConnectionError) else "failed"
                )
            )
            return CheckResult.failed(
                f"the fan-out ({fan_out}) at {url}, where the apps are told to send (AI_DEMO_OTLP_ENDPOINT="
                f"{route.told}), {answer}: {type(error).__name__}. Every span the apps send now is refused; "
                "their SDKs retry for a while, then drop it",
                f"`invoke up` starts {fan_out} again (`invoke restart {fan_out}` when it runs but does not answer); "
                f"`invoke logs --service {fan_out}` shows why it stopped",
            )
        return CheckResult.failed(
            f"the canary could not be sent to {url}: {type(error).__name__}", UP_FIX.format(component=PHOENIX.name)
        )
    if result.status_code == 401:
        return CheckResult.failed(
            f"{hop} answered 401: the canary was dropped", "see phoenix.auth; `invoke rotate-key`"
        )
    if result.status_code == 415:
        return CheckResult.failed(f"{hop} answered 415", "send OTLP as protobuf (Phoenix refuses JSON)")
    if result.status_code != 200:
        return CheckResult.failed(f"{hop} answered HTTP {result.status_code}: {result.body}", "read the sender's logs")
    reader = phoenix_client(settings)
    try:
        spans = reader.wait_for_traces(canary.STACK_PROJECT, [result.trace_id], timeout=CANARY_DEADLINE_S)[
            result.trace_id
        ]
        elapsed = time.monotonic() - sent_at
        if spans:
            canary.forget(reader, result.trace_id)
    except PhoenixError as error:
        return CheckResult.failed(f"reading the canary back failed: {error}", "check phoenix.health and phoenix.auth")
    if spans:
        return CheckResult.passed(
            f"canary {result.trace_id} sent to {hop}, queryable in Phoenix after {elapsed:.2f}s "
            f"(in the stack's own project {canary.STACK_PROJECT}, then deleted)"
        )
    why = ""
    if fan_out and before is not None:
        lost = which_hop_lost_it if fan_out == OTELCOL.name else _which_hop_lost_it
        why = f": {lost(settings, before)}"
    elif not fan_out and settings.phoenix_external_url:
        why = (
            ": something between took it with a 2xx and did not forward it (a proxy or tunnel answering for "
            "Phoenix; see phoenix.remote)"
        )
    return CheckResult.failed(
        f"canary {result.trace_id} accepted by {hop} but not in Phoenix after {CANARY_DEADLINE_S:g}s{why}",
        f"see the hop named above; `invoke logs --service {fan_out or PHOENIX.name}` and "
        "`invoke logs --service phoenix`",
    )


def _which_hop_lost_it(settings: Settings, before: dict[str, float]) -> str:
    after = _alloy_counters(settings)
    if after["accepted"] <= before["accepted"]:
        return "Alloy did not count it as accepted (otelcol_receiver_accepted_spans_total unchanged)"
    if after["send_failed"] > before["send_failed"]:
        return (
            f"Alloy failed to send it to Phoenix ({EXPORTER_ID} send_failed rose): a 401 (auth), 415 "
            "(encoding) or 404 (endpoint ending in /v1/traces) from Phoenix"
        )
    if after["sent"] <= before["sent"]:
        return f"Alloy accepted it but has not sent it ({EXPORTER_ID} sent unchanged): queued or retrying"
    return "Alloy sent it and Phoenix took it, but it is not queryable: Phoenix's ingestion queue may be full"


@check("pipeline.metrics", static=False, stage=Stage.PIPELINE)
def pipeline_metrics(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    if not settings.metrics_enabled:
        return CheckResult.skipped("PROMETHEUS_REMOTE_WRITE_URL is empty: metrics are not forwarded")
    if settings.stack_collector == OTELCOL.name:
        if not running(settings, OTELCOL.name):
            return CheckResult.failed(
                "the Collector is not running: metrics cannot be forwarded", UP_FIX.format(component=OTELCOL.name)
            )
        return remote_write_result(settings)
    if reason := alloy_skip_reason(settings):
        return CheckResult.skipped(reason)
    if not running(settings, ALLOY.name):
        return CheckResult.failed(
            "Alloy is not running: metrics cannot be forwarded", UP_FIX.format(component=ALLOY.name)
        )
    text = requests.get(f"{settings.alloy_url}/metrics", timeout=5).text
    failed = sum(map(float, re.findall(r"^prometheus_remote_storage_samples_failed_total\S*\s+(\S+)", text, re.M)))
    sent = sum(map(float, re.findall(r"^prometheus_remote_storage_samples_total\S*\s+(\S+)", text, re.M)))
    if failed:
        return CheckResult.failed(
            f"Alloy's remote-write failed {failed:g} samples",
            "check PROMETHEUS_REMOTE_WRITE_URL (full remote-write path, e.g. …/api/v1/write) and the receiver",
        )
    return CheckResult.passed(f"Alloy has remote-written {sent:g} samples with no failures")
