"""Checks that talk to the running stack, from the host (Phoenix's image has no shell or curl).

Each one answers a question a person asks at 2 a.m.: is Phoenix up, is Alloy up and quiet, does Phoenix
accept the senders' key, and does a span sent the way the app sends it actually become queryable?
"""

from __future__ import annotations

import re
import time
from functools import cache

import requests
from dotenv import dotenv_values

from stackkit import auth, ports, secrets, stack
from stackkit.canary import send_canary
from stackkit.health import probe
from stackkit.phoenix_api import INTERNAL_PROJECT, PhoenixClient, PhoenixError
from stackkit.render import ENV_DIR, Plan
from stackkit.runtimes.base import Runtime
from stackkit.settings import Settings
from stackkit.verify.registry import Verdict, VerifyContext, check

CANARY_DEADLINE_S = 10.0
EXPORTER_ID = "otelcol.exporter.otlphttp.phoenix"
UP_FIX = "run `invoke up` (then `invoke status`); `invoke logs --service {component}` shows why it stopped"


@cache
def _runtime_and_plan(settings: Settings) -> tuple[Runtime, Plan]:
    runtime = stack.recorded_runtime(settings)
    return runtime, stack.make_plan(runtime)


def _running(settings: Settings, component: str) -> bool:
    runtime, _ = _runtime_and_plan(settings)
    return runtime.state(component).running


def _rendered_env(settings: Settings, component: str) -> dict[str, str]:
    path = settings.rendered_dir / ENV_DIR / f"{component}.env"
    return {key: value or "" for key, value in dotenv_values(path).items()} if path.exists() else {}


@check("ports.conflict", static=False)
def ports_conflict(ctx: VerifyContext) -> Verdict:
    settings = ctx.settings
    owners = {
        "phoenix": ("PHOENIX_UI_PORT", "PHOENIX_GRPC_HOST_PORT"),
        "alloy": ("ALLOY_OTLP_GRPC_PORT", "ALLOY_OTLP_HTTP_PORT", "ALLOY_UI_PORT"),
        "ai-demo": ("AI_DEMO_PORT",),
    }
    host_ports = settings.host_ports()
    clashes = []
    for component, names in owners.items():
        if _running(settings, component):
            continue  # its ports are held by this stack
        for name in names:
            if not ports.is_free(host_ports[name]):
                clashes.append(
                    f"{name}={host_ports[name]} held by {ports.holder(host_ports[name]) or 'another process'}"
                )
    if clashes:
        return Verdict.failed(
            "host ports the stack needs are taken: " + "; ".join(clashes),
            "stop what holds them, or set the named settings in .env to free ports (4317/4318 clash with "
            "other collectors: move ALLOY_OTLP_GRPC_PORT/ALLOY_OTLP_HTTP_PORT)",
        )
    return Verdict.passed("every host port is free or held by this stack")


@check("phoenix.health", static=False)
def phoenix_health(ctx: VerifyContext) -> Verdict:
    settings = ctx.settings
    results = [probe(f"{settings.phoenix_url}{path}") for path in ("/healthz", "/readyz")]
    failing = [f"{result.url}: {result.detail}" for result in results if not result.ok]
    if not failing:
        return Verdict.passed(f"Phoenix answers /healthz and /readyz at {settings.phoenix_url}")
    if not _running(settings, "phoenix"):
        return Verdict.failed(f"Phoenix is not running ({'; '.join(failing)})", UP_FIX.format(component="phoenix"))
    return Verdict.failed(
        f"Phoenix runs but is not healthy: {'; '.join(failing)}",
        "/readyz runs SELECT 1: check the database (PHOENIX_SQL_DATABASE_URL with PHOENIX_DB=postgres) and "
        "`invoke logs --service phoenix`",
    )


def _alloy_skip_reason(settings: Settings) -> str | None:
    _, plan = _runtime_and_plan(settings)
    if "alloy" in plan.skipped:
        return f"Alloy is not part of this stack: {plan.skipped['alloy']}"
    return None


