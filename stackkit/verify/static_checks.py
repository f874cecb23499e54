"""Static checks: what can be proven from the files alone, before anything runs.

Each check reports every problem it finds, naming the file and line (or the setting) to change and the
fix. Ids are stable: scripts read them from `invoke verify --json`.
"""

from __future__ import annotations

import re
import shlex
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from stackkit import render
from stackkit.alloy_syntax import (
    Attribute,
    Block,
    Call,
    Expr,
    Object,
    ObjectField,
    evaluate,
    function_name,
    iter_attributes,
    reads_env,
    references,
    walk,
)
from stackkit.verify.files import (
    DEFAULT_PLAN,
    NATIVE_PLAN,
    PLACEHOLDER_SECRETS,
    AlloyConfig,
    Component,
    ComposeSource,
    interpolate,
)
from stackkit.verify.registry import Verdict, VerifyContext, check

OTLP_RECEIVER = "otelcol.receiver.otlp"
GRPC_EXPORTER = "otelcol.exporter.otlp"
HTTP_EXPORTER = "otelcol.exporter.otlphttp"
EXPORTER_PREFIX = "otelcol.exporter."
PROCESSOR_PREFIX = "otelcol.processor."
PHOENIX_ENDPOINT_VARIABLE = "PHOENIX_OTLP_ENDPOINT"
PHOENIX_KEY_VARIABLE = "PHOENIX_API_KEY"
OTLPHTTP_DOC = "grafana/alloy docs/sources/reference/components/otelcol/otelcol.exporter.otlphttp.md"
RECEIVER_DOC = "grafana/alloy docs/sources/reference/components/otelcol/otelcol.receiver.otlp.md"

# Identifiers a reference may start with that are not components (Alloy's standard library).
STDLIB_ROOTS = {"sys", "constants", "string", "array", "encoding", "convert", "file", "coalesce", "json_path"}
# grafana/alloy syntax/internal/stdlib/stdlib.go: DeprecatedIdentifiers, and what replaces each.
DEPRECATED_FUNCTIONS = {
    "env": "sys.env",
    "nonsensitive": "convert.nonsensitive",
    "concat": "array.concat",
    "json_decode": "encoding.from_json",
    "yaml_decode": "encoding.from_yaml",
    "base64_decode": "encoding.from_base64",
    "format": "string.format",
    "join": "string.join",
    "replace": "string.replace",
    "split": "string.split",
    "to_lower": "string.to_lower",
    "to_upper": "string.to_upper",
    "trim": "string.trim",
    "trim_prefix": "string.trim_prefix",
    "trim_suffix": "string.trim_suffix",
    "trim_space": "string.trim_space",
}
NON_COMPONENT_ROOTS = STDLIB_ROOTS | set(DEPRECATED_FUNCTIONS) | {"argument"}
RECEIVER_SERVERS = (("grpc", 4317), ("http", 4318))
ALL_INTERFACES = {"0.0.0.0", "", "::"}
PHOENIX_COMPRESSIONS = {"gzip", "deflate", "none", ""}
TEMPORARY_ROOTS = ("/tmp", "/dev/shm", "/run")
POSTGRES_DATA_DIR = "/var/lib/postgresql/data"
REGISTER_WITH_HTTP_PROTOBUF = re.compile(r"""protocol\s*=\s*["']http/protobuf["']""")


# ---------------------------------------------------------------------------------------------------
# Findings, and how they become one line


@dataclass(frozen=True)
class Finding:
    status: str  # "warn" or "fail"
    problem: str  # "<file:line>: what is wrong, and what that breaks"
    fix: str


def fail(problem: str, fix: str) -> Finding:
    return Finding("fail", problem, fix)


def warn(problem: str, fix: str) -> Finding:
    return Finding("warn", problem, fix)


def conclude(findings: list[Finding], passed: str) -> Verdict:
    if not findings:
        return Verdict.passed(passed)
    ordered = sorted(findings, key=lambda finding: finding.status != "fail")
    status = ordered[0].status
    summary = "; ".join(finding.problem for finding in ordered)
    fix = "; ".join(dict.fromkeys(finding.fix for finding in ordered if finding.fix))
    return Verdict(status, summary, fix)


def missing(ctx: VerifyContext, problem: str, fix: str) -> Verdict:
    """Something a check needs is absent: fail, or skip when an unparsed Alloy file may define it."""
    if not ctx.files.alloy.complete:
        return Verdict.skipped(f"{problem}, but an Alloy file does not parse (see alloy.syntax)")
    return Verdict.failed(problem, fix)


