"""Traces through phoenix.otel.register() and metrics through OTLP/HTTP, configured only from DemoConfig."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.metrics import Meter, MeterProvider, NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import NoOpTracer, Tracer

from ai_demo.config import DemoConfig

SERVICE = "ai-demo"
INSTRUMENTATION_SCOPE = "ai_demo"
METRIC_EXPORT_INTERVAL_MS = 10_000
# All of shutdown fits in docker compose's stop_grace_period (15 s) and the native stop's 20 s, even when the
# collector is unreachable and the exporter keeps retrying.
SHUTDOWN_BUDGET_SECONDS = 10.0
FLUSH_BUDGET_SECONDS = 10.0
_FLUSH_LOCK = threading.Lock()
logger = logging.getLogger("ai_demo")

# Variables the Phoenix and OpenTelemetry SDKs would read on their own (and a `.env.phoenix` file they would
# discover above the working directory). They could add a second key or another endpoint behind the
# config's back, so they are hidden while the exporters are built.
_IMPLICIT_SETTINGS = (
    "PHOENIX_API_KEY",
    "PHOENIX_CLIENT_HEADERS",
    "PHOENIX_COLLECTOR_ENDPOINT",
    "PHOENIX_GRPC_PORT",
    "PHOENIX_PROJECT",
    "PHOENIX_PROJECT_NAME",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    "OTEL_EXPORTER_OTLP_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
)


class SpanCounts:
    """What became of the demo's spans since it started, counted where it happens: ended (handed to the span
    processor), exported (the collector accepted the export request), failed (the exporter gave up: the collector
    refused or was unreachable through every retry of the OTLP exporter, which retries 429/502/503/504 with
    backoff within its timeout). Ended and neither exported nor failed: still queued in the Batch processor, or
    dropped by it when its queue was full (after a complete flush, only the latter)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ended = 0
        self.exported = 0
        self.failed = 0

    def add(self, ended: int = 0, exported: int = 0, failed: int = 0) -> None:
        with self._lock:
            self.ended += ended
            self.exported += exported
            self.failed += failed

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"ended": self.ended, "exported": self.exported, "failed": self.failed}


class CountingSpanExporter(SpanExporter):
    """The OTLP exporter, counting the spans of each export by its result."""

    def __init__(self, exporter: SpanExporter, counts: SpanCounts):
        self._exporter = exporter
        self._counts = counts

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self._exporter.export(spans)
        except Exception:
            self._counts.add(failed=len(spans))
            raise
        if result is SpanExportResult.SUCCESS:
            self._counts.add(exported=len(spans))
        else:
            self._counts.add(failed=len(spans))
        return result

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)


class CountingSpanProcessor(SpanProcessor):
    """The span processor, counting the spans handed to it (what the Batch processor then drops when its queue is
    full shows as ended minus exported minus failed once a flush emptied the queue)."""

    def __init__(self, processor: SpanProcessor, counts: SpanCounts):
        self._processor = processor
        self._counts = counts

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self._processor.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self._counts.add(ended=1)
        self._processor.on_end(span)

    def shutdown(self) -> None:
        self._processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._processor.force_flush(timeout_millis)


