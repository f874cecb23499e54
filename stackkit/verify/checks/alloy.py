"""Alloy's own files (syntax, receiver, exporter, pipeline) and, on a running stack, its health and log."""

from __future__ import annotations

import requests

from stackkit.alloy.syntax import (
    Attribute,
    Block,
    Call,
    Expr,
    evaluate,
    function_name,
    iter_attributes,
    reads_env,
    references,
    walk,
)
from stackkit.health import probe
from stackkit.stack.components import ALLOY, PHOENIX
from stackkit.verify.alloy_model import (
    ALL_INTERFACES,
    DEPRECATED_FUNCTIONS,
    EXPORTER_PREFIX,
    GRPC_EXPORTER,
    HTTP_EXPORTER,
    NON_COMPONENT_ROOTS,
    OTLP_RECEIVER,
    OTLPHTTP_DOC,
    PHOENIX_COMPRESSIONS,
    PHOENIX_ENDPOINT_VARIABLE,
    PROCESSOR_PREFIX,
    RECEIVER_DOC,
    RECEIVER_SERVERS,
    Endpoint,
    aims_at_phoenix,
    client_attribute,
    env_origin,
    parse_endpoint,
    phoenix_http_exporters,
    string_value,
)
from stackkit.verify.files import (
    AlloyConfig,
    Component,
)
from stackkit.verify.findings import conclude, fail, missing, warn
from stackkit.verify.live import (
    UP_FIX,
    alloy_skip_reason,
    external,
    running,
    runtime_and_plan,
)
from stackkit.verify.registry import CheckResult, Stage, VerifyContext, check

# ---------------------------------------------------------------------------------------------------
# alloy.syntax


@check("alloy.syntax", static=True, reads_user_files=True)
def alloy_syntax(ctx: VerifyContext) -> CheckResult:
    config = ctx.files.alloy
    findings: list[CheckResult] = []
    for source in config.sources:
        if source.error is not None:
            error = source.error
            findings.append(
                fail(
                    f"{source.where(error.line)} column {error.col}: {error.message}",
                    source.fix_in("correct the syntax (Alloy loads nothing while any file of the folder fails)"),
                )
            )
    findings += duplicate_components(config)
    reference_count = 0
    if config.complete:
        reference_findings, reference_count = unresolved_references(config)
        findings += reference_findings
    findings += deprecated_calls(config)
    names = ", ".join(source.shown for source in config.sources)
    return conclude(
        findings,
        f"{len(config.sources)} Alloy files parse ({names}); {reference_count} references resolve; no "
        "deprecated functions",
    )


def duplicate_components(config: AlloyConfig) -> list[CheckResult]:
    findings = []
    first_by_id: dict[str, Component] = {}
    for component in config.components:
        first = first_by_id.setdefault(component.id, component)
        if first is not component:
            findings.append(
                fail(
                    f"{component.where()}: {component.id} is defined twice (also at {first.where()}); "
                    "Alloy runs every *.alloy file of the folder as one configuration and refuses duplicates",
                    component.source.fix_in(f"rename the label of one {component.block.dotted_name} or remove it"),
                )
            )
    return findings


def unresolved_references(config: AlloyConfig) -> tuple[list[CheckResult], int]:
    findings = []
    count = 0
    for component in config.components:
        for attribute in iter_attributes(component.block.body):
            for reference in references(attribute.value):
                if reference.path[0] in NON_COMPONENT_ROOTS:
                    continue
                count += 1
                target = config.resolve(reference.path)
                if target is None:
                    labels = config.labels_of(reference.path)
                    hint = f" (defined labels for that component: {', '.join(labels)})" if labels else ""
                    files = ", ".join(source.shown for source in config.sources)
                    findings.append(
                        fail(
                            f"{component.where(reference.line)}: {reference.dotted} matches no component "
                            f"defined in {files}{hint}",
                            component.source.fix_in(
                                "reference a component that is defined (name, label, then export), "
                                "or define the one it names"
                            ),
                        )
                    )
                elif len(reference.path) == len(target.block.name) + 1:
                    findings.append(
                        fail(
                            f"{component.where(reference.line)}: {reference.dotted} names {target.id} but "
                            "none of its exports",
                            component.source.fix_in(f"use an export, such as {reference.dotted}.input"),
                        )
                    )
    return findings, count


