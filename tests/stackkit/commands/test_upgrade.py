"""Upgrading a real native Phoenix: 19.1.0 (two migrations behind) to the pinned release keeps every span,
with the backup written first; a migration that fails rolls back to a working 19.1.0 with the same spans."""

from __future__ import annotations

import re
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from secrets import token_bytes

import requests
from isolation import invoke, isolated_environ
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from reliability_helpers import invoke_ok

from stackkit.core.settings import SPECS_BY_NAME, load_settings
from stackkit.phoenix import database

OLD = "19.1.0"  # its migrations stop two short of 20.26.1's (agent_sessions, an index change)
PINNED = SPECS_BY_NAME["PHOENIX_VERSION"].default
# A table the first missing migration (e767d3c57f32) creates: present already, that migration fails.
CONFLICT = "CREATE TABLE agent_sessions (id INTEGER PRIMARY KEY)"


def send_spans(base_url: str, traces: int, per_trace: int) -> None:
    now = time.time_ns()
    spans = []
    for _ in range(traces):
        trace_id = token_bytes(16)
        for _ in range(per_trace):
            span = Span(trace_id=trace_id, span_id=token_bytes(8), name="before-upgrade")
            span.start_time_unix_nano, span.end_time_unix_nano = now, now + 1000
            spans.append(span)
    body = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])])
    response = requests.post(
        f"{base_url}/v1/traces",
        data=body.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
        timeout=10,
    )
    assert response.status_code == 200


def old_phoenix_with_spans(tmp_path: Path, spans: int) -> dict[str, str]:
    environ = isolated_environ(tmp_path / "state", PHOENIX_VERSION=OLD)
    invoke_ok(environ, "up", "--only", "phoenix")
    settings = load_settings(environ=environ)
    send_spans(settings.phoenix_url, traces=spans // 5, per_trace=5)
    deadline = time.monotonic() + 60
    while database.count_rows(settings)["spans"] < spans and time.monotonic() < deadline:
        time.sleep(0.5)
    assert database.count_rows(settings)["spans"] == spans
    return environ


def phoenix_version_in_status(environ: dict[str, str]) -> str:
    status = invoke_ok({key: value for key, value in environ.items() if key != "PHOENIX_VERSION"}, "status")
    row = next(line for line in status.splitlines() if line.startswith("phoenix "))
    assert "healthy" in row, status
    return row.split()[-1]


def test_an_upgrade_with_migrations_keeps_every_span_and_backs_up_first(tmp_path: Path) -> None:
    environ = old_phoenix_with_spans(tmp_path, 100)
    try:
        assert phoenix_version_in_status(environ) == OLD
        output = invoke_ok(environ | {"PHOENIX_VERSION": PINNED}, "up", "--only", "phoenix")
        print(output)
        backed_up = output.index("backed up 100 spans")
        assert backed_up < output.index("upgrade: migration done") < output.index("upgrade: start done")
        backup_file = Path(re.search(r"backed up .* to (\S+) \(", output).group(1))  # type: ignore[union-attr]
        assert backup_file.stat().st_mode & 0o777 == 0o600
        with closing(sqlite3.connect(backup_file)) as copy:
            assert database.sqlite_counts(copy)["spans"] == 100
        times = re.search(r"times: (.*)", output)
        assert times and all(step in times.group(1) for step in ("backup", "migration", "start"))
        print(f"upgrade {OLD} -> {PINNED}: {times.group(1)}")

        settings = load_settings(environ=environ | {"PHOENIX_VERSION": PINNED})
        assert database.count_rows(settings)["spans"] == 100
        assert phoenix_version_in_status(environ) == PINNED
    finally:
        invoke(environ, "down")


def test_a_failed_migration_rolls_back_to_the_old_version_with_every_span(tmp_path: Path) -> None:
    environ = old_phoenix_with_spans(tmp_path, 50)
    settings = load_settings(environ=environ)
    try:
        with closing(sqlite3.connect(database.sqlite_path(settings))) as store:
            store.execute(CONFLICT)
            store.commit()
        result = invoke(environ, "upgrade", "--to", PINNED)
        output = result.stdout + result.stderr
        print(output)
        assert result.returncode == 1, output
        assert "Traceback" not in output
        assert f"upgrading Phoenix {OLD} -> {PINNED} failed at the migration step" in output
        assert "agent_sessions" in output
        assert f"Phoenix {OLD} runs again with 50 spans" in output
        assert phoenix_version_in_status(environ) == OLD
        assert database.count_rows(settings)["spans"] == 50
        send_spans(settings.phoenix_url, traces=1, per_trace=5)  # the old version takes spans again
    finally:
        invoke(environ, "down")
