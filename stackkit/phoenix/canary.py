"""Spans the stack sends for itself (verify's canary, the drain's marker, up's price probe): sent exactly the way
the app sends its spans (OTLP/HTTP protobuf, the same endpoint, headers and key), but into the stack's own
project, and deleted once read back, so the user's projects never see them and the stack's project stays empty.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

import requests

from stackkit.phoenix.api import PhoenixClient, PhoenixError

# The one project the stack's own spans land in (routed by the openinference.project.name resource attribute).
STACK_PROJECT = "stackkit-internal"
CANARY_SPAN_NAME = "stackkit.phoenix.canary"
DRAIN_MARKER_NAME = "stackkit.drain-marker"


@dataclass(frozen=True)
class CanaryResult:
    trace_id: str
    status_code: int
    body: str
    content_type: str = ""


def canary_request(
    name: str, trace_id: bytes, span_id: bytes, attributes: Mapping[str, str | int] | None = None
) -> bytes:
    """One span in the stack's own project; `attributes` add to (or replace) a CHAIN span's."""
    # OTLP's protobuf classes come with the OpenTelemetry exporter (the `stack` extra): imported when needed.
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

    def attribute(key: str, value: str | int) -> KeyValue:
        any_value = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
        return KeyValue(key=key, value=any_value)

    now = time.time_ns()
    span = Span(
        trace_id=trace_id,
        span_id=span_id,
        name=name,
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=now - 1_000_000,
        end_time_unix_nano=now,
        attributes=[
            attribute(key, value)
            for key, value in (
                {"openinference.span.kind": "CHAIN", "input.value": name} | dict(attributes or {})
            ).items()
        ],
    )
    resource = Resource(
        attributes=[attribute("service.name", "stackkit"), attribute("openinference.project.name", STACK_PROJECT)]
    )
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[span])])]
    )
    return request.SerializeToString()


def send_canary(
    traces_url: str, token: str = "", name: str = CANARY_SPAN_NAME, verify: str | bool = True
) -> CanaryResult:
    """POST one span to an OTLP/HTTP traces URL (…/v1/traces); the 200 proves only that it was accepted."""
    trace_id, span_id = secrets.token_bytes(16), secrets.token_bytes(8)
    headers = {"Content-Type": "application/x-protobuf"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = requests.post(
        traces_url, data=canary_request(name, trace_id, span_id), headers=headers, timeout=10, verify=verify
    )
    return CanaryResult(
        trace_id.hex(), response.status_code, response.text[:200], response.headers.get("content-type", "")
    )


def forget(client: PhoenixClient, trace_id: str) -> int:
    """Delete the stack's own spans of one trace once they have been read; how many were deleted."""
    deleted = 0
    for span in client.spans(STACK_PROJECT, trace_ids=[trace_id]):
        try:
            client.delete_span(span["context"]["span_id"])
            deleted += 1
        except PhoenixError as error:
            if error.status != 404:  # already gone is what we wanted
                raise
    return deleted