def deprecated_calls(config: AlloyConfig) -> list[CheckResult]:
    findings = []
    for source in config.sources:
        if source.parsed is None:
            continue
        for attribute in iter_attributes(source.parsed.body):
            for node in walk(attribute.value):
                name = function_name(node) if isinstance(node, Call) else None
                if isinstance(node, Call) and name in DEPRECATED_FUNCTIONS:
                    replacement = DEPRECATED_FUNCTIONS[name]
                    findings.append(
                        warn(
                            f"{source.where(node.function.line)}: {name}() is deprecated since Alloy v1.4",
                            source.fix_in(f"write {replacement}(...) instead of {name}(...)"),
                        )
                    )
    return findings


# ---------------------------------------------------------------------------------------------------
# alloy.receiver-bind


def listener_problem(host: str) -> str | None:
    if host in ALL_INTERFACES:
        return None
    if host == "localhost" or host == "::1" or host.startswith("127."):
        return (
            f"binds {host}, but a receiver is a listener: inside a container {host} is the container "
            "itself, so other containers and the published port get connection refused"
        )
    if host == "host.docker.internal":
        return (
            "binds host.docker.internal, the Docker host's address: that is a destination to send to, "
            "not an address of this container a listener can bind"
        )
    return f"binds {host} only; a listener must bind 0.0.0.0 to be reachable from other containers"


@check("alloy.receiver-bind", static=True, reads_user_files=True)
def alloy_receiver_bind(ctx: VerifyContext) -> CheckResult:
    receivers = ctx.files.alloy.named(OTLP_RECEIVER)
    if not receivers:
        return missing(
            ctx,
            f"no {OTLP_RECEIVER} is defined: applications have nowhere to send OTLP",
            f'add {OTLP_RECEIVER} "default" with grpc, http and output blocks to stacks/grafana-alloy/config.alloy',
        )
    findings: list[CheckResult] = []
    bound = []
    for receiver in receivers:
        for server, default_port in RECEIVER_SERVERS:
            server_block = receiver.block.block(server)
            if server_block is None:
                findings.append(
                    fail(
                        f"{receiver.where()}: {receiver.id} has no {server} block, so its {server} server "
                        f"never starts (apps sending OTLP/{server} to :{default_port} get connection "
                        f"refused; {RECEIVER_DOC})",
                        receiver.source.fix_in(
                            f'add {server} {{ endpoint = "0.0.0.0:{default_port}" }} inside {receiver.id}'
                        ),
                    )
                )
                continue
            finding, value = receiver_endpoint_finding(receiver, server_block, server, default_port, ctx)
            if finding:
                findings.append(finding)
            else:
                bound.append(f"{server} {value}")
    return conclude(findings, f"{', '.join(r.id for r in receivers)} listens on {', '.join(bound)}")


def receiver_endpoint_finding(
    receiver: Component, server_block: Block, server: str, default_port: int, ctx: VerifyContext
) -> tuple[CheckResult | None, str]:
    """The problem with one server's endpoint (None when it binds every interface), and its value."""
    attribute = server_block.attribute("endpoint")
    fix = receiver.source.fix_in(f'set endpoint = "0.0.0.0:{default_port}" in the {server} block')
    if attribute is None:
        problem = (
            f"{receiver.where(server_block.line)}: the {server} block has no endpoint and relies on a "
            "default that upstream changed to localhost (opentelemetry-collector-contrib#33896)"
        )
        return warn(problem, fix), ""
    value = string_value(attribute.value, ctx.files.alloy_env.values)
    where = receiver.where(attribute.line)
    if value is None:
        return warn(f"{where}: the {server} endpoint cannot be evaluated here", fix), ""
    endpoint = parse_endpoint(value)
    if endpoint is None or endpoint.scheme:
        return fail(f"{where}: the {server} endpoint {value!r} is not a host:port to listen on", fix), value
    why = listener_problem(endpoint.host)
    return (fail(f"{where}: the {server} endpoint {value!r} {why}", fix) if why else None), value