@dataclass(frozen=True)
class Telemetry:
    """The providers the demo exports through; None when that signal is off. span_counts: what became of the
    spans (exported, failed), what /admin/flush answers."""

    tracer_provider: TracerProvider | None
    meter_provider: SdkMeterProvider | None
    span_counts: SpanCounts = field(default_factory=SpanCounts)

    @property
    def tracer(self) -> Tracer:
        if self.tracer_provider is None:
            return NoOpTracer()
        return self.tracer_provider.get_tracer(INSTRUMENTATION_SCOPE)

    @property
    def metrics_provider(self) -> MeterProvider:
        return self.meter_provider or NoOpMeterProvider()

    @property
    def meter(self) -> Meter:
        return self.metrics_provider.get_meter(INSTRUMENTATION_SCOPE)

    def shutdown(self, budget_seconds: float = SHUTDOWN_BUDGET_SECONDS) -> None:
        """Export what is still buffered, then stop: called on SIGTERM so the last requests are not lost.

        The SDK's force_flush ignores its timeout (open-telemetry/opentelemetry-python#4568) and waits for
        the exporter's retries, so the flush runs in a thread that gets `budget_seconds` to finish.
        """
        worker = threading.Thread(target=self._flush_and_stop, name="telemetry-shutdown", daemon=True)
        worker.start()
        worker.join(budget_seconds)
        if worker.is_alive():
            logger.warning("telemetry NOT flushed within %gs on shutdown (collector unreachable?)", budget_seconds)

    def flush_traces(self, budget_seconds: float = FLUSH_BUDGET_SECONDS) -> bool:
        """Export every span ended so far (POST /admin/flush); False when the exporter did not finish within the
        budget (the collector unreachable). One flush at a time: callers queue behind the running one."""
        if self.tracer_provider is None:
            return True
        provider = self.tracer_provider
        outcome: list[bool] = []

        def flush() -> None:
            try:
                outcome.append(provider.force_flush())
            except Exception:  # an exporter bug must not kill the request with a traceback
                logger.exception("traces: flush on request failed")

        # force_flush ignores its timeout (see shutdown), so it runs in a thread that gets the budget.
        worker = threading.Thread(target=flush, name="telemetry-flush", daemon=True)
        with _FLUSH_LOCK:
            worker.start()
            worker.join(budget_seconds)
        return bool(outcome and outcome[0])

    def _flush_and_stop(self) -> None:
        for name, provider in (("traces", self.tracer_provider), ("metrics", self.meter_provider)):
            if provider is None:
                continue
            try:
                provider.force_flush()
                provider.shutdown()
            except Exception:  # MeterProvider.force_flush raises when a reader times out
                logger.exception("%s: flush on shutdown failed", name)
            else:
                logger.info("%s flushed on shutdown", name)


def auth_headers(config: DemoConfig) -> dict[str, str]:
    """The bearer header when a key is configured; nothing at all otherwise."""
    return {"authorization": f"Bearer {config.phoenix_api_key}"} if config.phoenix_api_key else {}


@contextmanager
def _implicit_settings_hidden() -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in _IMPLICIT_SETTINGS if name in os.environ}
    discover = os.environ.get("PHOENIX_DISCOVER_CONFIG")
    os.environ["PHOENIX_DISCOVER_CONFIG"] = "false"
    try:
        yield
    finally:
        for name in _IMPLICIT_SETTINGS:
            os.environ.pop(name, None)
        os.environ.update(saved)
        if discover is None:
            del os.environ["PHOENIX_DISCOVER_CONFIG"]
        else:
            os.environ["PHOENIX_DISCOVER_CONFIG"] = discover


def setup_telemetry(config: DemoConfig) -> Telemetry:
    resource = Resource.create({SERVICE_NAME: SERVICE})
    span_counts = SpanCounts()
    with _implicit_settings_hidden():
        tracer_provider = _tracer_provider(config, resource, span_counts) if config.tracing else None
        meter_provider = _meter_provider(config, resource) if config.export_metrics else None
    logger.info(
        "traces %s, metrics %s, project %r, auth header %s",
        f"-> {config.traces_endpoint} ({_processor_label(config)})" if config.tracing else "off",
        f"-> {config.metrics_endpoint}" if config.export_metrics else "off",
        config.project_name,
        "set" if config.phoenix_api_key else "not set",
    )
    return Telemetry(tracer_provider, meter_provider, span_counts)


def _processor_label(config: DemoConfig) -> str:
    if config.span_processor == "batch":
        return f"batch, every {config.span_export_delay_ms} ms"
    return config.span_processor


def _load_register() -> Callable[..., TracerProvider]:
    """phoenix.otel.register, without importing the Phoenix server when it is installed alongside.

    phoenix.otel is its own distribution (arize-phoenix-otel) inside the `phoenix` namespace. Where the full
    arize-phoenix is installed too (the native runtime's Python), `phoenix/__init__.py` imports the whole
    server: 15-19 s here, against 0.5 s for phoenix.otel alone. So phoenix.otel is loaded under a bare
    `phoenix` package that is removed right after, leaving the real one to whoever imports it later.
    """
    spec = importlib.util.find_spec("phoenix")
    is_full_package = spec is not None and spec.origin is not None and "phoenix" not in sys.modules
    if is_full_package and spec is not None:
        bare = types.ModuleType("phoenix")
        bare.__path__ = list(spec.submodule_search_locations or [])
        sys.modules["phoenix"] = bare
    try:
        from phoenix.otel import register
    finally:
        if is_full_package and sys.modules.get("phoenix") is bare:
            del sys.modules["phoenix"]
    return register