# ---------------------------------------------------------------------------------------------------
# Endpoints


@dataclass(frozen=True)
class Endpoint:
    url: str  # as written
    scheme: str  # "" for host:port
    host: str
    port: int | None
    path: str


def parse_endpoint(value: str) -> Endpoint | None:
    """A URL (scheme://host[:port][/path]) or a host:port; None when it is neither."""
    if "://" in value:
        parts = urlsplit(value)
        try:
            port = parts.port
        except ValueError:
            return None
        return Endpoint(value, parts.scheme, parts.hostname or "", port, parts.path)
    host, colon, port_text = value.rpartition(":")
    if not colon or not port_text.isdigit():
        return None
    return Endpoint(value, "", host.strip("[]"), int(port_text), "")


def string_value(expr: Expr, env: Mapping[str, str]) -> str | None:
    value = evaluate(expr, env)
    return value if isinstance(value, str) else None


def client_attribute(component: Component, name: str) -> Attribute | None:
    client = component.block.block("client")
    return client.attribute(name) if client else None


def endpoint_expressions(component: Component) -> list[Expr]:
    found = [client_attribute(component, "endpoint"), component.block.attribute("traces_endpoint")]
    return [attribute.value for attribute in found if attribute is not None]


def aims_at_phoenix(component: Component, ctx: VerifyContext) -> bool:
    """Whether an exporter sends to Phoenix: its endpoint reads PHOENIX_OTLP_ENDPOINT or names Phoenix."""
    # 4317 alone is not Phoenix's: Alloy listens there too. Phoenix's gRPC is 14317 on the host.
    phoenix_ports = {6006, ctx.settings.phoenix_ui_port, ctx.settings.phoenix_grpc_host_port}
    for expr in endpoint_expressions(component):
        if reads_env(expr, PHOENIX_ENDPOINT_VARIABLE):
            return True
        value = string_value(expr, ctx.files.alloy_env.values)
        endpoint = parse_endpoint(value) if value else None
        if endpoint and (endpoint.host == "phoenix" or endpoint.port in phoenix_ports):
            return True
    return False


def phoenix_http_exporters(ctx: VerifyContext) -> list[Component]:
    return [exporter for exporter in ctx.files.alloy.named(HTTP_EXPORTER) if aims_at_phoenix(exporter, ctx)]


def env_origin(expr: Expr, variable: str, ctx: VerifyContext) -> str:
    """Where a value read with sys.env comes from, for messages that say what to change."""
    if reads_env(expr, variable):
        return f" ({variable} in {ctx.files.alloy_env.shown}, written by stackkit/render.py)"
    return ""


# ---------------------------------------------------------------------------------------------------
# alloy.syntax


@check("alloy.syntax", static=True)
def alloy_syntax(ctx: VerifyContext) -> Verdict:
    config = ctx.files.alloy
    findings: list[Finding] = []
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


def duplicate_components(config: AlloyConfig) -> list[Finding]:
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


def unresolved_references(config: AlloyConfig) -> tuple[list[Finding], int]:
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


def deprecated_calls(config: AlloyConfig) -> list[Finding]:
    findings = []
    for source in config.sources:
        if source.parsed is None:
            continue
        for attribute in iter_attributes(source.parsed.body):
            for node in walk(attribute.value):
                name = function_name(node) if isinstance(node, Call) else None
                if name in DEPRECATED_FUNCTIONS:
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


@check("alloy.receiver-bind", static=True)
def alloy_receiver_bind(ctx: VerifyContext) -> Verdict:
    receivers = ctx.files.alloy.named(OTLP_RECEIVER)
    if not receivers:
        return missing(
            ctx,
            f"no {OTLP_RECEIVER} is defined: applications have nowhere to send OTLP",
            f'add {OTLP_RECEIVER} "default" with grpc, http and output blocks to stacks/grafana-alloy/config.alloy',
        )
    findings: list[Finding] = []
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
) -> tuple[Finding | None, str]:
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
    problem = listener_problem(endpoint.host)
    return (fail(f"{where}: the {server} endpoint {value!r} {problem}", fix) if problem else None), value


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
    if endpoint.scheme == "https":
        return (
            f"{value!r} is an https URL: behind a tunnel or proxy that speaks HTTP/1.1, gRPC's HTTP/2 gets 403 or 502"
        )
    if endpoint.port in (6006, ctx.settings.phoenix_ui_port):
        return f"{value!r} is Phoenix's HTTP port: gRPC against it fails silently"
    if endpoint.port == 4318:
        return f"{value!r} is the OTLP/HTTP port (grafana/alloy#4092)"
    return None