# ---------------------------------------------------------------------------------------------------
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
                    f"{exporter.where(attribute.line)}: {exporter.id} speaks OTLP/gRPC but its endpoint {reason}",
                    exporter.source.fix_in(
                        f"send to Phoenix with {HTTP_EXPORTER} "
                        f'(client {{ endpoint = sys.env("{PHOENIX_ENDPOINT_VARIABLE}") }}), '
                        "or give this exporter a gRPC host:port"
                    ),
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


def encoding_findings(exporter: Component) -> list[CheckResult]:
    findings = []
    misplaced = client_attribute(exporter, "encoding")
    if misplaced is not None:
        findings.append(
            fail(
                f"{exporter.where(misplaced.line)}: encoding is set inside client {{ }}, but it is an "
                f"argument of {HTTP_EXPORTER} itself ({OTLPHTTP_DOC}): Alloy refuses the configuration "
                "(unrecognized attribute) and nothing is exported",
                exporter.source.fix_in(f'move encoding = "proto" out of client {{ }} into the {HTTP_EXPORTER} block'),
            )
        )
    attribute = exporter.block.attribute("encoding")
    value = evaluate(attribute.value) if attribute else "proto"
    if attribute is not None and value != "proto":
        findings.append(
            fail(
                f"{exporter.where(attribute.line)}: encoding = {value!r}, but Phoenix accepts protobuf only "
                "(it answers 415 to JSON)",
                exporter.source.fix_in('set encoding = "proto" (or remove it: proto is the default)'),
            )
        )
    return findings


def client_endpoint_findings(exporter: Component, ctx: VerifyContext) -> tuple[list[CheckResult], Endpoint | None]:
    attribute = client_attribute(exporter, "endpoint")
    if attribute is None:
        problem = f"{exporter.where()}: {exporter.id} has no client endpoint"
        fix = exporter.source.fix_in(f'set client {{ endpoint = sys.env("{PHOENIX_ENDPOINT_VARIABLE}") }}')
        return [fail(problem, fix)], None
    where = exporter.where(attribute.line)
    origin = env_origin(attribute.value, PHOENIX_ENDPOINT_VARIABLE, ctx)
    render_fix = (
        f"set {PHOENIX_ENDPOINT_VARIABLE} to Phoenix's base URL such as http://phoenix:6006 "
        "(stackkit/render.py writes it; `invoke render`)"
    )
    fix = render_fix if origin else exporter.source.fix_in("set client endpoint to Phoenix's base URL")
    value = string_value(attribute.value, ctx.files.alloy_env.values)
    if value is None:
        return [warn(f"{where}: the client endpoint cannot be evaluated here", fix)], None
    endpoint = parse_endpoint(value)
    if not value or endpoint is None or endpoint.scheme not in ("http", "https") or not endpoint.host:
        shown = repr(value) if value else "empty"
        return [fail(f"{where}: the client endpoint is {shown}{origin}, not an http(s):// URL", fix)], None
    findings = []
    if endpoint.path.rstrip("/").endswith("/v1/traces"):
        findings.append(
            fail(
                f"{where}: the client endpoint {value!r}{origin} ends in /v1/traces, which the exporter "
                "appends itself: spans go to /v1/traces/v1/traces and Phoenix answers 404",
                fix,
            )
        )
    traces_endpoint = exporter.block.attribute("traces_endpoint")
    if traces_endpoint is not None:
        verbatim = string_value(traces_endpoint.value, ctx.files.alloy_env.values)
        if verbatim is not None and not verbatim.rstrip("/").endswith("/v1/traces"):
            findings.append(
                fail(
                    f"{exporter.where(traces_endpoint.line)}: traces_endpoint {verbatim!r} is used verbatim "
                    "and does not end in /v1/traces: Phoenix answers 404",
                    exporter.source.fix_in("remove traces_endpoint (client endpoint + /v1/traces is used)"),
                )
            )
    return findings, endpoint


