"""The bring-up benchmark's pieces: Phoenix alone (a real `phoenix serve`), `invoke up`'s progress lines, and the
whole stack's RSS read from the components' PID files."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pytest
from isolation import isolated_settings

from stackkit.runtimes.native import NativeRuntime
from stackkit.runtimes.supervision import Program
from tools.bench import bringup
from tools.bench.memory import stack_rss_mb, vmrss_kb

# A process that holds `size` bytes until it is stopped.
HOLDER = "import sys, time; data = bytearray(int(sys.argv[1])); time.sleep(120)"


def test_progress_lines_are_read_as_seconds_and_text() -> None:
    assert bringup.PROGRESS_LINE.match("[  12.3s] phoenix: healthy (http://127.0.0.1:1/healthz)").groups() == (
        "12.3",
        "phoenix: healthy (http://127.0.0.1:1/healthz)",
    )
    assert bringup.PROGRESS_LINE.match("[ 120.0s] ai-demo: starting on native")[1] == "120.0"
    assert bringup.PROGRESS_LINE.match("Phoenix UI:        http://127.0.0.1:1") is None


def test_stack_rss_counts_every_running_component_and_their_total(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state")
    runtime = NativeRuntime(settings)
    sizes = {"phoenix": 60_000_000, "ai-demo": 30_000_000}
    try:
        for name, size in sizes.items():
            holder = Program(name, [sys.executable, "-c", HOLDER, str(size)], tmp_path / "none.env", tmp_path)
            runtime.supervisor.start(holder, {})
        for name, size in sizes.items():
            status = Path(f"/proc/{runtime.pid(name)}/status")
            deadline = time.monotonic() + 20
            while vmrss_kb(status.read_text()) < size // 1024 and time.monotonic() < deadline:
                time.sleep(0.02)
        measured = stack_rss_mb(settings)
        assert set(measured) == {"phoenix", "ai-demo", "total"}  # alloy is not running: not counted
        assert measured["phoenix"] is not None and measured["phoenix"] >= 57
        assert measured["ai-demo"] is not None and measured["ai-demo"] >= 28
        assert measured["total"] == pytest.approx(measured["phoenix"] + measured["ai-demo"])
    finally:
        for name in sizes:
            runtime.stop(name)


@pytest.mark.phoenix
def test_phoenix_alone_answers_healthz_then_is_stopped_and_its_folder_removed(tmp_path: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("stackkit-bench-phoenix-*"))
    version = isolated_settings(tmp_path / "state").phoenix_version
    measured = bringup.phoenix_alone(version)
    assert measured["outcome"] == "ok"
    assert measured["healthz_s"] > 0
    assert measured["idle_rss_mb"] is not None and measured["idle_rss_mb"] > 100  # Phoenix idles at ~450 MB
    assert set(Path(tempfile.gettempdir()).glob("stackkit-bench-phoenix-*")) == before
