"""Every number that says a trace was lost, or is about to be, declared once as PromQL (`Signals`): the rules and
the dashboard both read them, so what pages and what is drawn cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass

from stackkit.core import llm_metrics as llm
from stackkit.monitoring.targets import FANOUT_JOBS, PHOENIX_JOB, Watched

# The window every "lost in the last ..." number counts over, and the demo's rates.
WINDOW = "5m"

PHOENIX_BY = "job, instance"
LAST_WRITE = "phoenix_span_ingestion_last_success_timestamp_seconds"
FANOUT_BY = "job, instance, component_id, exporter"
RECEIVER_BY = "job, instance, component_id, receiver, transport"
# The LLM metrics (stackkit/core/llm_metrics.py) per service and model, and per service and tool.
LLM_BY = f"{llm.SERVICE_LABEL}, {llm.MODEL_LABEL}"
TOOL_BY = f"{llm.SERVICE_LABEL}, {llm.TOOL_LABEL}"
# The recording rule (rules.recording_rules) of the priced models' cost, US$ per hour.
COST_RECORD = "stackkit:llm_cost_usd_per_hour"
# The token-surge baseline: the last day, and the recent window compared with it.
BASELINE = "1d"
RECENT = "1h"


def lost(counter: str, by: str) -> str:
    """How much a counter rose in the window. A series younger than the window (a counter Phoenix creates
    on its first failure, with its first value already > 0) counts from zero, which increase() would miss."""
    return f"sum by ({by}) (({counter} unless {counter} offset {WINDOW}) or increase({counter}[{WINDOW}]))"


def rate(counter: str, by: str, selector: str = "") -> str:
    return f"sum by ({by}) (rate({counter}{selector}[{WINDOW}]))"


def collector_counter(name: str) -> str:
    """A fan-out counter under both of its names: Alloy exports `name_total`, the Collector (v0.165) `name`."""
    return f'{{__name__=~"{name}(_total)?"}}'


def calls_of(kind: str, by: str, errors_only: bool = False) -> str:
    status = f', {llm.STATUS_LABEL}="{llm.ERROR_STATUS}"' if errors_only else ""
    return rate(llm.CALLS, by, f'{{{llm.KIND_LABEL}="{kind}"{status}}}')


def error_share(kind: str, by: str) -> str:
    """Errored calls of a span kind over all its calls; 0 (not nothing) while none failed."""
    every = calls_of(kind, by)
    return f"({calls_of(kind, by, errors_only=True)} or 0 * {every}) / {every}"


def llm_quantile(q: float) -> str:
    """The LLM calls' duration quantile, in milliseconds."""
    return (
        f"histogram_quantile({q}, sum by ({LLM_BY}, le) "
        f'(rate({llm.DURATION_BUCKET}{{{llm.KIND_LABEL}="LLM"}}[{WINDOW}])))'
    )


def tokens_per_second(window: str, *sums: llm.TokenSum) -> str:
    """Tokens per second per service and model: of one sum, or of several added (each its own sum first:
    rate() drops the metric's name, and two names' series would collide)."""
    return " + ".join(f"sum by ({LLM_BY}) (rate({tokens.promql}[{window}]))" for tokens in sums)


def up_of(jobs: tuple[str, ...]) -> str:
    return f'up{{job="{jobs[0]}"}}' if len(jobs) == 1 else f'up{{job=~"{"|".join(jobs)}"}}'


@dataclass(frozen=True)
class Signals:
    """Each number once, as the PromQL both the rules and the dashboard use."""

    phoenix_up: str
    fanout_up: str
    phoenix_export_requests: str
    phoenix_rejected: str
    phoenix_failed: str
    phoenix_unresolved: str
    phoenix_queue_fill: str
    phoenix_queued: str
    phoenix_seconds_since_write: str
    phoenix_insert_p95: str
    store_bytes: str
    store_fill: str
    insertions_blocked: str
    fanout_accepted: str
    fanout_sent: str
    fanout_refused: str
    fanout_send_failed: str
    fanout_enqueue_failed: str
    fanout_queue_fill: str
    demo_requests: str
    demo_error_ratio: str
    demo_p50: str
    demo_p95: str
    llm_calls: str
    llm_error_share: str
    tool_failure_share: str
    llm_p50_ms: str
    llm_p95_ms: str
    llm_prompt_tokens: str
    llm_completion_tokens: str
    llm_tokens_recent: str
    llm_tokens_baseline: str
    llm_tokens_a_day_ago: str
    llm_cost_usd_per_hour: str


