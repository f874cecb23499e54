"""A stock Python app as the OpenTelemetry Python docs set one up: a TracerProvider with the resource from
OTEL_RESOURCE_ATTRIBUTES, a BatchSpanProcessor and the OTLP exporter of the protocol asked for; endpoint and
headers come from the standard OTEL_* variables, read by the exporter itself.

usage: python python_app.py PROTOCOL SPANS
  PROTOCOL: http/protobuf, grpc, or env (OTEL_EXPORTER_OTLP_PROTOCOL chooses; http/protobuf when unset);
  or register: Phoenix's own `phoenix.otel.register()` as README's "Send from your app" calls it (the seed's call),
  given the same endpoint, key and project as arguments.
Prints one JSON line: {"trace_id": ..., "spans": N, "export": "ok" | "<error>"}.
"""

from __future__ import annotations

import json
import os
import sys

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


def exporter_for(protocol: str) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        # Plain text to a local port, as the SDK does for an http:// endpoint.
        return GrpcExporter()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        return HttpExporter()
    raise SystemExit(f"unknown protocol {protocol}")


class Recording(SpanExporter):
    """The export's own result: the SDK only logs a failed export, and this app reports it."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.failed = False

    def export(self, spans):  # type: ignore[no-untyped-def]
        result = self.inner.export(spans)
        self.failed = self.failed or result is not SpanExportResult.SUCCESS
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()


def registered(spans: int) -> None:
    """README's call: endpoint with /v1/traces and protocol both explicit (Arize-ai/phoenix#10730)."""
    from phoenix.otel import register

    # Taken from the standard variables the matrix sets, then removed: register() gets them as arguments only.
    base = os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT")
    key = os.environ.pop("OTEL_EXPORTER_OTLP_HEADERS", "").partition("Bearer%20")[2]
    project = os.environ.pop("OTEL_RESOURCE_ATTRIBUTES").partition("openinference.project.name=")[2]
    provider = register(
        endpoint=f"{base}/v1/traces",
        protocol="http/protobuf",
        project_name=project,
        batch=True,
        headers={"authorization": f"Bearer {key}"} if key else None,
        set_global_tracer_provider=False,
        verbose=False,
    )
    tracer = provider.get_tracer("stackkit-client-matrix")
    with tracer.start_as_current_span("register-root") as root:
        trace_id = format(root.get_span_context().trace_id, "032x")
        for index in range(1, spans):
            tracer.start_span(f"register-child-{index}").end()
    flushed = provider.force_flush()
    provider.shutdown()
    # register() builds its own exporter: whether the spans landed is read back from Phoenix.
    print(json.dumps({"trace_id": trace_id, "spans": spans, "export": "ok" if flushed else "failed"}))


def main() -> None:
    protocol = sys.argv[1] if len(sys.argv) > 1 else "env"
    spans = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    if protocol == "register":
        registered(spans)
        return
    if protocol == "env":
        protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    exporter = Recording(exporter_for(protocol))
    provider = TracerProvider(resource=Resource.create({"service.name": "python-client"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("stackkit-client-matrix")
    with tracer.start_as_current_span("python-root") as root:
        trace_id = format(root.get_span_context().trace_id, "032x")
        for index in range(1, spans):
            tracer.start_span(f"python-child-{index}").end()
    provider.force_flush()
    provider.shutdown()
    print(json.dumps({"trace_id": trace_id, "spans": spans, "export": "failed" if exporter.failed else "ok"}))


if __name__ == "__main__":
    main()
