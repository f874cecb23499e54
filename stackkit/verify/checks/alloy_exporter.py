"""Alloy's exporter to Phoenix: the protocol it speaks and the endpoint, encoding, compression and TLS it uses."""

from __future__ import annotations

from stackkit.alloy.syntax import (
    Expr,
    evaluate,
    reads_env,
)
from stackkit.components.registry import PHOENIX
from stackkit.verify.alloy_model import (
    GRPC_EXPORTER,
    HTTP_EXPORTER,
    OTLPHTTP_DOC,
    PHOENIX_COMPRESSIONS,
    PHOENIX_ENDPOINT_VARIABLE,
    Endpoint,
    client_attribute,
    env_origin,
    parse_endpoint,
    phoenix_http_exporters,
    string_value,
)
from stackkit.verify.files import (
    AlloyComponent,
)
from stackkit.verify.findings import conclude, fail, missing, warn
from stackkit.verify.registry import CheckResult, VerifyContext, check

# alloy.exporter-protocol


def http_endpoint_reason(expr: Expr, ctx: VerifyContext) -> str | None:
    """Why a gRPC exporter's endpoint is really an HTTP endpoint; None when it looks like gRPC."""
    if reads_env(expr, PHOENIX_ENDPOINT_VARIABLE):
        return (
            f"reads {PHOENIX_ENDPOINT_VARIABLE}, Phoenix's HTTP base URL: gRPC against Phoenix's HTTP port "
            "fails on every export and the spans are dropped after the retries, with nothing in Phoenix"
        )
    value = string_value(expr, ctx.files.alloy_env.values)
    endpoint = parse_endpoint(value) if value else None
    if endpoint is None:
        return None
    if endpoint.path not in ("", "/"):
        return f"{value!r} has a URL path: gRPC has no paths, so this is an OTLP/HTTP endpoint"
    if endpoint.scheme == "https" or endpoint.port == 443:
        return (
            f"{value!r} is an https URL: behind a tunnel or proxy that speaks HTTP/1.1, gRPC's HTTP/2 gets 403 or 502"
        )
    if endpoint.port in (6006, ctx.settings.phoenix_ui_port):
        return f"{value!r} is Phoenix's HTTP port: gRPC against it fails silently"
    if endpoint.port == 4318:
        return f"{value!r} is the OTLP/HTTP port (grafana/alloy#4092)"
    return None


@check("alloy.exporter-protocol", static=True, reads_user_files=True)
def alloy_exporter_protocol(ctx: VerifyContext) -> CheckResult:
    findings: list[CheckResult] = []
    for exporter in ctx.files.alloy.named(GRPC_EXPORTER):
        attribute = client_attribute(exporter, "endpoint")
        reason = http_endpoint_reason(attribute.value, ctx) if attribute else None
        if attribute and reason:
            findings.append(
                fail(
                    f"{exporter.id} speaks OTLP/gRPC but its endpoint {reason}",
                    exporter.source.fix_in(
                        f"send to Phoenix with {HTTP_EXPORTER} "
                        f'(client {{ endpoint = sys.env("{PHOENIX_ENDPOINT_VARIABLE}") }}), '
                        "or give this exporter a gRPC host:port"
                    ),
                    at=exporter.where(attribute.line),
                )
            )
    to_phoenix = phoenix_http_exporters(ctx)
    if not to_phoenix:
        problem = (
            f"no {HTTP_EXPORTER} sends to Phoenix (client endpoint from "
            f'sys.env("{PHOENIX_ENDPOINT_VARIABLE}")): traces cannot reach Phoenix over OTLP/HTTP'
        )
        if not ctx.files.alloy.complete and not findings:
            return missing(ctx, problem, "")
        define = (
            "paste the block `invoke render --print phoenix-exporter` prints into your configuration"
            if ctx.files.locations.user_alloy
            else f'define {HTTP_EXPORTER} "{PHOENIX.name}" in stacks/grafana-alloy/phoenix-exporter.alloy.j2, '
            "then `invoke render`"
        )
        findings.append(fail(problem, define))
    exporters = ", ".join(exporter.id for exporter in to_phoenix)
    return conclude(findings, f"traces leave for Phoenix over OTLP/HTTP through {exporters}")


# ---------------------------------------------------------------------------------------------------
# alloy.exporter-endpoint


@check("alloy.exporter-endpoint", static=True, reads_user_files=True)
def alloy_exporter_endpoint(ctx: VerifyContext) -> CheckResult:
    exporters = phoenix_http_exporters(ctx)
    if not exporters:
        return CheckResult.skipped(f"no {HTTP_EXPORTER} sends to Phoenix (see alloy.exporter-protocol)")
    findings: list[CheckResult] = []
    endpoints = []
    for exporter in exporters:
        findings += encoding_findings(exporter)
        endpoint_findings, endpoint = client_endpoint_findings(exporter, ctx)
        findings += endpoint_findings
        findings += compression_findings(exporter, ctx)
        if endpoint:
            findings += tls_findings(exporter, endpoint)
            endpoints.append(f"{exporter.id} sends to {endpoint.url}")
    return conclude(findings, f"{'; '.join(endpoints)} (base URL, protobuf, a compression Phoenix decodes)")


