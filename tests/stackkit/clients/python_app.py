"""A stock Python app as the OpenTelemetry Python docs set one up: a TracerProvider with the resource from
OTEL_RESOURCE_ATTRIBUTES, a BatchSpanProcessor and the OTLP exporter of the protocol asked for; endpoint and
headers come from the standard OTEL_* variables, read by the exporter itself.

usage: python python_app.py PROTOCOL SPANS
  PROTOCOL: http/protobuf, grpc, or env (OTEL_EXPORTER_OTLP_PROTOCOL chooses; http/protobuf when unset).
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


def main() -> None:
    protocol = sys.argv[1] if len(sys.argv) > 1 else "env"
    spans = int(sys.argv[2]) if len(sys.argv) > 2 else 3
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
