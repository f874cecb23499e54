"""Alloy's sending queue to Phoenix: bounded by bytes (or spans), kept on disk by otelcol.storage.file.

What the pinned Alloy (v1.18.1) accepts, from grafana/alloy docs/sources/shared/reference/components/
otelcol-queue-block.md and internal/component/otelcol/config_queue.go: `sizer` is "requests" (the default:
queue_size counts export requests), "items" (spans) or "bytes" (serialized size); `storage` takes an
otelcol.storage.* handler, and then "the queue is no longer stored in memory" and survives a restart. Its
`batch` block (flush_timeout, sizer, min_size, max_size) forms the batches sent to Phoenix from the queue.
"""

from __future__ import annotations

from stackkit.alloy.syntax import Block, dotted_chain, evaluate, references
from stackkit.verify.alloy_model import HTTP_EXPORTER, TEMPORARY_ROOTS, phoenix_http_exporters
from stackkit.verify.files import AlloyComponent
from stackkit.verify.findings import conclude, fail, warn
from stackkit.verify.registry import CheckResult, VerifyContext, check

QUEUE_DOC = "grafana/alloy docs/sources/shared/reference/components/otelcol-queue-block.md"
FILE_STORAGE = "otelcol.storage.file"
# Phoenix's docs estimate an LLM span (prompt and completion as attributes) at about 50 KiB.
LLM_SPAN_BYTES = 50 * 1024
DEFAULT_QUEUE_SIZE = 1000
DEFAULT_CONSUMERS = 10
DEFAULT_BATCH_MAX_SPANS = 8192  # otelcol.processor.batch's send_batch_max_size 0 means no cap; 8192 its batch size
MIB = 1024 * 1024


