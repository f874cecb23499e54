"""Detached processes the native runtime starts: PID files, logs, and stopping exactly what we started.

psutil does the bookkeeping, so it works wherever psutil does (Linux, macOS), not only where /proc exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

# Files a started process creates: owner only (0600 files, 0700 folders).
PRIVATE_UMASK = 0o077


@dataclass(frozen=True)
class UnexpectedExit:
    """A process of ours found gone although nothing stopped it (seconds since the epoch)."""

    pid: int
    started: float
    last_log: float | None  # its log's last write: the last sign it was alive
    noticed: float  # when a task found it gone

    def describe(self) -> str:
        def shown(stamp: float) -> str:
            return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))

        alive_until = f", last log line at {shown(self.last_log)}" if self.last_log else ""
        return f"pid {self.pid} (started {shown(self.started)}{alive_until}; found gone at {shown(self.noticed)})"


@dataclass(frozen=True)
class ManagedProcess:
    """A process known by its PID file; its creation time guards against a recycled PID."""

    name: str
    pid_file: Path
    log_file: Path

    def read(self) -> tuple[int, str] | None:
        try:
            pid_text, created = self.pid_file.read_text().split()
            return int(pid_text), created
        except (FileNotFoundError, ValueError):
            return None

    @property
    def exit_file(self) -> Path:
        return self.pid_file.with_suffix(".exited")

    def pid(self) -> int | None:
        """The PID when our process is still alive, else None. A PID file whose process is gone means it
        exited without `stop` (killed, crashed): that is recorded (`unexpected_exit`) before the file goes."""
        recorded = self.read()
        if recorded is None:
            return None
        pid, created = recorded
        if not started_as(pid, created) or not alive(pid):
            self._record_exit(pid)
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid

    def _record_exit(self, pid: int) -> None:
        # When it died is not known exactly: its log's last write is the last sign of life. It started when
        # its PID file was written (the file's own stamp is clock ticks since boot, not a date).
        last_log = self.log_file.stat().st_mtime if self.log_file.exists() else None
        with contextlib.suppress(OSError):
            record = {
                "pid": pid,
                "started": self.pid_file.stat().st_mtime,
                "last_log": last_log,
                "noticed": time.time(),
            }
            fd = os.open(self.exit_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(record, handle)

    def unexpected_exit(self) -> UnexpectedExit | None:
        """The last time this process exited without `stop`, until `forget_exit` (a planned `down`)."""
        try:
            record = json.loads(self.exit_file.read_text())
            return UnexpectedExit(
                pid=int(record["pid"]),
                started=float(record["started"]),
                last_log=None if record.get("last_log") is None else float(record["last_log"]),
                noticed=float(record["noticed"]),
            )
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def forget_exit(self) -> None:
        self.exit_file.unlink(missing_ok=True)

    def start(self, command: Sequence[str], env: Mapping[str, str], cwd: Path | None = None, header: str = "") -> int:
        self.pid_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.log_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Logs hold prompts and answers: only the owner reads them.
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.chmod(self.log_file, 0o600)
        with os.fdopen(fd, "ab") as log, ctrl_c_held():
            log.write(header.encode())
            log.flush()
            # A new session: the process outlives `invoke up` and gets no Ctrl-C from its terminal.
            process = subprocess.Popen(
                list(command),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # What it creates (Phoenix's database and its -wal/-shm, Alloy's queue) holds traces.
                umask=PRIVATE_UMASK,
            )
            write_pid_file(self.pid_file, process.pid)
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


@contextlib.contextmanager
def ctrl_c_held() -> Iterator[None]:
    """A Ctrl-C that arrives while a process is spawned and its PID recorded is raised once both are done: raised
    in between, the process would run on with no PID file, and the undo that follows (`up` stops what it
    started) could not find it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        if callable(previous):
            previous(signal.SIGINT, None)  # Python's own handler raises KeyboardInterrupt
        elif previous == signal.SIG_DFL:
            signal.raise_signal(signal.SIGINT)


def write_pid_file(path: Path, pid: int) -> None:
    """The PID and its creation stamp (0600), written whole, then renamed into place: a reader never finds the
    file empty or half written (and takes the process for gone)."""
    partial = path.with_suffix(".pid.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{pid} {creation_stamp(pid)}\n")
    os.replace(partial, path)


def creation_stamp(pid: int) -> str:
    """When the process started; "" if it is gone.

    On Linux the kernel's start time in clock ticks since boot (`/proc/PID/stat`, field 22): psutil's
    `create_time()` adds the boot time computed from the wall clock, so a clock step (NTP, a virtual machine
    restored from a snapshot) would change every stamp and make every running process look like a stranger.
    Elsewhere psutil's creation time (seconds since the epoch, 2 decimals).
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return ""
    except OSError:
        pass
    else:
        # The command name (field 2) is in parentheses and may hold spaces: count fields after the last ")".
        return "ticks:" + stat.rpartition(")")[2].split()[19]
    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return ""


def started_as(pid: int, stamp: str) -> bool:
    """True when `pid` is the process whose creation stamp was `stamp` (not a recycled PID)."""
    if stamp.startswith("ticks:"):
        return creation_stamp(pid) == stamp
    # A PID file written before stamps were clock ticks: psutil's creation time, as it was then.
    try:
        return f"{psutil.Process(pid).create_time():.2f}" == stamp
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (a dead child of ours is reaped here)."""
    with contextlib.suppress(ChildProcessError):
        waited_pid, _ = os.waitpid(pid, os.WNOHANG)
        if waited_pid == pid:
            return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def describe(pid: int) -> str:
    """'pid 123 (cmd ...)' for messages naming who holds something."""
    try:
        command = " ".join(psutil.Process(pid).cmdline()) or psutil.Process(pid).name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return f"pid {pid}"
    return f"pid {pid} ({command[:80]})"


def _signal_group(pid: int, signum: int) -> None:
    # The process leads its own session (start_new_session), so its group is exactly what we started.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)
