"""`up` and `down` in the right order, undoing what a failed or interrupted `up` started, and applying a change:
on the in-process fake runtime (tests/fake_runtime.py), milliseconds each. A real Phoenix draining, real ports
and a real Ctrl-C are tested with the real programs (test_applied.py, test_down.py, test_up.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fake_runtime import FakeRuntime
from isolation import isolated_environ

from stackkit.commands import down as down_task
from stackkit.commands import logs as logs_task
from stackkit.commands import up as up_task
from stackkit.components.component import Plan
from stackkit.core.errors import OperationFailed, StackkitError, UsageError
from stackkit.core.ports import free_ports
from stackkit.core.settings import Settings, load_settings
from stackkit.stack import applied

STACK = ("phoenix", "alloy", "ai-demo")
# Phoenix first and ready before the senders start; the senders start at once and are waited for after
# Phoenix's wait until ready (its price live).
BRING_UP = [
    "start phoenix",
    "wait phoenix",
    "steps phoenix",
    "start alloy",
    "start ai-demo",
    "ready phoenix",
    "wait alloy",
    "wait ai-demo",
]
STARTS_BEFORE = {
    step: [e.split()[1] for e in BRING_UP[: i + 1] if e.startswith("start")] for i, step in enumerate(BRING_UP)
}


def _settings(tmp_path: Path, **overrides: str) -> Settings:
    return load_settings(environ=_environ(tmp_path, **overrides))


def _environ(tmp_path: Path, **overrides: str) -> dict[str, str]:
    return isolated_environ(tmp_path / "state", **overrides)


def _up(settings: Settings, runtime: FakeRuntime, lines: list[str], only: tuple[str, ...] | None = None) -> Plan:
    return up_task.up(settings, only=only, out=lines.append, runtimes=runtime.maker, probes=runtime.probes())


def _running(settings: Settings, *names: str) -> FakeRuntime:
    """A stack an earlier `up` brought up with `settings`: recorded, its components running."""
    applied.record(settings, Plan(runtime="native", components=names, skipped={}))
    return FakeRuntime(settings, running=set(names))


def test_up_starts_phoenix_then_the_fan_out_then_the_demo_and_waits_for_the_senders_after(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    runtime = FakeRuntime(settings)
    lines: list[str] = []
    plan = _up(settings, runtime, lines)
    assert plan.components == STACK
    assert runtime.events == BRING_UP
    assert runtime.running == set(STACK)
    state = applied.read(settings)
    assert state is not None and state.components == STACK and not state.stopped


def test_up_with_the_collector_runs_it_as_the_fan_out(tmp_path: Path) -> None:
    settings = _settings(tmp_path, STACK_COLLECTOR="otelcol")
    runtime = FakeRuntime(settings)
    _up(settings, runtime, [])
    assert runtime.events == [event.replace("alloy", "otelcol") for event in BRING_UP]


def test_a_second_up_starts_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    runtime = FakeRuntime(settings)
    _up(settings, runtime, [])
    runtime.events.clear()
    lines: list[str] = []
    _up(settings, runtime, lines)
    assert runtime.events == []
    assert any("every component is already running and healthy; nothing changed" in line for line in lines)


@pytest.mark.parametrize("step", BRING_UP)
def test_a_failure_at_any_step_stops_what_this_run_started_newest_first(tmp_path: Path, step: str) -> None:
    settings = _settings(tmp_path)
    runtime = FakeRuntime(settings, fail={step: OperationFailed(f"injected at {step}")})
    lines: list[str] = []
    with pytest.raises(OperationFailed, match=f"injected at {step}"):
        _up(settings, runtime, lines)
    done = BRING_UP.index(step) + 1
    started = STARTS_BEFORE[step]
    assert runtime.events == BRING_UP[:done] + [f"stop {name}" for name in reversed(started)]
    assert runtime.running == set()
    assert [line.split("] ", 1)[1] for line in lines if "(started by this run)" in line] == [
        f"{name}: stopped (started by this run)" for name in reversed(started)
    ]
    assert not any("interrupted" in line for line in lines)


@pytest.mark.parametrize("step", BRING_UP)
def test_ctrl_c_at_any_step_stops_what_this_run_started_and_says_so(tmp_path: Path, step: str) -> None:
    settings = _settings(tmp_path)
    runtime = FakeRuntime(settings, fail={step: KeyboardInterrupt()})
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        _up(settings, runtime, lines)
    started = STARTS_BEFORE[step]
    assert runtime.events == BRING_UP[: BRING_UP.index(step) + 1] + [f"stop {name}" for name in reversed(started)]
    assert runtime.running == set()
    said = [line.split("] ", 1)[1] for line in lines]
    interrupted = said.index("interrupted (Ctrl-C): stopping what this run started")
    assert said[interrupted + 1 :] == [f"{name}: stopped (started by this run)" for name in reversed(started)]


def test_a_failed_up_leaves_what_ran_before_alone(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    runtime = _running(settings, "phoenix")
    runtime.fail["wait ai-demo"] = OperationFailed("the demo did not become healthy")
    lines: list[str] = []
    with pytest.raises(OperationFailed):
        _up(settings, runtime, lines)
    assert runtime.events == [
        "start alloy",
        "start ai-demo",
        "wait alloy",
        "wait ai-demo",
        "stop ai-demo",
        "stop alloy",
    ]
    assert runtime.running == {"phoenix"}
    assert any("phoenix: already healthy" in line for line in lines)


def test_a_failed_up_of_a_stack_never_brought_up_is_recorded_for_down(tmp_path: Path) -> None:
    """Recorded before anything starts, so `down` and `status` find what a failed or interrupted run left."""
    settings = _settings(tmp_path)
    runtime = FakeRuntime(settings, fail={"steps phoenix": KeyboardInterrupt()})
    with pytest.raises(KeyboardInterrupt):
        _up(settings, runtime, [])
    state = applied.read(settings)
    assert state is not None and state.runtime == "native"


def test_a_demo_setting_restarts_the_demo_only(tmp_path: Path) -> None:
    environ = _environ(tmp_path)
    runtime = _running(load_settings(environ=environ), *STACK)
    lines: list[str] = []
    _up(load_settings(environ=environ | {"AI_DEMO_TOOL_TIMEOUT": "0.7"}), runtime, lines)
    assert runtime.events == ["stop ai-demo", "start ai-demo", "wait ai-demo"]
    assert any("AI_DEMO_TOOL_TIMEOUT: 0.5 -> 0.7 (restarts ai-demo" in line for line in lines)


def test_a_phoenix_setting_pauses_the_senders_around_phoenix(tmp_path: Path) -> None:
    """The senders stop first (flushing into Phoenix), Phoenix is drained with the settings it runs with, then
    stopped; the bring-up starts it with the new value and the senders after it."""
    environ = _environ(tmp_path)
    before = load_settings(environ=environ)
    runtime = _running(before, *STACK)
    _up(load_settings(environ=environ | {"PHOENIX_MAX_SPANS_QUEUE_SIZE": "30000"}), runtime, [])
    assert runtime.events == ["stop ai-demo", "stop alloy", "drain phoenix", "stop phoenix", *BRING_UP]
    assert [settings.phoenix_url for settings in runtime.drained_with] == [before.phoenix_url]


def test_a_new_phoenix_port_drains_it_where_it_listens(tmp_path: Path) -> None:
    environ = _environ(tmp_path)
    before = load_settings(environ=environ)
    runtime = _running(before, "phoenix")
    moved = load_settings(environ=environ | {"PHOENIX_UI_PORT": str(free_ports(1)[0])})
    lines: list[str] = []
    _up(moved, runtime, lines, only=("phoenix",))
    # With the demo in the stack, Phoenix is ready once its price is live ("ready phoenix").
    assert runtime.events == ["drain phoenix", "stop phoenix", *BRING_UP[:3], "ready phoenix"]
    assert runtime.drained_with[0].phoenix_ui_port == before.phoenix_ui_port
    state = applied.read(moved)
    assert state is not None and state.settings["PHOENIX_UI_PORT"] == str(moved.phoenix_ui_port)


def test_a_database_change_is_refused_while_running_and_nothing_stops(tmp_path: Path) -> None:
    environ = _environ(tmp_path)
    runtime = _running(load_settings(environ=environ), "phoenix")
    changed = environ | {"PHOENIX_DB": "postgres", "PHOENIX_SQL_DATABASE_URL": "postgresql://u:p@h/d"}
    with pytest.raises(UsageError) as refused:
        _up(load_settings(environ=changed), runtime, [])
    assert refused.value.exit_code == 2
    assert "PHOENIX_DB: sqlite -> postgres (cannot be applied to a running stack)" in str(refused.value)
    assert "`invoke down`, then `invoke up`" in str(refused.value)
    assert runtime.events == [] and runtime.running == {"phoenix"}


def test_down_stops_the_senders_first_and_drains_phoenix_last(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    runtime = _running(settings, *STACK)
    lines: list[str] = []
    down_task.down(settings, out=lines.append, runtimes=runtime.maker, probes=runtime.probes())
    # The fan-out sends its queue into the still-running Phoenix before it stops.
    assert runtime.events == ["stop ai-demo", "queue alloy", "stop alloy", "drain phoenix", "stop phoenix"]
    state = applied.read(settings)
    assert state is not None and state.stopped
    assert not any(line.startswith("not yet in Phoenix") for line in lines)


def test_down_says_what_stays_in_the_fan_outs_queue(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    runtime = _running(settings, *STACK)
    runtime.queued["alloy"] = 4096  # Phoenix did not take them
    lines: list[str] = []
    down_task.down(settings, out=lines.append, runtimes=runtime.maker, probes=runtime.probes())
    assert lines[-1] == "not yet in Phoenix: 4096 bytes in alloy's on-disk queue"
    assert runtime.running == set()


def test_down_volumes_drains_into_a_phoenix_whose_database_the_user_keeps(tmp_path: Path) -> None:
    """With its traces in the user's PostgreSQL, `down --volumes` deletes none of them: what the fan-out queued is
    sent into Phoenix first, and Phoenix is drained, as a plain `down` does."""
    url = "postgresql://phoenix:secret@127.0.0.1:5432/phoenix"
    settings = _settings(tmp_path, PHOENIX_DB="postgres", PHOENIX_SQL_DATABASE_URL=url)
    runtime = _running(settings, *STACK)
    lines: list[str] = []
    down_task.down(settings, remove_data=True, out=lines.append, runtimes=runtime.maker, probes=runtime.probes())
    assert runtime.events == ["stop ai-demo", "queue alloy", "stop alloy", "drain phoenix", "stop phoenix"]
    assert any("were left alone: that database is yours" in line for line in lines), lines


def test_down_volumes_of_the_stacks_own_data_drains_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    runtime = _running(settings, *STACK)
    down_task.down(settings, remove_data=True, out=[].append, runtimes=runtime.maker, probes=runtime.probes())
    assert runtime.events == ["stop ai-demo", "stop alloy", "stop phoenix"]


def test_down_drains_with_the_running_settings_whatever_the_shell_says(tmp_path: Path) -> None:
    environ = _environ(tmp_path, PHOENIX_ENABLE_AUTH="true")
    before = load_settings(environ=environ)
    runtime = _running(before, *STACK)
    shell = environ | {"PHOENIX_ENABLE_AUTH": "false", "PHOENIX_UI_PORT": str(free_ports(1)[0])}
    lines: list[str] = []
    down_task.down(load_settings(environ=shell), out=lines.append, runtimes=runtime.maker, probes=runtime.probes())
    (drained,) = runtime.drained_with
    assert (drained.phoenix_url, drained.phoenix_enable_auth) == (before.phoenix_url, True)
    first = lines[0]
    assert "given now apply at the next `invoke up`" in first
    assert "PHOENIX_UI_PORT" in first and "PHOENIX_ENABLE_AUTH" in first


def test_down_that_cannot_drain_leaves_phoenix_running_unless_forced(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    runtime = _running(settings, *STACK)
    runtime.drains = False
    with pytest.raises(OperationFailed, match="phoenix was left running"):
        down_task.down(settings, out=[].append, runtimes=runtime.maker, probes=runtime.probes())
    assert runtime.running == {"phoenix"}
    down_task.down(settings, force=True, out=[].append, runtimes=runtime.maker, probes=runtime.probes())
    assert runtime.running == set()


def test_restarting_phoenix_pauses_its_senders_and_brings_them_back_when_it_fails(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    runtime = _running(settings, *STACK)
    runtime.fail["wait phoenix"] = OperationFailed("phoenix did not become healthy")
    lines: list[str] = []
    with pytest.raises(StackkitError, match="restarting phoenix failed"):
        down_task.restart(settings, "phoenix", out=lines.append, runtimes=runtime.maker, probes=runtime.probes())
    assert any(line.endswith("phoenix: stopped (its restart failed)") for line in lines), lines
    assert runtime.events == [
        "stop ai-demo",
        "stop alloy",
        "drain phoenix",
        "stop phoenix",
        "start phoenix",
        "wait phoenix",
        "stop phoenix",  # a failed start is not left to supervisord's retries
        "start alloy",
        "wait alloy",
        "start ai-demo",
        "wait ai-demo",
    ]
    assert runtime.running == set(STACK) - {"phoenix"}


def test_restart_and_logs_name_a_component_up_skipped(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    reason = "no `alloy` binary on PATH; the demo exports straight to Phoenix's /v1/traces"
    runtime = FakeRuntime(settings, missing={"alloy": reason})
    _up(settings, runtime, [], only=("phoenix",))
    runtime.events.clear()
    with pytest.raises(OperationFailed, match=re.escape(f"alloy is not part of this stack ({reason})")):
        down_task.restart(settings, "alloy", out=[].append, runtimes=runtime.maker, probes=runtime.probes())
    with pytest.raises(OperationFailed, match=re.escape(f"alloy is not part of this stack ({reason}): it has no logs")):
        logs_task.logs(settings, "alloy")
    assert runtime.events == []
