"""The alert rules, compared with the ALERT_* settings (stacks/prometheus/rules.yml.j2 renders them)."""

from __future__ import annotations

from dataclasses import dataclass

from stackkit.core import llm_metrics as llm
from stackkit.core.setting_values import ALLOY_NAME
from stackkit.core.settings import Settings
from stackkit.monitoring.signals import BASELINE, COST_RECORD, LLM_BY, PHOENIX_BY, RECENT, WINDOW, signals
from stackkit.monitoring.targets import Watched
from stackkit.phoenix import pricing


@dataclass(frozen=True)
class Rule:
    alert: str
    expr: str
    for_: str
    severity: str  # critical: spans are being lost now; warning: they are about to be
    summary: str
    description: str


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str


# The models whose price the stack knows (stackkit/phoenix/pricing.py), in US$ per million prompt and completion
# tokens.
PRICED_MODELS = ((pricing.OFFLINE_MODEL, pricing.INPUT_USD_PER_MILLION_TOKENS, pricing.OUTPUT_USD_PER_MILLION_TOKENS),)


def _ratio(percent: float) -> str:
    return f"{percent / 100:g}"


def cost_per_hour(model: str, prompt_per_million: float, completion_per_million: float) -> str:
    """US$ per hour a model costs at the token rates of the last WINDOW."""
    selector = f'{{{llm.MODEL_LABEL}="{model}"}}'

    def usd_per_second(tokens: llm.TokenSum, per_million: float) -> str:
        return f"sum by ({LLM_BY}) (rate({tokens.promql}{selector}[{WINDOW}])) * {per_million / 1e6:g}"

    return (
        f"3600 * ({usd_per_second(llm.PROMPT, prompt_per_million)} + "
        f"{usd_per_second(llm.COMPLETION, completion_per_million)})"
    )


def recording_rules() -> list[RecordingRule]:
    """What Prometheus computes ahead: the cost per hour of each priced model."""
    return [RecordingRule(COST_RECORD, " or ".join(f"({cost_per_hour(*priced)})" for priced in PRICED_MODELS))]