def _number(block: Block | None, name: str, default: int) -> int | None:
    attribute = block.attribute(name) if block else None
    if attribute is None:
        return default
    value = evaluate(attribute.value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _largest_request(ctx: VerifyContext, exporter: AlloyComponent) -> int:
    """The most spans one request into this exporter can carry: a batch processor's cap when one feeds it, else
    what a sender may put in one export request."""
    sizes = []
    for processor in ctx.files.alloy.named("otelcol.processor.batch"):
        output = processor.block.block("output")
        traces = output.attribute("traces") if output else None
        targets = [ctx.files.alloy.resolve(reference.path) for reference in references(traces.value)] if traces else []
        if any(target is not None and target.id == exporter.id for target in targets):
            size = _number(processor.block, "send_batch_max_size", 0)
            sizes.append(size or DEFAULT_BATCH_MAX_SPANS)
    return max(sizes, default=DEFAULT_BATCH_MAX_SPANS)


def _in_memory(queue: Block, sizer: str, consumers: int) -> str:
    """What the queue's consumers hold in memory while sending, from its batch block."""
    batch = queue.block("batch")
    if batch is None:
        return f"{consumers} consumers send one queued request each (no batch block: as the senders sent them)"
    batch_sizer_attribute = batch.attribute("sizer")
    batch_sizer = evaluate(batch_sizer_attribute.value) if batch_sizer_attribute else sizer
    largest = _number(batch, "max_size", 0) or _number(batch, "min_size", 0)
    if not largest:
        return f"{consumers} consumers hold batches of unbounded size in memory while sending"
    if batch_sizer == "bytes":
        return f"{consumers} consumers hold up to {consumers} x {largest / MIB:g} MiB batches in memory while sending"
    in_flight = consumers * largest * LLM_SPAN_BYTES / MIB
    return (
        f"{consumers} consumers hold up to {consumers} x {largest} spans (~{in_flight:.0f} MiB of LLM spans) in "
        "memory while sending"
    )


def _storage_findings(exporter: AlloyComponent, queue: Block, ctx: VerifyContext) -> tuple[list[CheckResult], str]:
    attribute = queue.attribute("storage")
    if attribute is None:
        return [
            fail(
                "sending_queue has no storage, so the queue is in memory only: "
                "every span waiting for Phoenix is lost when Alloy restarts",
                exporter.source.fix_in(
                    f'add otelcol.storage.file "queue" {{}} and storage = {FILE_STORAGE}.queue.handler to '
                    f"sending_queue ({QUEUE_DOC})"
                ),
                at=exporter.where(queue.line),
            )
        ], ""
    chain = dotted_chain(attribute.value)
    target = ctx.files.alloy.resolve(chain) if chain else None
    if chain is None or target is None or target.block.dotted_name != FILE_STORAGE or chain[-1] != "handler":
        shown = ".".join(chain) if chain else "an expression"
        return [
            fail(
                f"storage = {shown}, which is not the handler of an "
                f"{FILE_STORAGE} defined in these files: Alloy refuses the configuration",
                exporter.source.fix_in(
                    f'define otelcol.storage.file "queue" {{}} and use {FILE_STORAGE}.queue.handler'
                ),
                at=exporter.where(attribute.line),
            )
        ], ""
    findings = []
    directory = target.block.attribute("directory")
    value = evaluate(directory.value) if directory else None
    if isinstance(value, str) and value.startswith(TEMPORARY_ROOTS):
        findings.append(
            warn(
                f"the queue's file is in {value}, which a reboot empties",
                target.source.fix_in("remove directory (Alloy's --storage.path is kept) or point it at a lasting one"),
                at=target.where(directory.line if directory else None),
            )
        )
    fsync = target.block.attribute("fsync")
    if fsync is None or evaluate(fsync.value) is not True:
        findings.append(
            warn(
                f"{target.id} writes without fsync (Alloy's "
                "default), so a crash or power loss can lose the queued backlog "
                "(opentelemetry-collector-contrib#50102)",
                target.source.fix_in(
                    f"set fsync = true in {target.id} (one fsync per queue write; docs/operations.md)"
                ),
                at=target.where(fsync.line if fsync else None),
            )
        )
    return findings, target.id


@check("alloy.queue", static=True)
def alloy_queue(ctx: VerifyContext) -> CheckResult:
    exporters = phoenix_http_exporters(ctx)
    if not exporters:
        return CheckResult.skipped(f"no {HTTP_EXPORTER} sends to Phoenix (see alloy.exporter-protocol)")
    findings: list[CheckResult] = []
    summaries = []
    for exporter in exporters:
        request_spans = _largest_request(ctx, exporter)
        queue = exporter.block.block("sending_queue")
        enabled_attribute = queue.attribute("enabled") if queue else None
        enabled = evaluate(enabled_attribute.value) if enabled_attribute else True
        if queue is None or enabled is not True:
            what = (
                "has no sending_queue block: the default queue holds 1000 requests in memory"
                if queue is None
                else ("disables its sending_queue: every span sent while Phoenix restarts is dropped")
            )
            findings.append(
                fail(
                    f"{exporter.id} {what}",
                    exporter.source.fix_in(
                        'write sending_queue { sizer = "bytes", queue_size = <bytes>, storage = '
                        f"{FILE_STORAGE}.queue.handler }} ({QUEUE_DOC})"
                    ),
                    at=exporter.where(queue.line if queue else None),
                )
            )
            continue
        sizer_attribute = queue.attribute("sizer")
        sizer = evaluate(sizer_attribute.value) if sizer_attribute else "requests"
        size = _number(queue, "queue_size", DEFAULT_QUEUE_SIZE)
        consumers = _number(queue, "num_consumers", DEFAULT_CONSUMERS) or DEFAULT_CONSUMERS
        if sizer not in ("bytes", "items"):
            spans = (size or DEFAULT_QUEUE_SIZE) * request_spans
            findings.append(
                fail(
                    f"sending_queue counts requests (sizer {sizer!r}): {size} requests "
                    f"of up to {request_spans} spans is {spans:,} spans, ~{spans * LLM_SPAN_BYTES // MIB:,} MiB of "
                    "~50 KiB LLM spans: unbounded for any real host",
                    exporter.source.fix_in('set sizer = "bytes" and queue_size to a budget in bytes (ALLOY_QUEUE_MIB)'),
                    at=exporter.where(queue.line),
                )
            )
            continue
        if size is None or size <= 0:
            findings.append(
                fail(
                    "queue_size is not a positive number",
                    exporter.source.fix_in("set queue_size to a positive number"),
                    at=exporter.where(queue.line),
                )
            )
            continue
        storage_findings, storage_id = _storage_findings(exporter, queue, ctx)
        findings += storage_findings
        bound = (
            f"{size / MIB:g} MiB" if sizer == "bytes" else f"{size:,} spans (~{size * LLM_SPAN_BYTES / MIB:,.0f} MiB)"
        )
        summaries.append(
            f"{exporter.id} queues at most {bound} in {storage_id or 'memory'}; {_in_memory(queue, sizer, consumers)}"
        )
    return conclude(findings, "; ".join(summaries))
