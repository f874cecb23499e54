"""Phoenix's own account of what it lost and how full its store is, read from its Prometheus metrics.

Loss attribution otherwise stops at "Phoenix accepted it": a 503 from a full ingest queue makes the SDK (or
Alloy, after its retries) drop the batch, and a span that fails to insert is only counted inside Phoenix.
"""

from __future__ import annotations

from stackkit.components.registry import PHOENIX
from stackkit.phoenix import metrics as phoenix_metrics
from stackkit.phoenix.metrics import Metrics
from stackkit.verify.live import UP_FIX, runtime_and_plan
from stackkit.verify.registry import CheckResult, Stage, VerifyContext, check


def _metrics(ctx: VerifyContext) -> Metrics | CheckResult:
    if ctx.settings.phoenix_external_url:
        return CheckResult.skipped("Phoenix is external (PHOENIX_EXTERNAL_URL): its metrics are not the stack's")
    runtime, _ = runtime_and_plan(ctx.settings)
    if not runtime.state(PHOENIX.name).running:
        return CheckResult.skipped(f"Phoenix is not running: {UP_FIX.format(component='phoenix')}")
    found = phoenix_metrics.scrape(ctx.settings, runtime.name)
    if isinstance(found, str):
        return CheckResult.skipped(found)
    return found


@check("phoenix.ingest", static=False, stage=Stage.STORE)
def phoenix_ingest(ctx: VerifyContext) -> CheckResult:
    found = _metrics(ctx)
    if isinstance(found, CheckResult):
        return found
    queued = int(found.get(phoenix_metrics.SPAN_QUEUE_SIZE) or 0)
    rejected = int(found.get(phoenix_metrics.SPAN_QUEUE_REJECTIONS) or 0)
    failed = int(found.get(phoenix_metrics.FAILED_SPANS) or 0)
    problems, fixes = [], []
    if rejected:
        problems.append(
            f"{rejected} export requests rejected at Phoenix since it started: its ingest queue was full and it "
            f"answered 503 ({phoenix_metrics.SPAN_QUEUE_REJECTIONS}); every span in them is lost unless the sender "
            "retried (Alloy does, the SDK drops the batch)"
        )
        fixes.append(
            "send through Alloy (its on-disk queue retries 503s), slow the senders down, or raise "
            "PHOENIX_MAX_SPANS_QUEUE_SIZE (more memory in Phoenix)"
        )
    if failed:
        problems.append(
            f"{failed} spans lost at Phoenix since it started: accepted, then not written "
            f"({phoenix_metrics.FAILED_SPANS})"
        )
        fixes.append("read `invoke logs --service phoenix` for the database error (a full disk, a locked store)")
    if problems:
        return CheckResult.failed("; ".join(problems) + f"; {queued} spans queued now", "; ".join(fixes))
    return CheckResult.passed(f"no span rejected or failed at Phoenix since it started; {queued} spans queued now")


@check("phoenix.storage", static=False, stage=Stage.STORE)
def phoenix_storage(ctx: VerifyContext) -> CheckResult:
    capacity = ctx.settings.phoenix_database_allocated_storage_capacity_gibibytes
    if capacity is None:
        return CheckResult.skipped(
            "no storage guard: PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES is empty "
            "(`invoke status` shows the store's size and the free disk)"
        )
    found = _metrics(ctx)
    if isinstance(found, CheckResult):
        return found
    threshold = ctx.settings.phoenix_database_usage_insertion_blocking_threshold_percentage
    fix = (
        "lower PHOENIX_DEFAULT_RETENTION_POLICY_DAYS, delete old projects, or raise "
        "PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES if the disk has room; then `invoke up`"
    )
    if found.get(phoenix_metrics.INSERTIONS_BLOCKED):
        return CheckResult.failed(
            f"Phoenix has stopped writing spans: its store is past {threshold:g}% of {capacity:g} GiB "
            f"({phoenix_metrics.INSERTIONS_BLOCKED} = 1); every span sent now is lost",
            fix,
        )
    ratio = found.get(phoenix_metrics.DISK_USAGE_RATIO)
    if ratio is None:
        return CheckResult.skipped("Phoenix has not measured its store yet (it does every minute)")
    used = 100 * ratio
    if used >= threshold * 0.9:
        return CheckResult.warned(
            f"Phoenix's store uses {used:.1f}% of {capacity:g} GiB; writes stop at {threshold:g}%", fix
        )
    return CheckResult.passed(f"Phoenix's store uses {used:.1f}% of {capacity:g} GiB (writes stop at {threshold:g}%)")
