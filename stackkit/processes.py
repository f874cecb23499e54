"""Detached processes the native runtime starts: PID files, logs, and stopping exactly what we started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ManagedProcess:
    """A process known by its PID file; the start time guards against a recycled PID."""

    name: str
    pid_file: Path
    log_file: Path

    def read(self) -> tuple[int, str] | None:
        try:
            pid_text, start_ticks = self.pid_file.read_text().split()
            return int(pid_text), start_ticks
        except (FileNotFoundError, ValueError):
            return None

    def pid(self) -> int | None:
        """The PID when our process is still alive, else None (a stale PID file is removed)."""
        recorded = self.read()
        if recorded is None:
            return None
        pid, start_ticks = recorded
        if _start_ticks(pid) != start_ticks or not alive(pid):
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid

    def start(self, command: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> int:
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            # A new session: the process outlives `invoke up` and gets no Ctrl-C from its terminal.
            process = subprocess.Popen(
                list(command),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{process.pid} {_start_ticks(process.pid)}\n")
        return process.pid

    def stop(self, grace_seconds: float = 20.0) -> bool:
        """SIGTERM, then SIGKILL after the grace period; True when a process was stopped."""
        pid = self.pid()
        if pid is None:
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline:
            if not alive(pid):
                break
            time.sleep(0.1)
        else:
            _signal_group(pid, signal.SIGKILL)
            while alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True


def _start_ticks(pid: int) -> str:
    """Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (a dead child is reaped here)."""
    try:
        waited_pid, _ = os.waitpid(pid, os.WNOHANG)
        if waited_pid == pid:
            return False
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _signal_group(pid: int, signum: int) -> None:
    # The process leads its own session (start_new_session), so its group is exactly what we started.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)
