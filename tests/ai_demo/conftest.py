"""Fixtures of the demo's tests (helpers in demo_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from demo_helpers import LocalHttpServer, Responder, Traced
from openinference.instrumentation import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@pytest.fixture
def traced() -> Iterator[Traced]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Traced(provider, exporter)
    provider.shutdown()


@pytest.fixture
def local_http() -> Iterator[Callable[[Responder], LocalHttpServer]]:
    """Start local servers with `local_http(respond)`; all are stopped after the test."""
    servers: list[LocalHttpServer] = []

    def start(respond: Responder) -> LocalHttpServer:
        server = LocalHttpServer(respond).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()
