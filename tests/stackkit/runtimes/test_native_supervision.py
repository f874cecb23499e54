"""Natively every component runs under the state folder's supervisord: a component killed with SIGKILL is back
healthy within seconds and `status` counts the restart; a command that keeps failing is given up and named by `up`
with its log, and nothing is left running; `down` leaves no process, supervisord included (checked by PID). Real
Phoenix, demo and supervisord. MEASURED lines give the times (pytest -s)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from collector_helpers import collector_binary
from isolation import isolated_environ, isolated_settings
from reliability_helpers import invoke, invoke_ok

from stackkit.commands import traffic
from stackkit.commands import up as up_task
from stackkit.core import secrets
from stackkit.core.errors import OperationFailed
from stackkit.core.health import probe
from stackkit.core.processes import alive
from stackkit.core.settings import load_settings
from stackkit.demo import flush as demo_flush
from stackkit.phoenix.api import PhoenixClient
from stackkit.runtimes.native import NativeRuntime
from stackkit.runtimes.supervision import Program, Supervisor
from stackkit.stack.lifecycle import health_url

pytestmark = pytest.mark.phoenix


@pytest.fixture
def environ(tmp_path: Path) -> Iterator[dict[str, str]]:
    environ = isolated_environ(tmp_path / "state", STACK_HEALTH_TIMEOUT="300")  # 2 shared cores: Phoenix is slow
    try:
        yield environ
    finally:
        invoke(environ, "down", "--force")


def _back_healthy(runtime: NativeRuntime, component: str, old_pid: int, timeout: float = 300) -> float:
    """Seconds until the component answers its health check again from a new PID (its own start-up included:
    supervisord's respawn delay is printed apart)."""
    killed_at = time.monotonic()
    url = health_url(runtime.settings, component)
    while time.monotonic() - killed_at < timeout:
        pid = runtime.pid(component)
        if pid is not None and pid != old_pid and probe(url).ok:
            found = runtime.supervised(component)
            assert found.last_exit is not None and found.starts
            print(f"\nMEASURED {component}: respawned {found.starts[-1] - found.last_exit.stamp:.2f}s after its exit")
            return time.monotonic() - killed_at
        time.sleep(0.05)
    pytest.fail(f"{component} not back within {timeout}s: " + "\n".join(runtime.logs(component, tail=20)))


def test_a_killed_component_is_back_healthy_and_status_counts_the_restart(environ: dict[str, str]) -> None:
    invoke_ok(environ, "up")
    settings = load_settings(environ=environ)
    runtime = NativeRuntime(settings)
    supervisord = runtime.supervisor.pid()
    assert supervisord is not None
    pids = {}
    for component in ("ai-demo", "phoenix"):
        pid = runtime.pid(component)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        seconds = _back_healthy(runtime, component, pid)
        pids[component] = runtime.pid(component)
        print(f"\nMEASURED {component} killed with SIGKILL (pid {pid}): healthy again after {seconds:.1f}s")

    status = invoke_ok(environ, "status")
    rows = {line.split()[0]: line for line in status.splitlines()[1:] if line.strip()}
    for component in ("ai-demo", "phoenix"):
        assert f"running, pid {pids[component]}, restarted 1 time, last at" in rows[component], status
        assert "healthy" in rows[component], status
    notes = [line for line in status.splitlines() if line.startswith("WARNING: phoenix exited")]
    assert len(notes) == 1, status
    assert "supervisord restarted it 1 time" in notes[0] and "terminated by SIGKILL" in notes[0], notes[0]
    assert f"now running as pid {pids['phoenix']}" in notes[0], notes[0]
    assert "WARNING: ai-demo exited without `invoke down`: supervisord restarted it 1 time" in status
    assert "spans it accepted in its last seconds" in notes[0] and "phoenix_span_queue_size" in notes[0]
    print(f"MEASURED status after the kills: {notes[0][:240]}")
    up = invoke_ok(environ, "up")
    assert "WARNING: phoenix exited without `invoke down`: supervisord restarted it 1 time" in up
    assert "every component is already running and healthy; nothing changed" in up, up

    verify = invoke(environ, "verify")
    line = next(line for line in verify.stdout.splitlines() if "stack.running" in line)
    assert "supervisord restarted it 1 time" in line, line

    down = invoke_ok(environ, "down")
    assert "WARNING: phoenix exited without `invoke down`" in down
    for pid in (supervisord, *pids.values()):
        assert pid is not None and not alive(pid), f"pid {pid} still runs after down"
    assert not list(settings.run_dir.glob("*.pid")), list(settings.run_dir.iterdir())
    invoke_ok(environ, "up", "--only", "phoenix")
    assert "exited without" not in invoke_ok(environ, "status")


def test_a_command_that_keeps_failing_is_given_up_named_by_up_and_nothing_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's command fails at every start (a real process exiting 3): `up` names it given up, prints its log
    lines, fails, and stops what it started: Phoenix and supervisord are gone (by PID)."""
    settings = isolated_settings(tmp_path / "state", STACK_HEALTH_TIMEOUT="300")  # 2 shared cores: Phoenix is slow
    failing = [sys.executable, "-c", "import sys; print('demo: cannot load its model', flush=True); sys.exit(3)"]
    real_command = NativeRuntime.command
    monkeypatch.setattr(
        NativeRuntime, "command", lambda self, name: failing if name == "ai-demo" else real_command(self, name)
    )
    printed: list[str] = []
    seen: dict[str, int | None] = {}

    def out(line: str) -> None:
        printed.append(line)
        if "ai-demo: starting" in line or "phoenix: healthy" in line:
            runtime = NativeRuntime(settings)
            seen.update(supervisord=runtime.supervisor.pid(), phoenix=runtime.pid("phoenix"))

    started = time.monotonic()
    with pytest.raises(OperationFailed) as failure:
        up_task.up(settings, "native", out=out)
    text = "\n".join(printed)
    assert "given up by supervisord after 4 starts (FATAL; last exit: exit status 3" in str(failure.value), text
    assert "demo: cannot load its model" in text, text
    assert "ai-demo: stopped (started by this run)" in text and "phoenix: stopped (started by this run)" in text
    assert seen.get("supervisord") and seen.get("phoenix"), text
    for pid in seen.values():
        assert pid is not None and not alive(pid), f"pid {pid} still runs after the failed up"
    assert not list(settings.run_dir.glob("*.pid")), list(settings.run_dir.iterdir())
    took = time.monotonic() - started
    print(f"\nMEASURED a failing demo given up and the up rolled back in {took:.0f}s: {failure.value}")


def test_supervisord_alone_restarts_a_killed_program_and_down_to_nothing_stops_it(tmp_path: Path) -> None:
    """No stack: the supervisor of a state folder with one sleeping program; its files are private."""
    env_file = tmp_path / "program.env"
    env_file.write_text("GREETING=from-the-env-file\n")
    supervisor = Supervisor(tmp_path / "run", tmp_path / "logs")
    command = [sys.executable, "-c", "import os, time; print(os.environ['GREETING'], flush=True); time.sleep(600)"]
    supervisor.start(Program("sleeper", command, env_file, tmp_path), {"PATH": os.environ["PATH"]})
    try:
        deadline = time.monotonic() + 30
        while not (first := supervisor.state("sleeper")).pid and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.pid is not None
        os.kill(first.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        while (again := supervisor.state("sleeper")).pid in (None, first.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        print(f"\nMEASURED a killed program respawned by supervisord after {time.monotonic() - killed_at:.2f}s")
        assert again.pid not in (None, first.pid) and again.restarts == 1
        assert again.last_exit is not None and again.last_exit.how == "terminated by SIGKILL; not expected"
        log = tmp_path / "logs" / "sleeper.log"
        while "from-the-env-file" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "from-the-env-file" in log.read_text()
        conf = (tmp_path / "run" / "supervisord.conf").read_text() + (
            tmp_path / "run" / "supervisor" / "sleeper.conf"
        ).read_text()
        assert "from-the-env-file" not in conf, "the environment stays in its env file"
        for private in (tmp_path / "run" / "supervisord.conf", supervisor.socket, tmp_path / "logs" / "sleeper.log"):
            assert private.stat().st_mode & 0o777 == 0o600, private
        assert (tmp_path / "run").stat().st_mode & 0o777 == 0o700
        daemon = supervisor.pid()
    finally:
        supervisor.stop("sleeper")
    assert daemon is not None and not alive(daemon)
    assert again.pid is not None and not alive(again.pid)
    assert supervisor.unexpected_exit() is None, "a planned stop is not an unexpected exit"


SPANS_PER_CHAIN = 4  # the demo's chain: at least a root and its steps (as the pipeline tests count)


def _killed_under_traffic(environ: dict[str, str], victim: str, requests_count: int = 200) -> tuple[int, int, str]:
    """`requests_count` chats at concurrency 8 to the demo; `victim` killed with SIGKILL 1 s in, nobody runs `up`.
    Returns (traces the demo answered, traces landed whole in Phoenix, the status note)."""
    settings = load_settings(environ=environ)
    runtime = NativeRuntime(settings)
    reports: list[traffic.TrafficReport] = []
    sender = threading.Thread(
        target=lambda: reports.append(
            traffic.run_traffic(settings.ai_demo_url, requests_count, 3, 8, 0.0, progress=False, timeout=120)
        )
    )
    sender.start()
    time.sleep(1.0)
    pid = runtime.pid(victim)
    assert pid is not None and sender.is_alive(), "the kill must land while the traffic runs"
    os.kill(pid, signal.SIGKILL)
    seconds = _back_healthy(runtime, victim, pid)
    sender.join()
    report = reports[0]
    assert demo_flush.flush(settings.ai_demo_url).problem == ""
    token = secrets.load(settings).get("PHOENIX_ADMIN_SECRET", "")
    reader = PhoenixClient(settings.phoenix_url, token=token, timeout=60)
    by_trace = reader.wait_for_traces(
        settings.phoenix_project_name, report.trace_ids, 180, min_spans_per_trace=SPANS_PER_CHAIN
    )
    landed = sum(len(spans) >= SPANS_PER_CHAIN for spans in by_trace.values())
    note = next(line for line in invoke_ok(environ, "status").splitlines() if line.startswith(f"WARNING: {victim}"))
    print(
        f"\nMEASURED {victim} killed with SIGKILL under {requests_count} chats (concurrency 8), no `up`: back "
        f"healthy after {seconds:.1f}s; chats answered {report.succeeded}/{report.sent}; traces landed whole "
        f"{landed}/{len(report.trace_ids)}\n{note[:400]}"
    )
    return report.succeeded, landed, note


def test_the_collector_killed_under_traffic_is_restarted_and_the_traces_land(tmp_path: Path) -> None:
    collector_binary()
    environ = isolated_environ(tmp_path / "state", STACK_COLLECTOR="otelcol", STACK_HEALTH_TIMEOUT="300")
    try:
        assert "otelcol: healthy" in invoke_ok(environ, "up")
        answered, landed, note = _killed_under_traffic(environ, "otelcol")
        assert "supervisord restarted it 1 time" in note and "terminated by SIGKILL" in note, note
        assert landed >= 196, f"{landed} of {answered} traces landed"
    finally:
        invoke(environ, "down", "--force")


def test_phoenix_killed_under_traffic_through_the_collector_loses_at_most_what_it_had_accepted(
    tmp_path: Path,
) -> None:
    """The Collector resends what Phoenix did not accept while Phoenix is down and restarted; what is lost is what
    Phoenix had answered 200 for and not yet written (its queue), counted here, not asserted away."""
    collector_binary()
    environ = isolated_environ(tmp_path / "state", STACK_COLLECTOR="otelcol", STACK_HEALTH_TIMEOUT="300")
    try:
        invoke_ok(environ, "up")
        answered, landed, note = _killed_under_traffic(environ, "phoenix")
        assert "supervisord restarted it 1 time" in note, note
        assert landed > 0
        print(f"MEASURED lost with Phoenix killed: {answered - landed} of {answered} traces")
    finally:
        invoke(environ, "down", "--force")


def test_a_program_outliving_a_killed_supervisord_is_named_and_stopped_by_its_pid(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "run", tmp_path / "logs")
    env_file = tmp_path / "none.env"
    command = [sys.executable, "-c", "import time; time.sleep(600)"]
    supervisor.start(Program("sleeper", command, env_file, tmp_path), {"PATH": os.environ["PATH"]})
    daemon = supervisor.pid()
    try:
        deadline = time.monotonic() + 60
        while not supervisor.pid_file("sleeper").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # the launcher writes it once it runs
        pid = supervisor.state("sleeper").pid
        assert daemon is not None and pid is not None
        os.kill(daemon, signal.SIGKILL)
        while alive(daemon):
            time.sleep(0.05)
        orphan = supervisor.state("sleeper")
        assert orphan.running and orphan.pid == pid and "unsupervised: supervisord is gone" in orphan.describe()
        gone = supervisor.unexpected_exit()
        assert gone is not None and gone.pid == daemon
    finally:
        supervisor.stop("sleeper")
    assert not alive(pid), "stopped by its PID file"
