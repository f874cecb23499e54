"""Traces survive `invoke restart --service phoenix` and `invoke down` + `invoke up`, on SQLite and on
PostgreSQL (native runtime), and only `invoke down --volumes` deletes them; a planned restart keeps every
span Phoenix acknowledged before it began. Lines starting with MEASURED report the counts (pytest -s)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from isolation import isolated_environ
from reliability_helpers import count_spans, invoke, invoke_ok, send_spans

from stackkit.commands.traffic import run_traffic
from stackkit.core.settings import Settings, load_settings
from stackkit.phoenix.api import PhoenixClient
from stackkit.phoenix.pricing import OFFLINE_MODEL

pytestmark = pytest.mark.phoenix

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def environ(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fresh state folder on free ports; with postgres, a fresh database on the test server."""
    overrides = {}
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        overrides = {"PHOENIX_DB": "postgres", "PHOENIX_SQL_DATABASE_URL": url}
    environ = isolated_environ(tmp_path / "state", **overrides)
    try:
        yield environ
    finally:
        invoke(environ, "down")


def _settings(environ: dict[str, str]) -> Settings:
    return load_settings(environ=environ)


def _drain_seconds(output: str) -> str:
    """How long the drain waited, and how it knew (from the restart's output)."""
    found = re.search(r"every received span is written \((.*); checked for ([\d.]+)s\)", output)
    return f"{found.group(2)}s ({found.group(1)})" if found else "?"


def test_traces_survive_restart_and_down_up_and_only_volumes_deletes(environ: dict[str, str]) -> None:
    """2000 spans acknowledged, then at once a restart: Phoenix answers before it writes, so it is still
    writing them, and would drop what is left 5 s after SIGTERM; the restart waits for them."""
    settings = _settings(environ)
    url, project, backend, sent = settings.phoenix_url, "persistence", settings.phoenix_db, 2000
    invoke_ok(environ, "up", "--only", "phoenix")
    assert send_spans(url, project, sent) == sent
    unwritten = sent - count_spans(url, project)

    restart = invoke_ok(environ, "restart", "--service", "phoenix")
    after_restart = count_spans(url, project)  # no waiting: every acknowledged span is already written
    assert after_restart == sent
    # The demo's price went into this backend's fresh database before Phoenix's first start, once only.
    log = invoke_ok(environ, "logs", "--service", "phoenix", "--tail", "100000")
    assert log.count(f"{OFFLINE_MODEL} priced in Phoenix's database before its start") == 1, log
    assert f"{OFFLINE_MODEL} already priced in Phoenix's database before its start" in log, log

    invoke_ok(environ, "down")
    invoke_ok(environ, "up", "--only", "phoenix")
    after_down_up = count_spans(url, project)
    assert after_down_up == sent

    volumes = invoke_ok(environ, "down", "--volumes", "--yes")
    invoke_ok(environ, "up", "--only", "phoenix")
    after_volumes = count_spans(url, project)
    if backend == "sqlite":
        assert after_volumes == 0
    else:
        # The user's own PostgreSQL is theirs: --volumes says so and leaves it alone.
        assert "were left alone" in volumes
        assert settings.phoenix_sql_database_url.split(":")[2].split("@")[0] not in volumes
        assert after_volumes == sent
    print(
        f"\nMEASURED persistence[{backend}]: {sent} acknowledged, {unwritten} of them not yet written when "
        f"the restart began (drain waited {_drain_seconds(restart)}); after restart {after_restart}, "
        f"after down+up {after_down_up}, after down --volumes + up {after_volumes}"
    )


def _traffic_until(base_url: str, stop: threading.Event, reports: list) -> None:
    while not stop.is_set():
        reports.append(run_traffic(base_url, requests=8, sessions=2, concurrency=2, progress=False))
        if not reports[-1].succeeded:
            time.sleep(0.2)  # the demo is down: retry like a client would, without spinning the CPU


def _answered_after(reports: list, count: int, timeout: float = 60) -> None:
    """Until a round of traffic after the first `count` had a request answered (not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not any(report.succeeded for report in reports[count:]):
        assert time.monotonic() < deadline, f"no request answered within {timeout:g}s"
        time.sleep(0.1)


def test_demo_traffic_during_a_phoenix_restart(environ: dict[str, str]) -> None:
    """The demo sends straight to Phoenix (no Alloy): traffic keeps coming while Phoenix restarts. The
    restart stops the demo first (it flushes on SIGTERM), so requests fail visibly instead of losing
    spans silently. Every trace of a request answered before the restart began must be complete."""
    settings = _settings(environ)
    backend, project = settings.phoenix_db, settings.phoenix_project_name
    invoke_ok(environ, "up")
    client = PhoenixClient(settings.phoenix_url, timeout=60)
    before = run_traffic(settings.ai_demo_url, requests=20, sessions=3, concurrency=4, progress=False)
    assert before.succeeded == 20

    stop, reports = threading.Event(), []
    traffic = threading.Thread(target=_traffic_until, args=(settings.ai_demo_url, stop, reports))
    traffic.start()
    _answered_after(reports, 0)  # traffic is flowing when the restart begins
    started = time.monotonic()
    restart = invoke(environ, "restart", "--service", "phoenix")
    restart_seconds = time.monotonic() - started
    _answered_after(reports, len(reports))  # and keeps flowing after it
    stop.set()
    traffic.join(timeout=120)
    assert restart.returncode == 0, restart.stdout + restart.stderr

    spans_before = client.wait_for_traces(project, before.trace_ids, timeout=60, min_spans_per_trace=4)
    assert all(len(spans) >= 4 for spans in spans_before.values()), "a trace answered before was lost"
    per_trace = sorted({len(spans) for spans in spans_before.values()})

    during_ok = [trace_id for report in reports for trace_id in report.trace_ids]
    attempted = sum(report.sent for report in reports)
    spans_during = client.wait_for_traces(project, during_ok, timeout=60, min_spans_per_trace=4)
    complete = sum(len(spans) >= 4 for spans in spans_during.values())
    missing = sum(not spans for spans in spans_during.values())
    print(
        f"\nMEASURED demo traffic during restart[{backend}]: restart took {restart_seconds:.1f}s "
        f"(drain {_drain_seconds(restart.stdout)}); before: 20 requests, 20 traces complete "
        f"({per_trace} spans each); during: {attempted} requests, {len(during_ok)} answered, "
        f"{attempted - len(during_ok)} refused while the demo was down, {complete} of the answered traces "
        f"complete, {missing} missing, {sum(len(s) for s in spans_during.values())} spans read back"
    )