def encoding_findings(exporter: AlloyComponent) -> list[CheckResult]:
    findings = []
    misplaced = client_attribute(exporter, "encoding")
    if misplaced is not None:
        findings.append(
            fail(
                f"encoding is set inside client {{ }}, but it is an "
                f"argument of {HTTP_EXPORTER} itself ({OTLPHTTP_DOC}): Alloy refuses the configuration "
                "(unrecognized attribute) and nothing is exported",
                exporter.source.fix_in(f'move encoding = "proto" out of client {{ }} into the {HTTP_EXPORTER} block'),
                at=exporter.where(misplaced.line),
            )
        )
    attribute = exporter.block.attribute("encoding")
    value = evaluate(attribute.value) if attribute else "proto"
    if attribute is not None and value != "proto":
        findings.append(
            fail(
                f"encoding = {value!r}, but Phoenix accepts protobuf only (it answers 415 to JSON)",
                exporter.source.fix_in('set encoding = "proto" (or remove it: proto is the default)'),
                at=exporter.where(attribute.line),
            )
        )
    return findings


def client_endpoint_findings(exporter: AlloyComponent, ctx: VerifyContext) -> tuple[list[CheckResult], Endpoint | None]:
    attribute = client_attribute(exporter, "endpoint")
    if attribute is None:
        problem = f"{exporter.id} has no client endpoint"
        fix = exporter.source.fix_in(f'set client {{ endpoint = sys.env("{PHOENIX_ENDPOINT_VARIABLE}") }}')
        return [fail(problem, fix, at=exporter.where())], None
    where = exporter.where(attribute.line)
    origin = env_origin(attribute.value, PHOENIX_ENDPOINT_VARIABLE, ctx)
    render_fix = (
        f"set {PHOENIX_ENDPOINT_VARIABLE} to Phoenix's base URL such as http://phoenix:6006 "
        "(stackkit/runtimes/render.py writes it; `invoke render`)"
    )
    fix = render_fix if origin else exporter.source.fix_in("set client endpoint to Phoenix's base URL")
    value = string_value(attribute.value, ctx.files.alloy_env.values)
    if value is None:
        return [warn("the client endpoint cannot be evaluated here", fix, at=where)], None
    endpoint = parse_endpoint(value)
    if not value or endpoint is None or endpoint.scheme not in ("http", "https") or not endpoint.host:
        shown = repr(value) if value else "empty"
        return [fail(f"the client endpoint is {shown}{origin}, not an http(s):// URL", fix, at=where)], None
    findings = []
    if endpoint.path.rstrip("/").endswith("/v1/traces"):
        findings.append(
            fail(
                f"the client endpoint {value!r}{origin} ends in /v1/traces, which the exporter "
                "appends itself: spans go to /v1/traces/v1/traces and Phoenix answers 404",
                fix,
                at=where,
            )
        )
    traces_endpoint = exporter.block.attribute("traces_endpoint")
    if traces_endpoint is not None:
        verbatim = string_value(traces_endpoint.value, ctx.files.alloy_env.values)
        if verbatim is not None and not verbatim.rstrip("/").endswith("/v1/traces"):
            findings.append(
                fail(
                    f"traces_endpoint {verbatim!r} is used verbatim "
                    "and does not end in /v1/traces: Phoenix answers 404",
                    exporter.source.fix_in("remove traces_endpoint (client endpoint + /v1/traces is used)"),
                    at=exporter.where(traces_endpoint.line),
                )
            )
    return findings, endpoint


def compression_findings(exporter: AlloyComponent, ctx: VerifyContext) -> list[CheckResult]:
    attribute = client_attribute(exporter, "compression")
    if attribute is None:
        return []  # gzip by default
    value = string_value(attribute.value, ctx.files.alloy_env.values)
    if value is None or value in PHOENIX_COMPRESSIONS:
        return []
    return [
        fail(
            f"compression = {value!r}, which Phoenix cannot decode (it accepts gzip, deflate or none)",
            exporter.source.fix_in('set compression = "gzip"'),
            at=exporter.where(attribute.line),
        )
    ]


def tls_findings(exporter: AlloyComponent, endpoint: Endpoint) -> list[CheckResult]:
    client = exporter.block.block("client")
    tls = client.block("tls") if client else None
    insecure_attribute = tls.attribute("insecure") if tls else None
    insecure = evaluate(insecure_attribute.value) is True if insecure_attribute else False
    line = insecure_attribute.line if insecure_attribute else (tls.line if tls else client.line if client else None)
    if endpoint.scheme == "http" and not insecure:
        return [
            warn(
                "the endpoint is plain http but client.tls does not say insecure = "
                "true, so the TLS settings contradict the endpoint",
                exporter.source.fix_in("add tls { insecure = true } inside client for a plain-http Phoenix"),
                at=exporter.where(line),
            )
        ]
    if endpoint.scheme == "https" and insecure:
        return [
            warn(
                "the endpoint is https but client.tls sets insecure = true, which asks for no TLS",
                exporter.source.fix_in("remove tls { insecure = true } for an https Phoenix"),
                at=exporter.where(line),
            )
        ]
    return []
