"""How the demo's SDK exports: OTLP/HTTP to a base URL, with the protocol given explicitly."""

from __future__ import annotations

from stackkit.verify.alloy_model import (
    REGISTER_WITH_HTTP_PROTOBUF,
    parse_endpoint,
)
from stackkit.verify.findings import conclude, fail
from stackkit.verify.registry import CheckResult, VerifyContext, check

# ---------------------------------------------------------------------------------------------------
# sdk.exporter


@check("sdk.exporter", static=True)
def sdk_exporter(ctx: VerifyContext) -> CheckResult:
    env = ctx.files.ai_demo_env
    settings = ctx.settings
    findings: list[CheckResult] = []
    value = env.values.get("AI_DEMO_OTLP_ENDPOINT", "")
    setting = f"AI_DEMO_OTLP_ENDPOINT={value!r} in {env.shown}"
    fix = (
        "AI_DEMO_OTLP_ENDPOINT must be an OTLP/HTTP base URL such as http://alloy:4318 "
        "(stackkit/runtimes/render.py ai_demo_env writes it; `invoke render`)"
    )
    endpoint = parse_endpoint(value) if value else None
    grpc_ports = {4317, 14317, settings.alloy_otlp_grpc_port, settings.phoenix_grpc_host_port}
    if endpoint is None or endpoint.scheme not in ("http", "https") or not endpoint.host:
        findings.append(fail(f"{setting}: not an http(s)://host:port base URL", fix))
    elif endpoint.path.rstrip("/").endswith("/v1/traces"):
        findings.append(
            fail(f"{setting}: ends in /v1/traces, which the demo appends itself: /v1/traces/v1/traces answers 404", fix)
        )
    elif endpoint.port in grpc_ports:
        findings.append(
            fail(
                f"{setting}: port {endpoint.port} is an OTLP/gRPC port, but the demo exports OTLP/HTTP "
                "(protobuf over HTTP/1.1): every export fails",
                fix,
            )
        )
    findings += telemetry_findings(ctx)
    return conclude(
        findings,
        f'the demo exports OTLP/HTTP to {value}/v1/traces with protocol="http/protobuf" ({env.shown})',
    )


def telemetry_findings(ctx: VerifyContext) -> list[CheckResult]:
    locations = ctx.files.locations
    shown = locations.shown(locations.demo_telemetry)
    fix = f'in {shown}, call phoenix.otel.register(endpoint=config.traces_endpoint, protocol="http/protobuf", ...)'
    if ctx.files.demo_telemetry is None:
        return [fail(f'{shown} does not exist: cannot confirm the demo passes protocol="http/protobuf"', fix)]
    if not REGISTER_WITH_HTTP_PROTOBUF.search(ctx.files.demo_telemetry):
        return [
            fail(
                f'{shown} does not pass protocol="http/protobuf" to phoenix.otel.register: with an endpoint '
                "ending in /v1/traces and no protocol, the SDK sends to port 4317 (Arize-ai/phoenix#10730)",
                fix,
            )
        ]
    return []
