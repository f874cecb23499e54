"""Retention and the store's usage on a real Phoenix: the policy the stack sets, a sweep by Phoenix's own
retention code, and what `invoke status` says about the store."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from secrets import token_bytes

import requests
from isolation import invoke, isolated_environ
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from reliability_helpers import invoke_ok

from stackkit.core.settings import load_settings
from stackkit.phoenix import database, storage

PROJECT = "retention-test"
DAY_NS = 86_400 * 10**9
# What TraceDataSweeper._apply does with the default policy (phoenix/server/retention.py), run once now
# instead of at the policy's next hour: the policy read is the one Phoenix stores.
SWEEP = """
import asyncio, sys
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from phoenix.db import models
from phoenix.db.constants import DEFAULT_PROJECT_TRACE_RETENTION_POLICY_ID

async def sweep(path):
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    async with async_sessionmaker(engine)() as session, session.begin():
        policy = await session.get(models.ProjectTraceRetentionPolicy, DEFAULT_PROJECT_TRACE_RETENTION_POLICY_ID)
        projects = sa.select(models.Project.id).where(models.Project.trace_retention_policy_id.is_(None))
        await policy.rule.delete_traces(session, projects)
    await engine.dispose()

asyncio.run(sweep(sys.argv[1]))
"""


def export(base_url: str, traces: int, spans_per_trace: int, age_days: float) -> None:
    """Spans that started `age_days` ago, straight to Phoenix's OTLP/HTTP."""
    start = time.time_ns() - int(age_days * DAY_NS)
    spans = []
    for _ in range(traces):
        trace_id = token_bytes(16)
        for index in range(spans_per_trace):
            span = Span(trace_id=trace_id, span_id=token_bytes(8), name=f"step-{index}")
            span.start_time_unix_nano, span.end_time_unix_nano = start, start + 10**6
            spans.append(span)
    project = KeyValue(key="openinference.project.name", value=AnyValue(string_value=PROJECT))
    body = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=Resource(attributes=[project]), scope_spans=[ScopeSpans(spans=spans)])]
    ).SerializeToString()
    response = requests.post(
        f"{base_url}/v1/traces", data=body, headers={"Content-Type": "application/x-protobuf"}, timeout=10
    )
    assert response.status_code == 200, response.text


def wait_for_spans(settings_environ: dict[str, str], spans: int) -> storage.StoreUsage:
    settings = load_settings(environ=settings_environ)
    deadline = time.monotonic() + 60
    while True:
        found = storage.usage(settings, "native")
        assert not isinstance(found, str), found
        if found.spans >= spans or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_one_day_retention_is_in_force_and_a_sweep_keeps_only_recent_traces(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state", PHOENIX_DEFAULT_RETENTION_POLICY_DAYS="1")
    try:
        up = invoke_ok(environ, "up", "--only", "phoenix")
        assert "retention: traces older than 1 days are deleted every hour" in up
        settings = load_settings(environ=environ)
        policy = storage.retention_policy(settings)
        print(f"policy through Phoenix's GraphQL API: {policy}")
        assert (policy.max_days, policy.cron) == (1.0, storage.HOURLY)

        export(settings.phoenix_url, traces=5, spans_per_trace=4, age_days=3)  # older than the policy
        export(settings.phoenix_url, traces=3, spans_per_trace=4, age_days=0)
        before = wait_for_spans(environ, 32)
        assert (before.traces, before.spans) == (8, 32)

        status = invoke_ok(environ, "status")
        print(status)
        assert "8 traces, 32 spans" in status
        assert re.search(r"free disk under it: [\d.]+ \w+ of [\d.]+ \w+", status)
        assert "retention: 1 days, swept hourly" in status

        swept = subprocess.run(
            [sys.executable, "-c", SWEEP, str(database.sqlite_path(settings))], capture_output=True, text=True
        )
        assert swept.returncode == 0, swept.stderr
        after = storage.usage(settings, "native")
        assert not isinstance(after, str)
        assert (after.traces, after.spans) == (3, 12)
    finally:
        invoke(environ, "down")


def test_a_retention_of_zero_keeps_traces_forever(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state", PHOENIX_DEFAULT_RETENTION_POLICY_DAYS="0")
    try:
        up = invoke_ok(environ, "up", "--only", "phoenix")
        assert "traces are kept forever" in up
        assert storage.retention_policy(load_settings(environ=environ)).max_days == 0
    finally:
        invoke(environ, "down")