@check("alloy.exporter-protocol", static=True)
def alloy_exporter_protocol(ctx: VerifyContext) -> Verdict:
    findings: list[Finding] = []
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
        findings.append(
            fail(
                problem,
                f'define {HTTP_EXPORTER} "phoenix" in stacks/grafana-alloy/phoenix-exporter.alloy.j2, '
                "then `invoke render`",
            )
        )
    exporters = ", ".join(exporter.id for exporter in to_phoenix)
    return conclude(findings, f"traces leave for Phoenix over OTLP/HTTP through {exporters}")


# ---------------------------------------------------------------------------------------------------
# alloy.exporter-endpoint


@check("alloy.exporter-endpoint", static=True)
def alloy_exporter_endpoint(ctx: VerifyContext) -> Verdict:
    exporters = phoenix_http_exporters(ctx)
    if not exporters:
        return Verdict.skipped(f"no {HTTP_EXPORTER} sends to Phoenix (see alloy.exporter-protocol)")
    findings: list[Finding] = []
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


def encoding_findings(exporter: Component) -> list[Finding]:
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


def client_endpoint_findings(exporter: Component, ctx: VerifyContext) -> tuple[list[Finding], Endpoint | None]:
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


def compression_findings(exporter: Component, ctx: VerifyContext) -> list[Finding]:
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


def tls_findings(exporter: Component, endpoint: Endpoint) -> list[Finding]:
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


@check("alloy.pipeline", static=True)
def alloy_pipeline(ctx: VerifyContext) -> Verdict:
    config = ctx.files.alloy
    receivers = config.named(OTLP_RECEIVER)
    if not receivers:
        return missing(ctx, f"no {OTLP_RECEIVER} is defined", "see alloy.receiver-bind")
    findings: list[Finding] = []
    routes = []
    for receiver in receivers:
        receiver_findings, route = trace_route(receiver, ctx)
        findings += receiver_findings
        if route:
            routes.append(" -> ".join(route))
    if findings and not config.complete and not routes:
        return Verdict.skipped("the traces path is incomplete, but an Alloy file does not parse (see alloy.syntax)")
    return conclude(findings, "; ".join(routes))


def trace_route(receiver: Component, ctx: VerifyContext) -> tuple[list[Finding], list[str]]:
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
    findings: list[Finding] = []
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


# ---------------------------------------------------------------------------------------------------
# alloy.listen-addr


def compose_service(compose: ComposeSource, service: str) -> dict[str, Any] | None:
    services = (compose.data or {}).get("services") or {}
    found = services.get(service)
    return found if isinstance(found, dict) else None


def container_ports(entries: Iterable[Any], variables: Mapping[str, str]) -> set[int]:
    """Container ports a compose `ports:` list publishes ("8080:80", "127.0.0.1:80:80/tcp", long syntax)."""
    ports: set[int] = set()
    for entry in entries or []:
        if isinstance(entry, dict):
            text = interpolate(str(entry.get("target", "")), variables)
        else:
            text = interpolate(str(entry), variables).split("/")[0].rsplit(":", 1)[-1]
        first, _, last = text.partition("-")
        if first.isdigit() and (not last or last.isdigit()):
            ports.update(range(int(first), int(last or first) + 1))
    return ports


def listen_flag(args: list[str]) -> str | None:
    for index, arg in enumerate(args):
        name, equals, value = arg.lstrip("-").partition("=")
        if arg.startswith("-") and name == "server.http.listen-addr":
            if equals:
                return value
            return args[index + 1] if index + 1 < len(args) else ""
    return None


