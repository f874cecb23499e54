"""Process identity by PID file: a recycled PID is a stranger, a clock step is not."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from stackkit.core.processes import ManagedProcess, creation_stamp

LINUX = Path("/proc/self/stat").exists()


@pytest.fixture
def sleeper(tmp_path: Path):
    managed = ManagedProcess("sleeper", tmp_path / "run" / "sleeper.pid", tmp_path / "logs" / "sleeper.log")
    managed.start([sys.executable, "-c", "import time; time.sleep(60)"], env={})
    yield managed
    managed.stop(grace_seconds=2)


def test_a_started_process_is_known_by_its_pid_file_until_it_is_stopped(sleeper: ManagedProcess) -> None:
    pid = sleeper.pid()
    assert pid is not None and psutil.pid_exists(pid)
    assert sleeper.stop(grace_seconds=2)
    assert sleeper.pid() is None
    assert not sleeper.pid_file.exists()


@pytest.mark.skipif(not LINUX, reason="clock ticks since boot exist only where /proc does")
def test_the_stamp_is_the_kernels_start_time_in_ticks_not_the_wall_clock(sleeper: ManagedProcess) -> None:
    pid, stamp = sleeper.read() or (0, "")
    fields_after_name = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    assert stamp == f"ticks:{fields_after_name[19]}" == creation_stamp(pid)


def test_a_pid_file_naming_another_process_is_stale_and_removed(sleeper: ManagedProcess) -> None:
    pid, stamp = sleeper.read() or (0, "")
    # Stamps count clock ticks (1/100 s): a process started in the same tick would carry the same one.
    time.sleep(0.1)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert creation_stamp(other.pid) != stamp
        # Same PID, the stamp of another process: what a recycled PID looks like.
        sleeper.pid_file.write_text(f"{pid} {creation_stamp(other.pid)}\n")
        assert sleeper.pid() is None
        assert not sleeper.pid_file.exists()
    finally:
        other.kill()
        other.wait()
        psutil.Process(pid).kill()


def test_a_pid_file_written_with_the_older_epoch_stamp_still_names_its_process(sleeper: ManagedProcess) -> None:
    pid, _ = sleeper.read() or (0, "")
    sleeper.pid_file.write_text(f"{pid} {psutil.Process(pid).create_time():.2f}\n")
    assert sleeper.pid() == pid
