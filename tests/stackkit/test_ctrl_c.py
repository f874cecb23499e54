"""A Ctrl-C is never lost: a task answers it even when started with SIGINT ignored, and one that arrives while a
process is spawned is raised once its PID is recorded (so the undo finds it). Real signals, in milliseconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from invoke.exceptions import Exit
from isolation import isolated_environ

from stackkit import cli
from stackkit.core import processes
from stackkit.core.errors import EXIT_INTERRUPTED
from stackkit.core.processes import ManagedProcess, alive
from stackkit.core.settings import Settings


@pytest.fixture
def sigint_restored() -> Iterator[None]:
    before = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_task_started_with_ctrl_c_ignored_still_answers_it(
    sigint_restored: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell without job control starts `cmd &`
    for name, value in isolated_environ(tmp_path / "state").items():
        monkeypatch.setenv(name, value)
    reached: list[str] = []

    def pressed_ctrl_c(settings: Settings) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # interrupted long before
        reached.append("the task ran on")

    started = time.monotonic()
    with pytest.raises(Exit) as ended:
        cli.run(pressed_ctrl_c)
    assert ended.value.code == EXIT_INTERRUPTED
    assert ended.value.message == "interrupted (Ctrl-C)"
    assert reached == [] and time.monotonic() - started < 4


def test_ctrl_c_while_a_process_is_spawned_is_raised_once_its_pid_is_recorded(
    sigint_restored: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)

    class CtrlCJustAfterTheFork(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(processes.subprocess, "Popen", CtrlCJustAfterTheFork)
    sleeper = ManagedProcess("sleeper", tmp_path / "run" / "sleeper.pid", tmp_path / "logs" / "sleeper.log")
    with pytest.raises(KeyboardInterrupt):
        sleeper.start([sys.executable, "-c", "import time; time.sleep(60)"], env={})
    pid = sleeper.pid()
    assert pid is not None and alive(pid), "the process started must be recorded, or nothing can stop it"
    assert sleeper.stop(grace_seconds=2)
    assert not alive(pid)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_pid_file_supervisord_s_start_writes_is_the_component_s_own_written_whole(tmp_path: Path) -> None:
    """stackkit.runtimes.supervised_start records the PID then execs the component: the file names the process that runs
    (ManagedProcess reads it, with its creation stamp), and it is renamed into place, no partial file left."""
    pid_file = tmp_path / "run" / "sleeper.pid"
    pid_file.parent.mkdir()
    command = [sys.executable, "-m", "stackkit.runtimes.supervised_start", "--name", "sleeper", "--env-file"]
    command += [str(tmp_path / "none.env"), "--pid-file", str(pid_file), "--", "sleep", "30"]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        sleeper = ManagedProcess("sleeper", pid_file, tmp_path / "sleeper.log")
        assert sleeper.pid() == child.pid
        assert oct(pid_file.stat().st_mode & 0o777) == "0o600"
        assert [path.name for path in pid_file.parent.iterdir()] == ["sleeper.pid"]
    finally:
        child.kill()
        child.wait()