@check("alloy.listen-addr", static=True)
def alloy_listen_addr(ctx: VerifyContext) -> Verdict:
    compose = ctx.files.compose["alloy"]
    if compose.error:
        return Verdict.failed(compose.error, f"fix {compose.shown}")
    service = compose_service(compose, "alloy")
    if service is None:
        return Verdict.failed(f"{compose.shown}: no services.alloy", f"define services.alloy in {compose.shown}")
    variables = render.compose_environment(ctx.settings)
    command = service.get("command")
    where = compose.where("services", "alloy", "command") if command else compose.where("services", "alloy")
    add_flag = f"in {compose.shown}, add --server.http.listen-addr=0.0.0.0:12345 to services.alloy.command"
    if not command:
        return Verdict.failed(
            f"{where}: no command, so Alloy runs the image's default, whose UI, /-/ready and /metrics "
            "listen on 127.0.0.1:12345, unreachable from outside the container (grafana/alloy#1469)",
            f"in {compose.shown}, set command: [run, /etc/alloy, --server.http.listen-addr=0.0.0.0:12345, "
            "--storage.path=/var/lib/alloy/data]",
        )
    args = shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]
    args = [interpolate(arg, variables) for arg in args]
    findings: list[Finding] = []
    if not args or args[0] != "run":
        findings.append(
            fail(
                f"{where}: the command does not start with `run` (a compose command replaces the image's "
                "whole default command)",
                f"in {compose.shown}, start services.alloy.command with run /etc/alloy",
            )
        )
    elif len(args) > 1 and args[1].endswith(".alloy"):
        findings.append(
            fail(
                f"{where}: `run {args[1]}` loads that one file, not the folder: the rendered pieces "
                f"(phoenix-exporter.alloy, metrics.alloy) are ignored and {HTTP_EXPORTER}.phoenix is "
                "undefined",
                f"in {compose.shown}, run the folder: run /etc/alloy",
            )
        )
    published = container_ports(service.get("ports") or [], variables)
    ports_where = compose.where("services", "alloy", "ports")
    listen = listen_flag(args)
    if listen is None:
        findings.append(
            fail(
                f"{where}: no --server.http.listen-addr, so Alloy's UI, /-/ready and /metrics listen on the "
                "default 127.0.0.1:12345, unreachable from outside the container (grafana/alloy#1469)",
                add_flag,
            )
        )
    else:
        endpoint = parse_endpoint(listen)
        if endpoint is None or endpoint.host != "0.0.0.0":
            findings.append(
                fail(
                    f"{where}: --server.http.listen-addr={listen}: only 0.0.0.0 is reachable from outside "
                    "the container",
                    add_flag,
                )
            )
        elif endpoint.port not in published:
            findings.append(
                fail(
                    f"{ports_where}: Alloy's UI listens on container port {endpoint.port}, which is not "
                    f"published (published: {sorted(published)})",
                    f'in {compose.shown}, publish "${{ALLOY_UI_PORT:-12345}}:{endpoint.port}"',
                )
            )
    findings += receiver_port_findings(ctx, published, ports_where, compose.shown)
    return conclude(
        findings,
        f"Alloy listens on {listen} and publishes container ports {', '.join(map(str, sorted(published)))}",
    )


def receiver_port_findings(ctx: VerifyContext, published: set[int], ports_where: str, shown: str) -> list[Finding]:
    """The receiver's ports in a container (docker's alloy.env) must be among the published ones."""
    docker_env = render.alloy_env(ctx.settings, DEFAULT_PLAN, PLACEHOLDER_SECRETS)
    findings = []
    for receiver in ctx.files.alloy.named(OTLP_RECEIVER):
        for server, _default_port in RECEIVER_SERVERS:
            server_block = receiver.block.block(server)
            attribute = server_block.attribute("endpoint") if server_block else None
            value = string_value(attribute.value, docker_env) if attribute else None
            endpoint = parse_endpoint(value) if value else None
            if endpoint and endpoint.port is not None and endpoint.port not in published:
                findings.append(
                    fail(
                        f"{ports_where}: {receiver.id} listens for OTLP/{server} on container port "
                        f"{endpoint.port} ({receiver.where(attribute.line)}), but {shown} publishes "
                        f"{sorted(published)}: apps on the host cannot reach it",
                        f"in {shown}, publish the receiver's port, or change the receiver's endpoint to match",
                    )
                )
    return findings


# ---------------------------------------------------------------------------------------------------
# phoenix.volume


def named_volume_targets(
    service: dict[str, Any], declared: Iterable[str], variables: Mapping[str, str]
) -> dict[str, str]:
    """Mount target -> named volume, for the named volumes (not bind mounts) a service mounts."""
    targets = {}
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            kind, source, target = entry.get("type"), entry.get("source", ""), entry.get("target", "")
            if kind != "volume":
                continue
        else:
            parts = interpolate(str(entry), variables).split(":")
            if len(parts) < 2:
                continue
            source, target = parts[0], parts[1]
        source, target = interpolate(str(source), variables), interpolate(str(target), variables)
        if source and not source.startswith(("/", ".", "~")) and source in declared:
            targets[target.rstrip("/") or "/"] = source
    return targets


