"""Metrics of the application's own LLM and tool calls, derived from its spans at the fan-out (Alloy or the
Collector) and remote-written to the user's Prometheus: declared once here, rendered into both fan-outs'
configurations (stacks/otelcol/config.yaml.j2, stacks/grafana-alloy/llm-metrics.alloy.j2) and read by the rules
and the dashboard (stackkit.monitoring).

Calls and durations come from the `spanmetrics` connector, one series per service, OpenInference span kind
(LLM, TOOL, CHAIN, ...), model, tool name and status: nothing else becomes a label (no span name, trace, session
or Collector instance id), so the series count is bounded by the models and tools an app uses. Token sums per
model and service come from the `signaltometrics` connector (experimental in Alloy: only at
ALLOY_STABILITY_LEVEL=experimental); it emits deltas, which `deltatocumulative` turns into the running sums
Prometheus' remote-write takes (it drops delta sums).
"""

from __future__ import annotations

from dataclasses import dataclass

# OpenInference's span attributes (https://github.com/Arize-ai/openinference, semantic conventions).
SPAN_KIND = "openinference.span.kind"
MODEL = "llm.model_name"
TOOL = "tool.name"
PROMPT_TOKENS = "llm.token_count.prompt"
COMPLETION_TOKENS = "llm.token_count.completion"

# The spanmetrics dimensions on top of its own service.name and status.code, and the defaults it adds that
# would multiply the series (span.name can carry ids; collector.instance.id changes at every start).
DIMENSIONS = (SPAN_KIND, MODEL, TOOL)
EXCLUDED_DIMENSIONS = ("span.name", "span.kind", "collector.instance.id")
# At most this many label sets per metric; past it, spans count under otel.metric.overflow="true".
CARDINALITY_LIMIT = 2000
# How often the connector sends what it counted: the delay before a call shows in Prometheus.
FLUSH_INTERVAL = "15s"
# Latency buckets in milliseconds: LLM calls take from tens of milliseconds (cached) to a minute.
BUCKETS_MS = (50, 100, 250, 500, 1000, 2000, 5000, 10000, 30000, 60000)
SPAN_NAMESPACE = "stackkit.spans"
# A token sum's stream idle longer than this starts again from 0 (a counter reset to Prometheus).
TOKENS_MAX_STALE = "24h"
TOKENS_MAX_STREAMS = 2000


@dataclass(frozen=True)
class TokenSum:
    """One token sum per model and service, summed from one span attribute."""

    metric: str  # the OTel name; Prometheus' is `promql`
    attribute: str
    description: str

    @property
    def promql(self) -> str:
        return self.metric.replace(".", "_")


PROMPT = TokenSum("stackkit.llm.prompt_tokens", PROMPT_TOKENS, "Prompt (input) tokens of LLM spans")
COMPLETION = TokenSum("stackkit.llm.completion_tokens", COMPLETION_TOKENS, "Completion (output) tokens of LLM spans")
TOKEN_SUMS = (PROMPT, COMPLETION)

# What Prometheus names them (the OTel-to-Prometheus translation both fan-outs apply: dots to underscores, the
# unit and _total appended to a monotonic counter; a sum that is not monotonic keeps its name).
CALLS = f"{SPAN_NAMESPACE.replace('.', '_')}_calls_total"
DURATION_BUCKET = f"{SPAN_NAMESPACE.replace('.', '_')}_duration_milliseconds_bucket"
# The span attributes as Prometheus labels.
KIND_LABEL, MODEL_LABEL, TOOL_LABEL = (name.replace(".", "_") for name in DIMENSIONS)
# The service: remote-write names the job after the resource's service.name, on the span metrics and the
# token sums alike.
SERVICE_LABEL = "job"
STATUS_LABEL = "status_code"
ERROR_STATUS = "STATUS_CODE_ERROR"


def template_context() -> dict[str, object]:
    """What both fan-outs' templates read to render the connectors."""
    return {
        "llm_dimensions": DIMENSIONS,
        "llm_excluded_dimensions": EXCLUDED_DIMENSIONS,
        "llm_cardinality_limit": CARDINALITY_LIMIT,
        "llm_flush_interval": FLUSH_INTERVAL,
        "llm_buckets_ms": BUCKETS_MS,
        "llm_namespace": SPAN_NAMESPACE,
        "llm_model_attribute": MODEL,
        "llm_token_sums": TOKEN_SUMS,
        "llm_tokens_max_stale": TOKENS_MAX_STALE,
        "llm_tokens_max_streams": TOKENS_MAX_STREAMS,
    }