@check("alloy.ready", static=False)
def alloy_ready(ctx: VerifyContext) -> Verdict:
    settings = ctx.settings
    if reason := _alloy_skip_reason(settings):
        return Verdict.skipped(reason)
    ready = probe(f"{settings.alloy_url}/-/ready")
    if not ready.ok:
        return Verdict.failed(f"Alloy's /-/ready: {ready.detail}", UP_FIX.format(component="alloy"))
    components = requests.get(f"{settings.alloy_url}/api/v0/web/components", timeout=5).json()
    unhealthy = [
        f"{item.get('localID')} ({item.get('health', {}).get('state')})"
        for item in components
        if item.get("health", {}).get("state") != "healthy"
    ]
    if unhealthy:
        return Verdict.failed(
            f"Alloy components not healthy: {', '.join(unhealthy)}",
            f"open {settings.alloy_url} for each component's message; `invoke logs --service alloy`",
        )
    return Verdict.passed(f"Alloy is ready and its {len(components)} components are healthy")


@check("alloy.errors", static=False)
def alloy_errors(ctx: VerifyContext) -> Verdict:
    settings = ctx.settings
    if reason := _alloy_skip_reason(settings):
        return Verdict.skipped(reason)
    if not _running(settings, "alloy"):
        return Verdict.skipped("Alloy is not running (see alloy.ready)")
    runtime, _ = _runtime_and_plan(settings)
    lines = list(runtime.logs("alloy", tail=300))
    errors = [line for line in lines if "level=error" in line]
    warnings = [line for line in lines if "level=warn" in line]
    fix = "read the lines with `invoke logs --service alloy --tail 300`; a 401 from Phoenix means a missing key"
    if errors:
        return Verdict.failed(f"{len(errors)} level=error lines in Alloy's log, last: {errors[-1][:200]}", fix)
    if warnings:
        return Verdict.warned(f"{len(warnings)} level=warn lines in Alloy's log, last: {warnings[-1][:200]}", fix)
    return Verdict.passed(f"no errors or warnings in Alloy's last {len(lines)} log lines")


def _senders(settings: Settings) -> dict[str, str]:
    """Who sends to Phoenix with a key, and the key each one was given."""
    _, plan = _runtime_and_plan(settings)
    if plan.with_alloy:
        return {
            "alloy (PHOENIX_API_KEY in its env, config.alloy's Authorization header)": _rendered_env(
                settings, "alloy"
            ).get("PHOENIX_API_KEY", "")
        }
    return {
        "ai-demo (AI_DEMO_PHOENIX_API_KEY, it exports straight to Phoenix)": _rendered_env(settings, "ai-demo").get(
            "AI_DEMO_PHOENIX_API_KEY", ""
        )
    }


@check("phoenix.auth", static=False)
def phoenix_auth(ctx: VerifyContext) -> Verdict:
    settings = ctx.settings
    if not settings.phoenix_enable_auth:
        return Verdict.passed("PHOENIX_ENABLE_AUTH is off: no sender needs a key")
    if not probe(f"{settings.phoenix_url}/healthz").ok:
        return Verdict.skipped("Phoenix is not answering (see phoenix.health)")
    problems = []
    for sender, key in _senders(settings).items():
        if not key:
            problems.append(f"{sender} has no key")
        elif not auth.key_accepted(settings, key):
            problems.append(f"{sender} has a key Phoenix rejects (401: {secrets.fingerprint(key)})")
    if problems:
        return Verdict.failed(
            "auth is on and spans are being dropped with 401: " + "; ".join(problems),
            "run `invoke rotate-key` (mints a key, restarts the sender) or `invoke down && invoke up`",
        )
    return Verdict.passed("auth is on and Phoenix accepts every sender's key")


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


def _reader(settings: Settings) -> PhoenixClient:
    token = secrets.load(settings).get("PHOENIX_ADMIN_SECRET", "") if settings.phoenix_enable_auth else ""
    return PhoenixClient(settings.phoenix_url, token=token)


