"""What `invoke traffic` records after the demo flushed, and what `invoke eval` takes from it. The whole path on a
real stack (traffic -> flush -> eval knows, in_flight false) is tests/stackkit/test_canary.py."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

from isolation import isolated_settings

from stackkit.commands import evals
from stackkit.core.settings import Settings
from stackkit.demo import flush as demo_flush


def test_the_demos_counts_since_traffic_began_name_what_it_could_not_export() -> None:
    before = demo_flush.SpanCounts.parse({"ended": 10, "exported": 8, "failed": 2})
    after = demo_flush.SpanCounts.parse({"ended": 50, "exported": 30, "failed": 12})
    assert before is not None and after is not None
    run = after - before
    assert (run.ended, run.exported, run.failed, run.not_exported) == (40, 22, 10, 18)
    assert demo_flush.SpanCounts.parse({"ended": 1, "exported": "1", "failed": 0}) is None
    assert demo_flush.SpanCounts.parse(None) is None


def test_the_record_is_private_and_read_back(settings: Settings) -> None:
    assert demo_flush.load(settings) is None
    written = demo_flush.record(settings, ["a" * 32, "b" * 32])
    path = settings.state_dir / demo_flush.RECORD_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert demo_flush.load(settings) == written
    assert written.project == settings.phoenix_project_name and written.trace_ids == ("a" * 32, "b" * 32)
    demo_flush.forget(settings)
    assert demo_flush.load(settings) is None
    demo_flush.forget(settings)  # nothing to forget: fine


def test_a_record_eval_cannot_use_is_ignored(settings: Settings, tmp_path: Path) -> None:
    demo_flush.record(settings, ["c" * 32])
    now = datetime.now(timezone.utc)
    assert evals._flushed_chains(settings, settings.phoenix_project_name, now - timedelta(hours=1)) == {"c" * 32}
    assert evals._flushed_chains(settings, "another-project", now - timedelta(hours=1)) == set()
    assert evals._flushed_chains(settings, settings.phoenix_project_name, now + timedelta(seconds=1)) == set()
    (settings.state_dir / demo_flush.RECORD_FILE).write_text("{not json")
    assert demo_flush.load(settings) is None
    elsewhere = isolated_settings(tmp_path / "other-state")
    assert demo_flush.load(elsewhere) is None


def test_a_demo_that_cannot_flush_is_named_and_nothing_is_recorded(settings: Settings) -> None:
    assert demo_flush.counts(settings.ai_demo_url) is None  # a free port: no demo listens there
    line, not_exported = demo_flush.flush_and_record(settings, ["d" * 32], None)
    assert line.startswith("the demo did not finish exporting its spans (ConnectionError:")
    assert "wait for a quiet window" in line
    assert "the demo did not report its export results" in line and not_exported == 0
    assert demo_flush.load(settings) is None
