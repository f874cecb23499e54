"""Alloy's own files, read as the parser sees them: their syntax (duplicates, unresolved references,
deprecated calls) and where the OTLP receiver listens. The exporter, the route and the running Alloy have
modules of their own (alloy_exporter, alloy_pipeline, alloy_running)."""

from __future__ import annotations

from stackkit.alloy.syntax import (
    Block,
    Call,
    function_name,
    iter_attributes,
    references,
    walk,
)
from stackkit.verify.alloy_model import (
    ALL_INTERFACES,
    DEPRECATED_FUNCTIONS,
    NON_COMPONENT_ROOTS,
    OTLP_RECEIVER,
    RECEIVER_DOC,
    RECEIVER_SERVERS,
    parse_endpoint,
    string_value,
)
from stackkit.verify.files import (
    AlloyComponent,
    AlloyConfig,
)
from stackkit.verify.findings import conclude, fail, missing, warn
from stackkit.verify.registry import CheckResult, VerifyContext, check

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
                    error.message,
                    source.fix_in("correct the syntax (Alloy loads nothing while any file of the folder fails)"),
                    at=source.where(error.line).at_column(error.col),
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
    first_by_id: dict[str, AlloyComponent] = {}
    for component in config.components:
        first = first_by_id.setdefault(component.id, component)
        if first is not component:
            findings.append(
                fail(
                    f"{component.id} is defined twice (also at {first.where()}); "
                    "Alloy runs every *.alloy file of the folder as one configuration and refuses duplicates",
                    component.source.fix_in(f"rename the label of one {component.block.dotted_name} or remove it"),
                    at=component.where(),
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
                            f"{reference.dotted} matches no component defined in {files}{hint}",
                            component.source.fix_in(
                                "reference a component that is defined (name, label, then export), "
                                "or define the one it names"
                            ),
                            at=component.where(reference.line),
                        )
                    )
                elif len(reference.path) == len(target.block.name) + 1:
                    findings.append(
                        fail(
                            f"{reference.dotted} names {target.id} but none of its exports",
                            component.source.fix_in(f"use an export, such as {reference.dotted}.input"),
                            at=component.where(reference.line),
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
                            f"{name}() is deprecated since Alloy v1.4",
                            source.fix_in(f"write {replacement}(...) instead of {name}(...)"),
                            at=source.where(node.function.line),
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
                        f"{receiver.id} has no {server} block, so its {server} server "
                        f"never starts (apps sending OTLP/{server} to :{default_port} get connection "
                        f"refused; {RECEIVER_DOC})",
                        receiver.source.fix_in(
                            f'add {server} {{ endpoint = "0.0.0.0:{default_port}" }} inside {receiver.id}'
                        ),
                        at=receiver.where(),
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
    receiver: AlloyComponent, server_block: Block, server: str, default_port: int, ctx: VerifyContext
) -> tuple[CheckResult | None, str]:
    """The problem with one server's endpoint (None when it binds every interface), and its value."""
    attribute = server_block.attribute("endpoint")
    fix = receiver.source.fix_in(f'set endpoint = "0.0.0.0:{default_port}" in the {server} block')
    if attribute is None:
        problem = (
            f"the {server} block has no endpoint and relies on a "
            "default that upstream changed to localhost (opentelemetry-collector-contrib#33896)"
        )
        return warn(problem, fix, at=receiver.where(server_block.line)), ""
    value = string_value(attribute.value, ctx.files.alloy_env.values)
    where = receiver.where(attribute.line)
    if value is None:
        return warn(f"the {server} endpoint cannot be evaluated here", fix, at=where), ""
    endpoint = parse_endpoint(value)
    if endpoint is None or endpoint.scheme:
        return fail(f"the {server} endpoint {value!r} is not a host:port to listen on", fix, at=where), value
    why = listener_problem(endpoint.host)
    return (fail(f"the {server} endpoint {value!r} {why}", fix, at=where) if why else None), value
