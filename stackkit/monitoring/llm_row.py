"""The dashboard's "LLM usage" row: the application's own LLM and tool calls, from the spans at the fan-out
(stackkit/core/llm_metrics.py), plotted with the very expressions the LLM rules use."""

from __future__ import annotations

from stackkit.core.settings import Settings
from stackkit.monitoring.panels import Panel, Query, Row
from stackkit.monitoring.signals import COST_RECORD, Signals


def llm_row(settings: Settings, s: Signals) -> Row:
    return Row(
        "LLM usage",
        (
            Panel(
                "Calls per second",
                (Query(s.llm_calls, "{{job}} {{openinference_span_kind}} {{llm_model_name}} {{status_code}}"),),
                "reqps",
                "Spans per second by service, OpenInference kind (LLM, TOOL, CHAIN), model and status, counted by "
                "the fan-out from the spans it forwards (no change to the app). No data: PROMETHEUS_REMOTE_WRITE_URL "
                "is not set, or no app sends spans.",
                about="llm",
            ),
            Panel(
                "LLM error share",
                (Query(s.llm_error_share, "{{job}} {{llm_model_name}}"),),
                "percentunit",
                "Share of LLM calls with status ERROR per model. Red past ALERT_LLM_ERROR_PERCENT "
                f"({settings.alert_llm_error_percent:g}%): the provider refuses or times out; `invoke eval`, "
                "and the LLM spans in Phoenix carry its answer.",
                red_at=settings.alert_llm_error_percent / 100,
                about="llm",
            ),
            Panel(
                "LLM latency p50 / p95",
                (Query(s.llm_p50_ms, "p50 {{llm_model_name}}"), Query(s.llm_p95_ms, "p95 {{llm_model_name}}")),
                "ms",
                "How long LLM calls take per model. Red past EVAL_LATENCY_THRESHOLD_MS "
                f"({settings.eval_latency_threshold_ms} ms): `invoke eval` scores latency per chain.",
                red_at=settings.eval_latency_threshold_ms,
                about="llm",
            ),
            Panel(
                "Tokens per second",
                (
                    Query(s.llm_prompt_tokens, "prompt {{job}} {{llm_model_name}}"),
                    Query(s.llm_completion_tokens, "completion {{job}} {{llm_model_name}}"),
                ),
                "short",
                "Prompt and completion tokens per second per model and service, summed from the LLM spans' "
                "llm.token_count.* by the fan-out (PROMETHEUS_REMOTE_WRITE_URL). No data with Alloy below "
                "ALLOY_STABILITY_LEVEL=experimental (its token connector is experimental). `invoke eval` looks closer.",
                about="llm",
            ),
            Panel(
                "Cost per hour (US$)",
                (Query(s.llm_cost_usd_per_hour, "{{job}} {{llm_model_name}}"),),
                "currencyUSD",
                f"Tokens times the model's price, per hour ({COST_RECORD}): only models whose price the stack "
                "knows (stackkit/phoenix/pricing.py). A jump: see Tokens per second; LLMTokenSurge compares with "
                "the last day; `invoke eval` looks closer.",
                about="llm",
            ),
            Panel(
                "Failing tools",
                (Query(s.tool_failure_share, "{{job}} {{tool_name}}"),),
                "percentunit",
                "Share of tool calls (TOOL spans) with status ERROR, per tool. Red past ALERT_TOOL_FAILURE_PERCENT "
                f"({settings.alert_tool_failure_percent:g}%): `invoke eval` (tool_ok), and the TOOL spans in "
                "Phoenix carry the exception.",
                red_at=settings.alert_tool_failure_percent / 100,
                about="llm",
            ),
        ),
    )