def compose_environment_value(service: dict[str, Any], name: str, variables: Mapping[str, str]) -> str | None:
    environment = service.get("environment")
    if isinstance(environment, dict) and name in environment:
        return interpolate(str(environment[name]), variables)
    if isinstance(environment, list):
        for entry in environment:
            key, equals, value = str(entry).partition("=")
            if key == name and equals:
                return interpolate(value, variables)
    return None


def volume_finding(
    compose: ComposeSource, service_name: str, directory: str, what: str, variables: Mapping[str, str]
) -> Finding | None:
    if compose.error:
        return fail(compose.error, f"fix {compose.shown}")
    service = compose_service(compose, service_name)
    if service is None:
        return fail(
            f"{compose.shown}: no services.{service_name}",
            f"define services.{service_name} in {compose.shown}",
        )
    declared = (compose.data or {}).get("volumes") or {}
    targets = named_volume_targets(service, declared, variables)
    if directory.rstrip("/") in targets:
        return None
    where = (
        compose.where("services", service_name, "volumes")
        if service.get("volumes")
        else compose.where("services", service_name)
    )
    mounted = ", ".join(f"{volume} at {target}" for target, volume in targets.items()) or "none"
    return fail(
        f"{where}: no named volume is mounted at {directory}, where {what} (named volumes mounted: "
        f"{mounted}): every restart loses all traces",
        f"in {compose.shown}, mount a named volume declared under top-level volumes at {directory} "
        f"in services.{service_name}.volumes",
    )


def temporary_root(path: Path) -> Path | None:
    roots = {Path(root) for root in TEMPORARY_ROOTS} | {Path(tempfile.gettempdir())}
    resolved = path.resolve()
    for root in roots:
        if resolved.is_relative_to(root.resolve()):
            return root
    return None


@check("phoenix.volume", static=True)
def phoenix_volume(ctx: VerifyContext) -> Verdict:
    settings = ctx.settings
    variables = render.compose_environment(settings)
    findings: list[Finding] = []
    compose = ctx.files.compose["phoenix"]
    service = compose_service(compose, "phoenix") or {}
    working_dir = compose_environment_value(service, "PHOENIX_WORKING_DIR", variables) or settings.phoenix_working_dir
    found = volume_finding(
        compose, "phoenix", working_dir, "Phoenix keeps its database (PHOENIX_WORKING_DIR)", variables
    )
    if found:
        findings.append(found)
    passed = [f"docker: a named volume holds PHOENIX_WORKING_DIR={working_dir}"]
    if settings.phoenix_db == "postgres":
        found = volume_finding(
            ctx.files.compose["phoenix-postgres"],
            "postgres",
            POSTGRES_DATA_DIR,
            "PostgreSQL keeps its data",
            variables,
        )
        if found:
            findings.append(found)
        passed.append(f"PostgreSQL's {POSTGRES_DATA_DIR} too")
    if settings.runtime in ("native", "auto") and settings.phoenix_db == "sqlite":
        native_dir = Path(render.phoenix_env(settings, NATIVE_PLAN, PLACEHOLDER_SECRETS)["PHOENIX_WORKING_DIR"])
        findings += native_data_findings(settings.state_dir, native_dir, settings.runtime)
        passed.append(f"native: {native_dir}")
    return conclude(findings, "; ".join(passed))


def native_data_findings(state_dir: Path, native_dir: Path, runtime: str) -> list[Finding]:
    fix = f"set STACK_STATE_DIR (now {state_dir}) to a persistent folder, such as the default .stack"
    if not native_dir.resolve().is_relative_to(state_dir.resolve()):
        return [fail(f"natively Phoenix's working dir {native_dir} is outside STACK_STATE_DIR={state_dir}", fix)]
    root = temporary_root(state_dir)
    if root is None:
        return []
    problem = (
        f"STACK_STATE_DIR={state_dir}: natively Phoenix keeps its database in {native_dir}, under {root}, "
        "which the system empties: every reboot loses all traces"
    )
    # A warning, not a failure: restarts keep the data; only a reboot (or a tmp cleaner) loses it, and a
    # throwaway state folder (the smoke run's) is a legitimate choice.
    return [warn(problem if runtime == "native" else problem + " (if the native runtime is used)", fix)]


# ---------------------------------------------------------------------------------------------------
# phoenix.auth-config (the runtime phoenix.auth check proves the key is accepted)


