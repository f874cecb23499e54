"""A canary span sent the way the app sends it (OTLP/HTTP protobuf), to prove the pipeline end to end."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from stackkit.phoenix_api import INTERNAL_PROJECT

CANARY_SPAN_NAME = "stackkit.canary"


@dataclass(frozen=True)
class CanaryResult:
    trace_id: str
    status_code: int
    body: str


def _attribute(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def canary_request(project: str, trace_id: bytes, span_id: bytes, name: str = CANARY_SPAN_NAME) -> bytes:
    now = time.time_ns()
    span = Span(
        trace_id=trace_id,
        span_id=span_id,
        name=name,
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=now - 1_000_000,
        end_time_unix_nano=now,
        attributes=[_attribute("openinference.span.kind", "CHAIN"), _attribute("input.value", "canary")],
    )
    resource = Resource(
        attributes=[
            _attribute("service.name", "stackkit-verify"),
            _attribute("openinference.project.name", project),
        ]
    )
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[span])])]
    )
    return request.SerializeToString()


def send_canary(traces_url: str, project: str = INTERNAL_PROJECT, token: str = "") -> CanaryResult:
    """POST one span to an OTLP/HTTP traces URL (…/v1/traces); the 200 proves only that it was accepted."""
    trace_id, span_id = secrets.token_bytes(16), secrets.token_bytes(8)
    headers = {"Content-Type": "application/x-protobuf"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = requests.post(traces_url, data=canary_request(project, trace_id, span_id), headers=headers, timeout=10)
    return CanaryResult(trace_id.hex(), response.status_code, response.text[:200])
