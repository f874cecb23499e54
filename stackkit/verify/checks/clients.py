"""What other apps get wrong when they send to Phoenix: the OTLP requests Phoenix refused since it last started,
read from its access log (uvicorn's: `INFO:     <address>:<port> - "POST /v1/traces HTTP/1.1" 415 ...`), each
named with the sender's address, the count and the fix for that client.

Phoenix 20.26.1 answers (measured): OTLP/JSON 415, a missing or wrong key 401 (before the encoding is looked at),
metrics or logs 405, a doubled `/v1/traces/v1/traces` 405. Refusals of OTLP/gRPC are not in that log (Phoenix's
gRPC server logs none): the matrix names that as a limit.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from stackkit.components.registry import PHOENIX
from stackkit.verify.findings import conclude, warn
from stackkit.verify.live import UP_FIX, runtime_and_plan
from stackkit.verify.registry import CheckResult, Stage, VerifyContext, check
from stackkit.verify.report import Location

# Enough for a busy day of exports at one request a second; older refusals are not news.
LOG_LINES_READ = 100_000
_ACCESS = re.compile(
    r'^INFO:\s+(?P<address>\S+?):\d+ - "POST (?P<path>\S*/v1/(?:traces|metrics|logs)\S*) HTTP/[\d.]+" (?P<status>\d{3})'
)
# uvicorn prints this at every start, on both runtimes: what came before belongs to an earlier Phoenix.
_STARTED = re.compile(r"Started server process")
SEND_TO_FAN_OUT = "or send to the stack's fan-out (STACK_COLLECTOR), which takes every OTLP encoding and signal"


@dataclass(frozen=True)
class Refusal:
    address: str
    path: str
    status: int
    count: int

    @property
    def what_and_fix(self) -> tuple[str, str]:
        """What the sender got wrong, and its fix."""
        if self.path.rstrip("/").endswith("/v1/traces/v1/traces"):
            return (
                "its endpoint ends in /v1/traces and the SDK appends /v1/traces again",
                "set OTEL_EXPORTER_OTLP_ENDPOINT to the base URL (no /v1/traces): `invoke render --print app-env`",
            )
        if not self.path.rstrip("/").endswith("/v1/traces"):
            return (
                f"it sends {self.path.rsplit('/', 1)[-1]} to Phoenix, which takes traces only",
                f"set OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none in the app, {SEND_TO_FAN_OUT}",
            )
        if self.status == 415:
            return (
                "it sends OTLP/JSON (Node.js's @opentelemetry/exporter-trace-otlp-http does by default) and Phoenix "
                "takes protobuf only",
                "set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf and use @opentelemetry/exporter-trace-otlp-proto "
                f"(Node.js), {SEND_TO_FAN_OUT}",
            )
        if self.status in (401, 403):
            return (
                "it sends no ingestion key, or one Phoenix does not know (auth is on)",
                "set OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20<key> (`invoke render --print app-env "
                f"--show`), {SEND_TO_FAN_OUT}",
            )
        return (f"Phoenix answered {self.status}", "read `invoke logs --service phoenix` around those lines")


def refusals(lines: Iterable[str]) -> list[Refusal]:
    """The OTLP requests Phoenix refused since its last start, by sender address, path and status."""
    counted: Counter[tuple[str, str, int]] = Counter()
    for line in lines:
        if _STARTED.search(line):
            counted.clear()
            continue
        match = _ACCESS.match(line)
        if match and not 200 <= int(match["status"]) < 300:
            counted[(match["address"], match["path"].split("?", 1)[0], int(match["status"]))] += 1
    return [Refusal(address, path, status, count) for (address, path, status), count in counted.items()]


@check("phoenix.refused-clients", static=False, stage=Stage.PIPELINE)
def phoenix_refused_clients(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    if settings.phoenix_external_url:
        return CheckResult.skipped("Phoenix is external (PHOENIX_EXTERNAL_URL): its log is not the stack's")
    runtime, _ = runtime_and_plan(settings)
    if not runtime.state(PHOENIX.name).running:
        return CheckResult.skipped(f"Phoenix is not running: {UP_FIX.format(component=PHOENIX.name)}")
    found = refusals(runtime.logs(PHOENIX.name, tail=LOG_LINES_READ))
    where = Location("Phoenix's log (`invoke logs --service phoenix`)")
    findings = []
    for refusal in sorted(found, key=lambda item: -item.count):
        what, fix = refusal.what_and_fix
        findings.append(
            warn(
                f"{refusal.address}: {refusal.count} OTLP request(s) to {refusal.path} refused with "
                f"{refusal.status} since Phoenix started, what they carried is lost: {what}",
                fix,
                at=where,
            )
        )
    return conclude(findings, "Phoenix refused no OTLP/HTTP request since it started")