def rules(settings: Settings, watched: Watched) -> list[Rule]:
    """The alert rules, in the order the file lists them."""
    s = signals(watched)
    fanout = watched.fanout or ALLOY_NAME
    queue_ratio = _ratio(settings.alert_queue_percent)
    where = "{{ $labels.instance }}"
    count, share = "{{ $value | humanize }}", "{{ $value | humanizePercentage }}"
    component = "{{ $labels.component_id }}{{ $labels.exporter }}"
    receiver = "{{ $labels.component_id }}{{ $labels.receiver }}"
    phoenix_absent = f" or absent({s.phoenix_up})" if watched.phoenix_target else ""
    model, tool = f"{{{{ $labels.{llm.MODEL_LABEL} }}}}", f"{{{{ $labels.{llm.TOOL_LABEL} }}}}"
    service = f"{{{{ $labels.{llm.SERVICE_LABEL} }}}}"
    closer = (
        f"Look closer: `invoke eval`, and Phoenix's project {settings.phoenix_project_name} at "
        f"{settings.phoenix_url}/projects."
    )
    fanout_absent = f" or absent({s.fanout_up})" if watched.fanout_target else ""
    return [
        Rule(
            "PhoenixRejectingSpans",
            f"{s.phoenix_rejected} > 0",
            "0s",
            "critical",
            f"Phoenix at {where} answered 503 to {count} export requests in the last {WINDOW}: its span "
            "queue was full and those spans are lost. Diagnose: `invoke verify` (phoenix.ingest).",
            "Phoenix's ingest queue (PHOENIX_MAX_SPANS_QUEUE_SIZE, "
            f"{watched.max_spans_queue} spans) was full, so it refused whole export requests; an SDK drops a batch "
            "it got 503 for, a fan-out retries it. Phoenix writes slower than spans arrive: spread the load, give "
            "Phoenix a faster disk or PostgreSQL (PHOENIX_DB=postgres), or raise PHOENIX_MAX_SPANS_QUEUE_SIZE if it "
            "has the memory. `invoke status` shows the store.",
        ),
        Rule(
            "PhoenixFailedToWriteSpans",
            f"{s.phoenix_failed} > 0",
            "0s",
            "critical",
            f"Phoenix at {where} accepted and then failed to write {count} spans in the last {WINDOW} "
            "(reason {{ $labels.reason }}). Diagnose: `invoke logs --service phoenix --tail 200`.",
            "The sender got 200 but the spans never reached the database (a failed insert, a deadlock between "
            "writers on one PostgreSQL, a full disk). Phoenix's log names the error; `invoke verify` "
            "(phoenix.ingest) counts the spans lost since Phoenix started.",
        ),
        Rule(
            "PhoenixSpanWritesUnconfirmed",
            f"{s.phoenix_unresolved} > 0",
            "0s",
            "warning",
            f"Phoenix at {where} released {count} accepted spans without a confirmed commit in the last "
            f"{WINDOW}: they may be lost. Diagnose: `invoke logs --service phoenix --tail 200`.",
            "Phoenix could not tell whether a batch was committed (the database connection broke mid-write). "
            "`invoke verify` (pipeline.canary) proves whether spans still land.",
        ),
        Rule(
            "PhoenixSpanQueueNearFull",
            f"{s.phoenix_queue_fill} > {queue_ratio}",
            "2m",
            "warning",
            f"Phoenix at {where} has its span queue {share} full "
            f"(of {watched.max_spans_queue}): past 100% it refuses exports. Diagnose: `invoke status`.",
            f"More than ALERT_QUEUE_PERCENT ({settings.alert_queue_percent:g}%) of PHOENIX_MAX_SPANS_QUEUE_SIZE has "
            "waited to be written for 2 minutes: Phoenix writes slower than spans arrive. Spans are rejected once it "
            "is full (PhoenixRejectingSpans). Lower the load, or move the store to PostgreSQL or a faster disk.",
        ),
        Rule(
            "PhoenixIngestStalled",
            f"({s.phoenix_queued} > 0) and on ({PHOENIX_BY}) ({s.phoenix_seconds_since_write} > 300)",
            "2m",
            "critical",
            f"Phoenix at {where} holds {count} queued spans but wrote none for over 5 minutes. "
            "Diagnose: `invoke logs --service phoenix --tail 200`.",
            "Spans wait in Phoenix's queue and nothing is committed: the database is locked, unreachable or "
            "blocked. They are lost when Phoenix stops. `invoke verify` (phoenix.health, phoenix.storage) names "
            "the cause; `invoke restart --service phoenix` drains what it can first.",
        ),
        Rule(
            "PhoenixStoreNearGuard",
            f"{s.store_fill} > {_ratio(settings.alert_storage_percent)}",
            "5m",
            "warning",
            f"Phoenix's store at {where} is {share} of its allocated capacity; at "
            f"{settings.phoenix_database_usage_insertion_blocking_threshold_percentage:g}% it stops writing spans. "
            "Diagnose: `invoke status`.",
            f"Past ALERT_STORAGE_PERCENT ({settings.alert_storage_percent:g}%) of "
            "PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES. Shorten PHOENIX_DEFAULT_RETENTION_POLICY_DAYS, "
            "delete old projects, or raise the capacity if the disk has room (`invoke status` shows free disk).",
        ),
        Rule(
            "PhoenixInsertionsBlocked",
            f"{s.insertions_blocked} > 0",
            "0s",
            "critical",
            f"Phoenix at {where} refuses every span: its store passed the storage guard. "
            "Diagnose: `invoke verify` (phoenix.storage).",
            "The store is past PHOENIX_DATABASE_USAGE_INSERTION_BLOCKING_THRESHOLD_PERCENTAGE of "
            "PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES: every span sent now is lost. Raise the capacity "
            "or free space (shorter retention, delete old projects), then `invoke up`.",
        ),
        Rule(
            "PhoenixMetricsDown",
            f"{s.phoenix_up} == 0{phoenix_absent}",
            "1m",
            "critical",
            "Prometheus cannot scrape Phoenix's metrics{{ with $labels.instance }} at {{ . }}{{ end }}: Phoenix is "
            "down, or its metrics are off, and nothing here can tell whether spans are lost. "
            "Diagnose: `invoke status`.",
            "Phoenix exports metrics on port 9090 only with PHOENIX_ENABLE_PROMETHEUS=true; natively the stack "
            "turns them on only when that port is free. `invoke verify` (phoenix.health, phoenix.ingest) says "
            "which; `invoke logs --service phoenix` shows why it stopped.",
        ),
        Rule(
            "FanoutExportFailing",
            f"{s.fanout_send_failed} > 0",
            "0s",
            "critical",
            f"The fan-out at {where} failed to send {count} spans to Phoenix in the last {WINDOW} "
            f"({component}): they are lost. Diagnose: `invoke verify` (pipeline.canary).",
            "Phoenix answered with an error the exporter does not retry (401: wrong ingestion key, 413: a batch "
            "over a proxy's body limit, 415: JSON encoding), or retries ran out. The canary names the hop; "
            f"`invoke logs --service {fanout} --tail 100` shows Phoenix's answer.",
        ),
        Rule(
            "FanoutQueueOverflow",
            f"{s.fanout_enqueue_failed} > 0",
            "0s",
            "critical",
            f"The fan-out at {where} could not queue {count} spans in the last {WINDOW} ({component}): its "
            "sending queue is full. Diagnose: `invoke verify` (otelcol.queue or alloy.queue).",
            "Phoenix has been unreachable or slower than the traffic for longer than the queue holds "
            "(ALLOY_QUEUE_MIB, docs/operations.md: Sizing Alloy's queue). The stack's receiver hands spans "
            "straight to the queue, so FanoutRefusingSpans fires with this one: those export requests were "
            "refused to their senders with a retryable error (HTTP 503, gRPC UNAVAILABLE), and each SDK retries, "
            "then drops and counts what still fails (`invoke traffic` reports the demo's). Without "
            "FanoutRefusingSpans, something in front of the queue (a batch processor) answered the senders 200 "
            "and these spans are lost. Bring Phoenix back (`invoke status`), or give the queue more room.",
        ),
        Rule(
            "FanoutQueueNearFull",
            f"{s.fanout_queue_fill} > {queue_ratio}",
            "2m",
            "warning",
            f"The fan-out at {where} has its sending queue {share} full ({component}): "
            "once full it drops spans. Diagnose: `invoke status`.",
            f"More than ALERT_QUEUE_PERCENT ({settings.alert_queue_percent:g}%) of the exporter's queue has waited "
            "for 2 minutes: Phoenix is down or slower than the traffic. `invoke verify` (phoenix.health, "
            f"pipeline.canary) says which; `invoke logs --service {fanout}` shows the retries.",
        ),
        Rule(
            "FanoutRefusingSpans",
            f"{s.fanout_refused} > 0",
            "0s",
            "critical",
            f"The fan-out's receiver at {where} refused {count} spans in the last {WINDOW} ({receiver}) to their "
            "senders with a retryable error: the senders' SDKs retry them, and drop what still fails. Diagnose: "
            "`invoke verify`.",
            "Usually the sending queue is full (FanoutQueueOverflow fires too): Phoenix is down or slower than the "
            "traffic. Otherwise something behind the receiver pushed back (a memory limiter). An OpenTelemetry SDK "
            "retries 429/502/503/504 with backoff within its export timeout (10 s by default), then drops the "
            "batch. See FanoutQueueNearFull, `invoke status`, "
            f"`invoke logs --service {fanout} --tail 100`.",
        ),
        Rule(
            "FanoutMetricsDown",
            f"{s.fanout_up} == 0{fanout_absent}",
            "1m",
            "critical",
            "Prometheus cannot scrape the fan-out's metrics{{ with $labels.instance }} at {{ . }}{{ end }}: "
            "Alloy or the Collector is down, and apps sending to it lose their spans. Diagnose: `invoke status`.",
            f"Alloy or the Collector stopped, or its metrics port moved. `invoke logs --service {fanout} --tail 50` "
            "shows why; `invoke up` starts it again.",
        ),
        Rule(
            "DemoErrorRateHigh",
            f"{s.demo_error_ratio} > {_ratio(settings.alert_demo_error_percent)}",
            "5m",
            "warning",
            f"{share} of the demo's requests failed or degraded over the last {WINDOW}. Diagnose: `invoke eval`.",
            f"More than ALERT_DEMO_ERROR_PERCENT ({settings.alert_demo_error_percent:g}%) of /chat requests ended "
            "in an error or without the weather tool's answer (outcome degraded: every attempt timed out). "
            "`invoke eval` scores tool_ok per chain; `invoke logs --service ai-demo --tail 100` shows the errors.",
        ),
        Rule(
            "LLMToolFailing",
            f"{s.tool_failure_share} > {_ratio(settings.alert_tool_failure_percent)}",
            "30s",
            "warning",
            f"{share} of the calls of tool {tool} in {service} ended in error over the last {WINDOW}. {closer}",
            f"More than ALERT_TOOL_FAILURE_PERCENT ({settings.alert_tool_failure_percent:g}%) of the TOOL spans of "
            "that tool have status ERROR (counted from the spans at the fan-out). The spans in Phoenix carry the "
            "exception; `invoke eval` scores tool_ok per chain.",
        ),
        Rule(
            "LLMErrorRateHigh",
            f"{s.llm_error_share} > {_ratio(settings.alert_llm_error_percent)}",
            "30s",
            "warning",
            f"{share} of the LLM calls to {model} from {service} ended in error over the last {WINDOW}. {closer}",
            f"More than ALERT_LLM_ERROR_PERCENT ({settings.alert_llm_error_percent:g}%) of the LLM spans of that "
            "model have status ERROR: the provider refuses (key, quota, rate limit) or times out. The spans in "
            "Phoenix carry the provider's answer.",
        ),
        Rule(
            "LLMLatencyHigh",
            f"{s.llm_p95_ms} > {settings.eval_latency_threshold_ms}",
            "5m",
            "warning",
            f'The p95 latency of LLM calls to {model} from {service} is {{{{ $value | printf "%.0f" }}}} ms over the '
            f"last {WINDOW}, above EVAL_LATENCY_THRESHOLD_MS ({settings.eval_latency_threshold_ms} ms). {closer}",
            "The provider is slow, or prompts grew (see the token panels). `invoke eval` scores latency per chain "
            "against the same threshold.",
        ),
        Rule(
            "LLMTokenSurge",
            f"({s.llm_tokens_recent} > {settings.alert_token_surge_factor:g} * {s.llm_tokens_baseline}) "
            f"and on ({LLM_BY}) {s.llm_tokens_a_day_ago}",
            "15m",
            "warning",
            f"{service} used {count} tokens per second of {model} over the last {RECENT}, more than "
            f"{settings.alert_token_surge_factor:g} times its rate over the last {BASELINE}. {closer}",
            f"Token use ran ALERT_TOKEN_SURGE_FACTOR ({settings.alert_token_surge_factor:g}) times its last day's "
            "rate for 15 minutes: longer prompts, a retry loop, or more traffic; it costs accordingly "
            f"({COST_RECORD}). Compared only once the model has a day of history.",
        ),
    ]