@check("pipeline.canary", static=False)
def pipeline_canary(ctx: VerifyContext) -> Verdict:
    settings = ctx.settings
    if not probe(f"{settings.phoenix_url}/healthz").ok:
        return Verdict.failed("Phoenix is not answering, so nothing can land", UP_FIX.format(component="phoenix"))
    via_alloy = _running(settings, "alloy")
    if via_alloy:
        url, token, hop = f"{settings.alloy_otlp_http_url}/v1/traces", "", "Alloy's OTLP/HTTP receiver"
        before = _alloy_counters(settings)
    else:
        url = f"{settings.phoenix_url}/v1/traces"
        token = _rendered_env(settings, "ai-demo").get("AI_DEMO_PHOENIX_API_KEY", "")
        hop = "Phoenix's /v1/traces (no Alloy in this stack)"
    sent_at = time.monotonic()
    try:
        # The app's endpoint, headers and auth, but the stack's own project: the user's never sees it.
        result = send_canary(url, INTERNAL_PROJECT, token)
    except requests.RequestException as error:
        return Verdict.failed(
            f"the canary could not be sent to {url}: {type(error).__name__}",
            UP_FIX.format(component="alloy" if via_alloy else "phoenix"),
        )
    if result.status_code == 401:
        return Verdict.failed(f"{hop} answered 401: the canary was dropped", "see phoenix.auth; `invoke rotate-key`")
    if result.status_code == 415:
        return Verdict.failed(f"{hop} answered 415", "send OTLP as protobuf (Phoenix refuses JSON)")
    if result.status_code != 200:
        return Verdict.failed(f"{hop} answered HTTP {result.status_code}: {result.body}", "read the sender's logs")
    try:
        reader = _reader(settings)
        spans = reader.wait_for_traces(INTERNAL_PROJECT, [result.trace_id], timeout=CANARY_DEADLINE_S)[result.trace_id]
        reader.delete_spans(spans)  # read back: the stack's project stays empty
    except PhoenixError as error:
        return Verdict.failed(f"reading the canary back failed: {error}", "check phoenix.health and phoenix.auth")
    elapsed = time.monotonic() - sent_at
    if spans:
        return Verdict.passed(f"canary {result.trace_id} sent to {hop}, queryable in Phoenix after {elapsed:.2f}s")
    return Verdict.failed(
        f"canary {result.trace_id} accepted by {hop} but not in Phoenix after {CANARY_DEADLINE_S:g}s"
        + (f": {_which_hop_lost_it(settings, before)}" if via_alloy else ""),
        "see the hop named above; `invoke logs --service alloy` and `invoke logs --service phoenix`",
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


@check("pipeline.metrics", static=False)
def pipeline_metrics(ctx: VerifyContext) -> Verdict:
    settings = ctx.settings
    if not settings.metrics_enabled:
        return Verdict.skipped("PROMETHEUS_REMOTE_WRITE_URL is empty: metrics are not forwarded")
    if reason := _alloy_skip_reason(settings):
        return Verdict.skipped(reason)
    if not _running(settings, "alloy"):
        return Verdict.failed("Alloy is not running: metrics cannot be forwarded", UP_FIX.format(component="alloy"))
    text = requests.get(f"{settings.alloy_url}/metrics", timeout=5).text
    failed = sum(map(float, re.findall(r"^prometheus_remote_storage_samples_failed_total\S*\s+(\S+)", text, re.M)))
    sent = sum(map(float, re.findall(r"^prometheus_remote_storage_samples_total\S*\s+(\S+)", text, re.M)))
    if failed:
        return Verdict.failed(
            f"Alloy's remote-write failed {failed:g} samples",
            "check PROMETHEUS_REMOTE_WRITE_URL (full remote-write path, e.g. …/api/v1/write) and the receiver",
        )
    return Verdict.passed(f"Alloy has remote-written {sent:g} samples with no failures")