def compression_findings(exporter: Component, ctx: VerifyContext) -> list[CheckResult]:
    attribute = client_attribute(exporter, "compression")
    if attribute is None:
        return []  # gzip by default
    value = string_value(attribute.value, ctx.files.alloy_env.values)
    if value is None or value in PHOENIX_COMPRESSIONS:
        return []
    return [
        fail(
            f"{exporter.where(attribute.line)}: compression = {value!r}, which Phoenix cannot decode "
            "(it accepts gzip, deflate or none)",
            exporter.source.fix_in('set compression = "gzip"'),
        )
    ]


def tls_findings(exporter: Component, endpoint: Endpoint) -> list[CheckResult]:
    client = exporter.block.block("client")
    tls = client.block("tls") if client else None
    insecure_attribute = tls.attribute("insecure") if tls else None
    insecure = evaluate(insecure_attribute.value) is True if insecure_attribute else False
    line = insecure_attribute.line if insecure_attribute else (tls.line if tls else client.line if client else None)
    if endpoint.scheme == "http" and not insecure:
        return [
            warn(
                f"{exporter.where(line)}: the endpoint is plain http but client.tls does not say insecure = "
                "true, so the TLS settings contradict the endpoint",
                exporter.source.fix_in("add tls { insecure = true } inside client for a plain-http Phoenix"),
            )
        ]
    if endpoint.scheme == "https" and insecure:
        return [
            warn(
                f"{exporter.where(line)}: the endpoint is https but client.tls sets insecure = true, which "
                "asks for no TLS",
                exporter.source.fix_in("remove tls { insecure = true } for an https Phoenix"),
            )
        ]
    return []


# ---------------------------------------------------------------------------------------------------
# alloy.pipeline


def traces_output(component: Component) -> tuple[Attribute | None, list[tuple[str, ...]]]:
    output = component.block.block("output")
    attribute = output.attribute("traces") if output else None
    targets = [reference.path for reference in references(attribute.value)] if attribute else []
    return attribute, targets


@check("alloy.pipeline", static=True, reads_user_files=True)
def alloy_pipeline(ctx: VerifyContext) -> CheckResult:
    config = ctx.files.alloy
    receivers = config.named(OTLP_RECEIVER)
    if not receivers:
        return missing(ctx, f"no {OTLP_RECEIVER} is defined", "see alloy.receiver-bind")
    findings: list[CheckResult] = []
    routes = []
    for receiver in receivers:
        receiver_findings, route = trace_route(receiver, ctx)
        findings += receiver_findings
        if route:
            routes.append(" -> ".join(route))
    if findings and not config.complete and not routes:
        return CheckResult.skipped("the traces path is incomplete, but an Alloy file does not parse (see alloy.syntax)")
    return conclude(findings, "; ".join(routes))