def _tracer_provider(config: DemoConfig, resource: Resource, counts: SpanCounts) -> TracerProvider:
    register = _load_register()
    # Endpoint and protocol both explicit: a /v1/traces endpoint without a protocol is sent over gRPC to
    # port 4317 (Arize-ai/phoenix#10730). Not set as the global provider: everything that traces gets it
    # passed, so tests can build several apps in one process.
    provider = register(
        endpoint=config.traces_endpoint,
        protocol="http/protobuf",
        project_name=config.project_name,
        batch=config.span_processor == "batch",
        headers=auth_headers(config) or None,
        set_global_tracer_provider=False,
        # Only the real SDKs have OpenInference instrumentors; instrumenting them patches their modules for
        # the whole process, and importing them costs seconds.
        auto_instrument=config.llm_provider != "offline",
        verbose=False,
        resource=resource,
        # Telemetry.shutdown owns the flush, within its budget; the SDK exit handler has no such bound.
        shutdown_on_exit=False,
    )
    # register() builds its exporter with no certificate and its Batch processor on the SDK's 5 s schedule, and
    # counts nothing; replace its processor by one whose exporter trusts the private CA, whose spans are counted
    # (what the collector refused is then a number, not a log line) and that exports every span_export_delay_ms
    # (its batch size, 512, unchanged: under load a full batch still goes at once).
    exporter = CountingSpanExporter(
        OTLPSpanExporter(
            endpoint=config.traces_endpoint,
            headers=auth_headers(config) or None,
            certificate_file=config.otlp_ca_file or None,
            session=_session_trusting(config.otlp_ca_file),
        ),
        counts,
    )
    processor = (
        BatchSpanProcessor(exporter, schedule_delay_millis=config.span_export_delay_ms)
        if config.span_processor == "batch"
        else SimpleSpanProcessor(exporter)
    )
    provider.add_span_processor(CountingSpanProcessor(processor, counts))  # replaces register()'s default processor
    return provider


def _session_trusting(ca_file: str) -> requests.Session | None:
    """A session for an exporter given `certificate_file=ca_file`. The exporter sets Session.verify to it, which
    requests overrides with REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE when those are in the environment (as here and in
    many images): trust_env=False keeps the CA given."""
    if not ca_file:
        return None
    session = requests.Session()
    session.trust_env = False
    return session


def _meter_provider(config: DemoConfig, resource: Resource) -> SdkMeterProvider:
    exporter = OTLPMetricExporter(
        endpoint=config.metrics_endpoint,
        headers=auth_headers(config),
        certificate_file=config.otlp_ca_file or None,
        session=_session_trusting(config.otlp_ca_file),
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=METRIC_EXPORT_INTERVAL_MS)
    return SdkMeterProvider(resource=resource, metric_readers=[reader], shutdown_on_exit=False)


class DemoMetrics:
    """Request count and latency, tokens used and tool retries."""

    def __init__(self, meter: Meter):
        self.requests = meter.create_counter("ai_demo.requests", unit="{request}", description="Chat requests")
        self.duration = meter.create_histogram(
            "ai_demo.request.duration", unit="s", description="Time to answer a chat request"
        )
        self.tokens = meter.create_counter("ai_demo.llm.tokens", unit="{token}", description="LLM tokens used")
        self.tool_retries = meter.create_counter(
            "ai_demo.tool.retries", unit="{retry}", description="Tool attempts beyond the first"
        )

    def record_request(self, seconds: float, outcome: str) -> None:
        self.requests.add(1, {"outcome": outcome})
        self.duration.record(seconds, {"outcome": outcome})

    def record_tokens(self, step: str, model: str, prompt: int, completion: int) -> None:
        self.tokens.add(prompt, {"step": step, "model": model, "type": "prompt"})
        self.tokens.add(completion, {"step": step, "model": model, "type": "completion"})

    def record_tool_retries(self, tool: str, retries: int) -> None:
        if retries:
            self.tool_retries.add(retries, {"tool": tool})
