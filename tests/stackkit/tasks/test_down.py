"""`invoke down` acts on the stack as it runs (the applied settings, whatever the shell says now) and never
reports success without draining (a component that exits without `down` is restarted and reported:
tests/stackkit/runtimes/test_native_supervision.py). Real Phoenix and demo on the native runtime. MEASURED lines
give the counts (pytest -s)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from isolation import isolated_environ
from reliability_helpers import invoke, invoke_ok

from stackkit import secrets
from stackkit.phoenix.api import PhoenixClient
from stackkit.ports import free_ports
from stackkit.processes import alive
from stackkit.settings import Settings, load_settings
from stackkit.traffic import run_traffic

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


def _admin_client(settings: Settings) -> PhoenixClient:
    token = secrets.load(settings)["PHOENIX_ADMIN_SECRET"]
    return PhoenixClient(settings.phoenix_url, token=token, timeout=60)


@pytest.mark.parametrize("shell", ["PHOENIX_ENABLE_AUTH=false", "PHOENIX_UI_PORT=another"])
def test_down_drains_with_the_running_settings_whatever_the_shell_says(environ: dict[str, str], shell: str) -> None:
    """Auth `up`, 300 requests, then `down` from a shell that says otherwise: every trace is kept."""
    invoke_ok(environ, "up")
    settings = load_settings(environ=environ)
    report = run_traffic(settings.ai_demo_url, requests=300, sessions=5, concurrency=8, progress=False)
    assert report.succeeded == 300
    name, value = shell.split("=")
    value = str(free_ports(1)[0]) if value == "another" else value

    down = invoke({**environ, name: value}, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert "every received span is written" in down.stdout
    assert f"{name} given now apply at the next `invoke up`" in down.stdout

    invoke_ok(environ, "up", "--only", "phoenix")
    found = _admin_client(settings).spans_by_trace(settings.phoenix_project_name, report.trace_ids)
    kept = sum(bool(spans) for spans in found.values())
    print(f"\nMEASURED down with {shell} in the shell: 300 traces sent, {kept} kept")
    assert kept == 300


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
