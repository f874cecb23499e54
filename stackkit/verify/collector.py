"""What `invoke verify` reads from the running Collector (STACK_COLLECTOR=otelcol): the errors in its current
log, each named as the hop and its cause, its span counters for the canary's hop attribution, and its
remote-write leg. Shared by the otelcol checks and the pipeline checks."""

from __future__ import annotations

import re

import requests

from stackkit.components import otelcol
from stackkit.core.setting_values import OTELCOL_NAME
from stackkit.core.settings import Settings
from stackkit.verify.live import UP_FIX, runtime_and_plan
from stackkit.verify.report import CheckResult

LOGS_FIX = "read the lines with `invoke logs --service otelcol --tail 300`"
# What Phoenix (or a proxy in front of it) answering this status means for the spans the Collector sends.
STATUS_MEANING = {
    400: "the request was refused as malformed",
    401: "Phoenix wants an ingestion key (PHOENIX_ENABLE_AUTH) and the Collector's is missing, wrong or revoked: "
    "`invoke rotate-key`",
    403: "a proxy or Phoenix refuses the Collector (an access rule in front of Phoenix?)",
    404: "nothing serves /v1/traces there: PHOENIX_EXTERNAL_URL must be Phoenix's base URL (with its path prefix, "
    "without /v1/traces)",
    405: "that URL takes no POST: it is not Phoenix's OTLP endpoint",
    413: "a proxy's body limit is smaller than a batch (nginx: raise client_max_body_size, e.g. to 16m)",
    415: "Phoenix refuses the encoding (it takes protobuf only)",
}
# The exporter's words for an HTTP answer (otlphttp: "responded with HTTP Status Code 401").
_STATUS = re.compile(r"HTTP Status Code (\d{3})")
NATIVE_START_MARK = "--- stackkit: starting otelcol"
_LEVEL = re.compile(r"^\S+\t(error|warn)\t")


def skip_reason(settings: Settings) -> str | None:
    if settings.stack_collector != OTELCOL_NAME:
        return f"STACK_COLLECTOR={settings.stack_collector}: the Collector is not this stack's fan-out"
    _, plan = runtime_and_plan(settings)
    if OTELCOL_NAME in plan.skipped:
        return f"the Collector is not part of this stack: {plan.skipped['otelcol']}"
    return None


def last_export_error(settings: Settings, tail: int = 300) -> tuple[list[str], list[str]]:
    """The error and warning lines of the Collector's recent log."""
    runtime, _ = runtime_and_plan(settings)
    errors, warnings = [], []
    lines = list(runtime.logs(OTELCOL_NAME, tail=tail))
    # Natively the log spans restarts: what an earlier run logged (a send cut short by its stop, the queue
    # kept on disk) is not this run's problem.
    starts = [index for index, line in enumerate(lines) if line.startswith(NATIVE_START_MARK)]
    for line in lines[starts[-1] + 1 :] if starts else lines:
        level = _LEVEL.match(line)
        if level and level.group(1) == "error":
            errors.append(line)
        elif level:
            warnings.append(line)
    return errors, warnings


def status_of(line: str) -> int | None:
    found = _STATUS.findall(line)
    return int(found[-1]) if found else None


def explain(line: str) -> str:
    """One error line of the Collector as what happened at which hop, and why."""
    status = status_of(line)
    if status is not None:
        meaning = STATUS_MEANING.get(status, "read the Collector's log")
        return f"Phoenix's endpoint answered the Collector HTTP {status}: {meaning}"
    if "x509" in line or "certificate" in line:
        return "the Collector does not trust Phoenix's certificate: set PHOENIX_CA_BUNDLE to the CA that signed it"
    if "connection refused" in line:
        return "the Collector cannot reach Phoenix (connection refused): it queues and retries until Phoenix is back"
    fields = line.split("\t")
    message = fields[3] if len(fields) > 3 else line
    error = re.search(r'"error": "([^"]*)', line)
    return (f"{message}: {error.group(1)}" if error else message)[:200]


def counters(settings: Settings) -> dict[str, float]:
    """The Collector's span counters, for the canary's hop attribution."""
    text = otelcol.metrics(settings)
    labels = {"exporter": otelcol.EXPORTER_ID}
    return {
        "accepted": otelcol.metric_sum(text, "otelcol_receiver_accepted_spans"),
        "sent": otelcol.metric_sum(text, "otelcol_exporter_sent_spans", **labels),
        "send_failed": otelcol.metric_sum(text, "otelcol_exporter_send_failed_spans", **labels),
        "queued": otelcol.metric_sum(text, "otelcol_exporter_queue_size", **labels),
    }


def which_hop_lost_it(settings: Settings, before: dict[str, float]) -> str:
    after = counters(settings)
    if after["accepted"] <= before["accepted"]:
        return "the Collector did not count it as accepted (otelcol_receiver_accepted_spans unchanged)"
    errors, _ = last_export_error(settings, tail=100)
    if after["send_failed"] > before["send_failed"]:
        why = explain(errors[-1]) if errors else "see its log"
        return f"the Collector -> Phoenix hop dropped it ({otelcol.EXPORTER_ID} send_failed rose): {why}"
    if after["sent"] <= before["sent"]:
        why = f": {explain(errors[-1])}" if errors else ""
        return (
            f"the Collector accepted it but has not sent it ({otelcol.EXPORTER_ID} sent unchanged, "
            f"{after['queued'] / otelcol.MIB:.2f} MiB queued): Phoenix unreachable or refusing, retried{why}"
        )
    return "the Collector sent it and Phoenix took it, but it is not queryable: Phoenix's ingestion queue may be full"


def remote_write_result(settings: Settings) -> CheckResult:
    """pipeline.metrics for the Collector: Prometheus reachable, and what the remote-write exporter counted."""
    url = settings.prometheus_remote_write_url
    try:
        requests.post(url, data=b"", timeout=5, headers={"Content-Type": "application/x-protobuf"})
    except requests.RequestException as error:
        return CheckResult.failed(
            f"the Collector -> Prometheus hop: PROMETHEUS_REMOTE_WRITE_URL={url} does not answer "
            f"({type(error).__name__}): metric points queue in the Collector and are dropped when its queue is full",
            "start Prometheus with --web.enable-remote-write-receiver (or fix the URL), then `invoke verify`",
        )
    try:
        text = otelcol.metrics(settings)
    except requests.RequestException as error:
        return CheckResult.failed(
            f"the Collector's metrics did not answer: {type(error).__name__}", UP_FIX.format(component=OTELCOL_NAME)
        )
    labels = {"exporter": "prometheus_remote_write"}
    sent = otelcol.metric_sum(text, "otelcol_exporter_sent_metric_points", **labels)
    failed = otelcol.metric_sum(text, "otelcol_exporter_send_failed_metric_points", **labels)
    if failed and not sent:
        return CheckResult.failed(
            f"the Collector's remote-write failed {failed:g} metric points and sent none",
            "check PROMETHEUS_REMOTE_WRITE_URL (full remote-write path, e.g. …/api/v1/write) and the receiver",
        )
    if failed:
        return CheckResult.warned(
            f"the Collector has remote-written {sent:g} metric points; {failed:g} failed since it started",
            "Prometheus was unreachable for a while (its metrics have a gap); it answers now",
        )
    return CheckResult.passed(f"the Collector has remote-written {sent:g} metric points with no failures")
