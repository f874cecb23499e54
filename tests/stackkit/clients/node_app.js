// A stock Node.js app as the OpenTelemetry JS README sets one up: NodeTracerProvider, a batch processor, the
// OTLP trace exporter of the protocol asked for, and the resource from OTEL_RESOURCE_ATTRIBUTES. Everything
// else (endpoint, headers) comes from the standard OTEL_* variables, read by the exporter itself.
//
// usage: node node_app.js PROTOCOL SPANS
//   PROTOCOL: http/json (exporter-trace-otlp-http, the package's default encoding), http/protobuf, grpc, or
//   env (OTEL_EXPORTER_OTLP_PROTOCOL chooses, as the SDK's own configuration does; http/protobuf when unset).
// Prints one JSON line: {"trace_id": ..., "spans": N, "export": "ok" | "<error>"}.
'use strict';

const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { detectResources, envDetector, resourceFromAttributes } = require('@opentelemetry/resources');

const EXPORTERS = {
  'http/json': () => require('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter,
  'http/protobuf': () => require('@opentelemetry/exporter-trace-otlp-proto').OTLPTraceExporter,
  grpc: () => require('@opentelemetry/exporter-trace-otlp-grpc').OTLPTraceExporter,
};

async function main() {
  let protocol = process.argv[2] || 'env';
  const spans = Number(process.argv[3] || '3');
  if (protocol === 'env') protocol = process.env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf';
  if (!(protocol in EXPORTERS)) throw new Error(`unknown protocol ${protocol}`);
  const Exporter = EXPORTERS[protocol]();
  const exporter = new Exporter();
  let exportError = null;
  // The export's own result: the SDK only logs a failed export, and this app reports it.
  const wrapped = {
    export(items, done) {
      exporter.export(items, (result) => {
        if (result.code !== 0) exportError = String((result.error && result.error.message) || result.error);
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => (exporter.forceFlush ? exporter.forceFlush() : Promise.resolve()),
  };
  const resource = resourceFromAttributes({ 'service.name': 'node-client' }).merge(
    detectResources({ detectors: [envDetector] }),
  );
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(wrapped)] });
  provider.register(); // the context manager: children started inside the root's callback join its trace
  const tracer = provider.getTracer('stackkit-client-matrix');
  let traceId = '';
  tracer.startActiveSpan('node-root', (root) => {
    traceId = root.spanContext().traceId;
    for (let i = 1; i < spans; i++) tracer.startSpan(`node-child-${i}`).end();
    root.end();
  });
  try {
    await provider.forceFlush();
  } catch (error) {
    exportError = exportError || String((error && error.message) || error);
  }
  await provider.shutdown().catch(() => {});
  process.stdout.write(JSON.stringify({ trace_id: traceId, spans, export: exportError || 'ok' }) + '\n');
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ trace_id: '', spans: 0, export: String(error) }) + '\n');
  process.exitCode = 1;
});
