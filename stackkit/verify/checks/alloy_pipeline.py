"""Alloy's trace route: from the OTLP receiver through the processors to the exporter to Phoenix."""

from __future__ import annotations

from stackkit.alloy.syntax import (
    Attribute,
    references,
)
from stackkit.verify.alloy_model import (
    EXPORTER_PREFIX,
    HTTP_EXPORTER,
    OTLP_RECEIVER,
    PROCESSOR_PREFIX,
    aims_at_phoenix,
)
from stackkit.verify.files import (
    AlloyComponent,
)
from stackkit.verify.findings import conclude, fail, missing, warn
from stackkit.verify.registry import CheckResult, VerifyContext, check

# alloy.pipeline

BATCH_PROCESSOR = "otelcol.processor.batch"


def traces_output(component: AlloyComponent) -> tuple[Attribute | None, list[tuple[str, ...]]]:
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


def trace_route(receiver: AlloyComponent, ctx: VerifyContext) -> tuple[list[CheckResult], list[str]]:
    """Follow the receiver's traces output; return the problems and the route to a Phoenix exporter."""
    config = ctx.files.alloy
    attribute, first_targets = traces_output(receiver)
    if not first_targets:
        state = "empty" if attribute else "not set"
        return [
            fail(
                f"the traces output of {receiver.id} is {state}: every span received is dropped",
                receiver.source.fix_in(f"set output {{ traces = [{HTTP_EXPORTER}.phoenix.input] }} in {receiver.id}"),
                at=receiver.where(attribute.line if attribute else None),
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
                    f"the traces path of {receiver.id} stops at {'.'.join(chain)}, "
                    "which matches no component (see alloy.syntax)",
                    source.source.fix_in("point the traces output at a defined component"),
                    at=source.where(line),
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
                    f"{target.id} is on the traces path of "
                    f"{receiver.id} but its traces output is {state}, so it drops every span",
                    target.source.fix_in(f"set output {{ traces = [{HTTP_EXPORTER}.phoenix.input] }} in {target.id}"),
                    at=target.where(output.line if output else None),
                )
            )
        pending += [(target, next_target, output.line) for next_target in next_targets]  # type: ignore[union-attr]
    if batching := [step for step in to_phoenix if step.startswith(BATCH_PROCESSOR + ".")]:
        where = config.resolve(tuple(batching[0].split("."))) or receiver
        findings.append(
            warn(
                f"{batching[0]} is on the traces path to {to_phoenix[-1]}: it answers the receiver before the "
                "sending queue is tried, so when the queue is full the senders are answered 200 and the spans are "
                "dropped (counted only in otelcol_exporter_enqueue_failed_spans)",
                where.source.fix_in(
                    f"route the traces straight to {to_phoenix[-1]}.input and batch in its sending_queue's batch "
                    "block; a full queue is then refused to the sender with a retryable error"
                ),
                at=where.where(),
            )
        )
    if not to_phoenix and not findings:
        findings.append(
            fail(
                f"traces from {receiver.id} reach "
                f"{', '.join(list(routes)[1:]) or 'nothing'} but no exporter that sends to Phoenix",
                receiver.source.fix_in(f"route the traces output through to {HTTP_EXPORTER}.phoenix.input"),
                at=receiver.where(),
            )
        )
    return findings, to_phoenix
