"""`invoke down` never reports success without draining a real Phoenix (a component that exits without `down` is
restarted and reported: tests/stackkit/runtimes/test_native_supervision.py). Real Phoenix and demo on the native
runtime. MEASURED lines give the counts (pytest -s). That `down` acts with the running settings whatever the shell
says, in order, is tests/stackkit/commands/test_order.py's (a fake runtime); a drain with the key from another shell,
losing nothing, is test_applied.py's."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from isolation import isolated_environ
from reliability_helpers import invoke, invoke_ok

from stackkit.core.processes import alive
from stackkit.core.settings import Settings, load_settings

pytestmark = pytest.mark.phoenix


@pytest.fixture
def environ(tmp_path: Path) -> Iterator[dict[str, str]]:
    environ = isolated_environ(tmp_path / "state", PHOENIX_ENABLE_AUTH="true")
    try:
        yield environ
    finally:
        invoke(environ, "down", "--force")


def _pid(settings: Settings, component: str) -> int:
    return int((settings.run_dir / f"{component}.pid").read_text().split()[0])


def test_down_that_cannot_drain_keeps_phoenix_running_and_fails(environ: dict[str, str]) -> None:
    """A Phoenix that does not answer (SIGSTOP) cannot be drained: `down` says so, exits 1, leaves it running."""
    invoke_ok(environ, "up", "--only", "phoenix")
    settings = load_settings(environ=environ)
    pid = _pid(settings, "phoenix")
    os.kill(pid, signal.SIGSTOP)
    try:
        down = invoke(environ, "down")
    finally:
        os.kill(pid, signal.SIGCONT)
    assert down.returncode == 1, down.stdout + down.stderr
    errors = down.stderr.strip().splitlines()
    assert len(errors) == 1 and "phoenix was left running" in errors[0] and "invoke down --force" in errors[0]
    assert alive(pid)
    print(f"\nMEASURED down of an unanswering Phoenix: exit 1, {errors[0]}")
    invoke_ok(environ, "down")
    assert not alive(pid)