def trace_route(receiver: Component, ctx: VerifyContext) -> tuple[list[CheckResult], list[str]]:
    """Follow the receiver's traces output; return the problems and the route to a Phoenix exporter."""
    config = ctx.files.alloy
    attribute, first_targets = traces_output(receiver)
    if not first_targets:
        state = "empty" if attribute else "not set"
        return [
            fail(
                f"{receiver.where(attribute.line if attribute else None)}: the traces output of "
                f"{receiver.id} is {state}: every span received is dropped",
                receiver.source.fix_in(
                    f"set output {{ traces = [otelcol.processor.batch.traces.input] }} in {receiver.id}"
                ),
            )
        ], []
    findings: list[CheckResult] = []
    routes: dict[str, list[str]] = {receiver.id: [receiver.id]}
    pending = [(receiver, target, attribute.line) for target in first_targets]  # type: ignore[union-attr]
    to_phoenix: list[str] = []
    while pending:
        source, chain, line = pending.pop(0)
        target = config.resolve(chain)
        if target is None:
            findings.append(
                fail(
                    f"{source.where(line)}: the traces path of {receiver.id} stops at {'.'.join(chain)}, "
                    "which matches no component (see alloy.syntax)",
                    source.source.fix_in("point the traces output at a defined component"),
                )
            )
            continue
        if target.id in routes:
            continue
        routes[target.id] = [*routes[source.id], target.id]
        if target.block.dotted_name.startswith(EXPORTER_PREFIX):
            if aims_at_phoenix(target, ctx) and not to_phoenix:
                to_phoenix = routes[target.id]
            continue
        if not target.block.dotted_name.startswith(PROCESSOR_PREFIX):
            continue  # connectors turn traces into other signals: their outputs are not the traces path
        output, next_targets = traces_output(target)
        if not next_targets:
            state = "empty" if output else "not set"
            findings.append(
                fail(
                    f"{target.where(output.line if output else None)}: {target.id} is on the traces path of "
                    f"{receiver.id} but its traces output is {state}, so it drops every span",
                    target.source.fix_in(f"set output {{ traces = [{HTTP_EXPORTER}.phoenix.input] }} in {target.id}"),
                )
            )
        pending += [(target, next_target, output.line) for next_target in next_targets]  # type: ignore[union-attr]
    if not to_phoenix and not findings:
        findings.append(
            fail(
                f"{receiver.where()}: traces from {receiver.id} reach "
                f"{', '.join(list(routes)[1:]) or 'nothing'} but no exporter that sends to Phoenix",
                receiver.source.fix_in(f"route the traces output through to {HTTP_EXPORTER}.phoenix.input"),
            )
        )
    return findings, to_phoenix


@check("alloy.ready", static=False, stage=Stage.COLLECTOR)
def alloy_ready(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    if reason := alloy_skip_reason(settings):
        return CheckResult.skipped(reason)
    ready = probe(f"{settings.alloy_url}/-/ready")
    if not ready.ok and external(settings, ALLOY.name):
        return CheckResult.failed(
            f"your Alloy at ALLOY_EXTERNAL_URL={settings.alloy_url}: /-/ready {ready.detail}",
            "start it, and make its UI listen where ALLOY_EXTERNAL_URL points (--server.http.listen-addr; "
            "the default 127.0.0.1:12345 is not reachable from other hosts or containers)",
        )
    if not ready.ok:
        return CheckResult.failed(f"Alloy's /-/ready: {ready.detail}", UP_FIX.format(component=ALLOY.name))
    components = requests.get(f"{settings.alloy_url}/api/v0/web/components", timeout=5).json()
    unhealthy = [
        f"{item.get('localID')} ({item.get('health', {}).get('state')})"
        for item in components
        if item.get("health", {}).get("state") != "healthy"
    ]
    if unhealthy:
        return CheckResult.failed(
            f"Alloy components not healthy: {', '.join(unhealthy)}",
            f"open {settings.alloy_url} for each component's message; `invoke logs --service alloy`",
        )
    return CheckResult.passed(f"Alloy is ready and its {len(components)} components are healthy")


@check("alloy.errors", static=False, stage=Stage.COLLECTOR)
def alloy_errors(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    if reason := alloy_skip_reason(settings):
        return CheckResult.skipped(reason)
    if external(settings, ALLOY.name):
        return CheckResult.skipped("your Alloy's log is yours to read (alloy.ready shows unhealthy components)")
    if not running(settings, ALLOY.name):
        return CheckResult.skipped("Alloy is not running (see alloy.ready)")
    runtime, _ = runtime_and_plan(settings)
    lines = list(runtime.logs(ALLOY.name, tail=300))
    errors = [line for line in lines if "level=error" in line]
    warnings = [line for line in lines if "level=warn" in line]
    fix = "read the lines with `invoke logs --service alloy --tail 300`; a 401 from Phoenix means a missing key"
    if errors:
        return CheckResult.failed(f"{len(errors)} level=error lines in Alloy's log, last: {errors[-1][:200]}", fix)
    if warnings:
        return CheckResult.warned(f"{len(warnings)} level=warn lines in Alloy's log, last: {warnings[-1][:200]}", fix)
    return CheckResult.passed(f"no errors or warnings in Alloy's last {len(lines)} log lines")