def signals(watched: Watched) -> Signals:
    demo_all = f"sum(rate(ai_demo_requests_total[{WINDOW}]))"
    demo_bad = f'sum(rate(ai_demo_requests_total{{outcome!="ok"}}[{WINDOW}]))'

    def demo_quantile(q: float) -> str:
        return f"histogram_quantile({q}, sum by (le) (rate(ai_demo_request_duration_seconds_bucket[{WINDOW}])))"

    return Signals(
        phoenix_up=up_of((PHOENIX_JOB,)),
        fanout_up=up_of(FANOUT_JOBS),
        phoenix_export_requests=rate(
            "starlette_requests_processing_time_seconds_summary_count", PHOENIX_BY, '{path="/v1/traces"}'
        ),
        phoenix_rejected=lost("phoenix_span_queue_rejections_total", PHOENIX_BY),
        phoenix_failed=lost("phoenix_span_ingestion_failed_spans_total", f"{PHOENIX_BY}, reason"),
        phoenix_unresolved=lost("phoenix_span_ingestion_unresolved_spans_total", PHOENIX_BY),
        phoenix_queue_fill=f"max by ({PHOENIX_BY}) (phoenix_span_queue_size) / {watched.max_spans_queue}",
        phoenix_queued=f"max by ({PHOENIX_BY}) (phoenix_span_queue_size)",
        # Phoenix's last write, or its start while it has written nothing yet (the gauge is 0 until then).
        phoenix_seconds_since_write=(
            f"time() - max by ({PHOENIX_BY}) "
            f'({{__name__=~"{LAST_WRITE}|process_start_time_seconds"}} and on ({PHOENIX_BY}) {LAST_WRITE})'
        ),
        phoenix_insert_p95=(
            f"histogram_quantile(0.95, sum by ({PHOENIX_BY}, le) "
            f"(rate(phoenix_bulk_loader_span_insertion_time_seconds_bucket[{WINDOW}])))"
        ),
        store_bytes=f"max by ({PHOENIX_BY}) (database_disk_usage_bytes)",
        store_fill=f"max by ({PHOENIX_BY}) (database_disk_usage_ratio)",
        insertions_blocked=f"max by ({PHOENIX_BY}) (database_insertions_blocked)",
        fanout_accepted=rate(collector_counter("otelcol_receiver_accepted_spans"), RECEIVER_BY),
        fanout_sent=rate(collector_counter("otelcol_exporter_sent_spans"), FANOUT_BY),
        fanout_refused=lost(collector_counter("otelcol_receiver_refused_spans"), RECEIVER_BY),
        fanout_send_failed=lost(collector_counter("otelcol_exporter_send_failed_spans"), FANOUT_BY),
        fanout_enqueue_failed=lost(collector_counter("otelcol_exporter_enqueue_failed_spans"), FANOUT_BY),
        fanout_queue_fill=f"max by ({FANOUT_BY}) (otelcol_exporter_queue_size / otelcol_exporter_queue_capacity)",
        demo_requests=f"sum by (outcome) (rate(ai_demo_requests_total[{WINDOW}]))",
        demo_error_ratio=f"{demo_bad} / {demo_all}",
        demo_p50=demo_quantile(0.5),
        demo_p95=demo_quantile(0.95),
        llm_calls=rate(llm.CALLS, f"{LLM_BY}, {llm.KIND_LABEL}, {llm.STATUS_LABEL}"),
        llm_error_share=error_share("LLM", LLM_BY),
        tool_failure_share=error_share("TOOL", TOOL_BY),
        llm_p50_ms=llm_quantile(0.5),
        llm_p95_ms=llm_quantile(0.95),
        llm_prompt_tokens=tokens_per_second(WINDOW, llm.PROMPT),
        llm_completion_tokens=tokens_per_second(WINDOW, llm.COMPLETION),
        llm_tokens_recent=f"({tokens_per_second(RECENT, *llm.TOKEN_SUMS)})",
        llm_tokens_baseline=f"({tokens_per_second(BASELINE, *llm.TOKEN_SUMS)})",
        # Token sums that were there a day ago: only they have a day's baseline to be compared with.
        llm_cost_usd_per_hour=f"sum by ({LLM_BY}) ({COST_RECORD})",
        llm_tokens_a_day_ago=(f"count by ({LLM_BY}) (present_over_time({llm.PROMPT.promql}[{RECENT}] offset 23h))"),
    )