def authorization_headers(component: Component) -> tuple[Attribute | None, ObjectField | None]:
    headers = client_attribute(component, "headers")
    if headers is None or not isinstance(headers.value, Object):
        return headers, None
    return headers, headers.value.field("authorization", ignore_case=True)


@check("phoenix.auth-config", static=True)
def phoenix_auth_config(ctx: VerifyContext) -> Verdict:
    config = ctx.files.alloy
    exporters = phoenix_http_exporters(ctx)
    if not exporters:
        return Verdict.skipped(f"no {HTTP_EXPORTER} sends to Phoenix (see alloy.exporter-protocol)")
    findings: list[Finding] = []
    if ctx.settings.phoenix_enable_auth:
        for exporter in exporters:
            findings += auth_on_findings(exporter, ctx)
        return conclude(
            findings,
            f"PHOENIX_ENABLE_AUTH=true: {', '.join(e.id for e in exporters)} sends authorization: Bearer "
            f'sys.env("{PHOENIX_KEY_VARIABLE}") (set in {ctx.files.alloy_env.shown})',
        )
    for exporter in (c for c in config.components if c.block.dotted_name.startswith(EXPORTER_PREFIX)):
        _, header = authorization_headers(exporter)
        if header is not None:
            findings.append(
                fail(
                    f"{exporter.where(header.line)}: PHOENIX_ENABLE_AUTH=false but {exporter.id} still "
                    'sends an authorization header (a dangling "Bearer " with no key behind it)',
                    exporter.source.fix_in("add the headers only when auth is on ({% if auth_enabled %})"),
                )
            )
    return conclude(findings, "PHOENIX_ENABLE_AUTH=false: no authorization header is configured")


def auth_on_findings(exporter: Component, ctx: VerifyContext) -> list[Finding]:
    headers, header = authorization_headers(exporter)
    add_header = exporter.source.fix_in(
        f'set client.headers = {{ "authorization" = "Bearer " + sys.env("{PHOENIX_KEY_VARIABLE}") }} when auth is on'
    )
    if header is None:
        return [
            fail(
                f"{exporter.where(headers.line if headers else None)}: PHOENIX_ENABLE_AUTH=true but "
                f"{exporter.id} sends no authorization header: Phoenix answers 401 and drops every span",
                add_header,
            )
        ]
    if not reads_env(header.value, PHOENIX_KEY_VARIABLE):
        return [
            fail(
                f"{exporter.where(header.line)}: the authorization header is not built from "
                f'sys.env("{PHOENIX_KEY_VARIABLE}") (a key written into the config leaks it and goes stale)',
                add_header,
            )
        ]
    value = evaluate(header.value, ctx.files.alloy_env.values)  # holds the key: never printed
    if isinstance(value, str) and (not value.startswith("Bearer ") or not value.removeprefix("Bearer ").strip()):
        return [
            fail(
                f"{exporter.where(header.line)}: the authorization header evaluates without a key: "
                f"{PHOENIX_KEY_VARIABLE} is empty or missing in {ctx.files.alloy_env.shown}",
                "run `invoke up`, which mints Phoenix's ingestion key and renders it into alloy.env",
            )
        ]
    return []


# ---------------------------------------------------------------------------------------------------
# sdk.exporter


@check("sdk.exporter", static=True)
def sdk_exporter(ctx: VerifyContext) -> Verdict:
    env = ctx.files.ai_demo_env
    settings = ctx.settings
    findings: list[Finding] = []
    value = env.values.get("AI_DEMO_OTLP_ENDPOINT", "")
    setting = f"AI_DEMO_OTLP_ENDPOINT={value!r} in {env.shown}"
    fix = (
        "AI_DEMO_OTLP_ENDPOINT must be an OTLP/HTTP base URL such as http://alloy:4318 "
        "(stackkit/render.py ai_demo_env writes it; `invoke render`)"
    )
    endpoint = parse_endpoint(value) if value else None
    grpc_ports = {4317, 14317, settings.alloy_otlp_grpc_port, settings.phoenix_grpc_host_port}
    if endpoint is None or endpoint.scheme not in ("http", "https") or not endpoint.host:
        findings.append(fail(f"{setting}: not an http(s)://host:port base URL", fix))
    elif endpoint.path.rstrip("/").endswith("/v1/traces"):
        findings.append(
            fail(
                f"{setting}: ends in /v1/traces, which the demo appends itself: /v1/traces/v1/traces answers 404",
                fix,
            )
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


def telemetry_findings(ctx: VerifyContext) -> list[Finding]:
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
