"""The native runtime's process supervisor: one supervisord per state folder runs every native component.

supervisord (the `supervisor` package) restarts a component that exits with a backoff, gives up on a start that
keeps failing (FATAL), and rotates the logs: what `restart: unless-stopped` does on docker. It is started by the
first component's start, its PID recorded with its creation stamp (`stackkit.core.processes.ManagedProcess`), and shut
down, by that PID, once the last component is stopped. It is controlled through a unix socket in the state folder
(0600, in the 0700 run folder); its configuration (0600) holds commands and paths, never an environment: each
component reads its rendered env file at each start (`stackkit.runtimes.supervised_start`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

from stackkit.core.errors import OperationFailed
from stackkit.core.processes import PRIVATE_UMASK, ManagedProcess, UnexpectedExit, alive

# A start is good once the process has run this long (a Python component under load takes more than a second
# just to fail its imports); a start that fails this many times in a row is given up (FATAL). An exit after a good
# start is restarted at once (supervisord's next tick, within a second), whatever happened before.
START_SECONDS = 10
START_RETRIES = 3
STOP_GRACE_SECONDS = 20  # SIGTERM, then SIGKILL (Phoenix drops what it still queues 5 s after SIGTERM)
LOG_MAX_BYTES = "20MB"
LOG_BACKUPS = 3
# A unix socket's path is at most 107 bytes; a deeper state folder gets its socket in a private temp folder.
_SOCKET_PATH_LIMIT = 100
# UNSUPERVISED: supervisord is gone (killed) but the component it ran still does (known by its PID file).
_RUNNING_STATES = ("STARTING", "RUNNING", "BACKOFF", "UNSUPERVISED")
# supervisord's own log lines: "2026-12-07 20:04:32,117 INFO spawned: 'demo' with pid 25254" and
# "2026-12-07 20:04:33,628 WARN exited: demo (terminated by SIGKILL; not expected)".
_EVENT_LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(?P<ms>\d+) \w+ "
    r"(?:spawned: '(?P<spawned>[^']+)' with pid \d+|exited: (?P<exited>\S+) \((?P<how>.*)\))$"
)


@dataclass(frozen=True)
class Program:
    """One component as supervisord runs it."""

    name: str
    command: Sequence[str]
    env_file: Path
    cwd: Path


@dataclass(frozen=True)
class LastExit:
    at: str  # supervisord's own time stamp, local time
    how: str  # e.g. "terminated by SIGKILL; not expected"
    stamp: float  # the same, in seconds since the epoch


@dataclass(frozen=True)
class ProgramState:
    """What supervisord says of one program, and the starts its own log records since the task started it."""

    name: str
    state: str  # supervisord's state name, or "ABSENT" (not configured, or no supervisord)
    pid: int | None
    starts: tuple[float, ...]
    spawn_error: str
    last_exit: LastExit | None

    @property
    def running(self) -> bool:
        return self.state in _RUNNING_STATES

    @property
    def given_up(self) -> bool:
        return self.state == "FATAL"

    @property
    def restarts(self) -> int:
        return max(0, len(self.starts) - 1)

    def describe(self) -> str:
        """'pid 123', 'pid 123, restarted 2 times, last at 20:01:03', 'restarting (backoff)', 'given up ...'."""
        restarted = ""
        if self.restarts:
            times = "time" if self.restarts == 1 else "times"
            restarted = f", restarted {self.restarts} {times}, last at {_clock(self.starts[-1])}"
        if self.given_up:
            why = f"; last exit: {self.last_exit.how} at {self.last_exit.at}" if self.last_exit else ""
            return f"given up by supervisord after {len(self.starts)} starts (FATAL{why})"
        if self.state == "BACKOFF":
            return f"restarting (backoff after {len(self.starts)} starts)"
        if self.state == "UNSUPERVISED":
            return f"pid {self.pid}, unsupervised: supervisord is gone, nothing restarts it"
        if self.state == "STARTING" and self.pid:
            return f"pid {self.pid}, starting{restarted}"
        if self.pid:
            return f"pid {self.pid}{restarted}"
        return self.state.lower()


def _clock(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def _conf_value(text: str) -> str:
    return text.replace("%", "%%")  # supervisord expands %(name)s in values


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


class Supervisor:
    """The supervisord of one state folder (run_dir holds its socket, configuration and PID file)."""

    def __init__(self, run_dir: Path, logs_dir: Path):
        self.run_dir = run_dir
        self.logs_dir = logs_dir
        self.conf = run_dir / "supervisord.conf"
        self.programs_dir = run_dir / "supervisor"
        self.daemon = ManagedProcess("supervisord", run_dir / "supervisord.pid", logs_dir / "supervisord.out")
        self.log_file = logs_dir / "supervisord.log"

    # --- paths ---------------------------------------------------------------------------------------------

    @property
    def socket(self) -> Path:
        near = self.run_dir / "supervisor.sock"
        if len(str(near)) <= _SOCKET_PATH_LIMIT:
            return near
        digest = hashlib.sha256(str(self.run_dir.resolve()).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"stackkit-{os.getuid()}" / f"{digest}.sock"

    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def since_file(self, name: str) -> Path:
        """When a task last started the program: supervisord's spawns from then on are its restarts."""
        return self.run_dir / f"{name}.since"

    def log_of(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    # --- supervisord itself --------------------------------------------------------------------------------

    def pid(self) -> int | None:
        return self.daemon.pid()

    def unexpected_exit(self) -> UnexpectedExit | None:
        return self.daemon.unexpected_exit()

    def forget_exit(self) -> None:
        self.daemon.forget_exit()

    def _rpc(self) -> Any:
        """supervisord's XML-RPC namespace (its answers are untyped XML-RPC values)."""
        transport = SupervisorTransport(None, None, serverurl=f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def _answers(self) -> bool:
        try:
            return self._rpc().getState()["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Error):
            return False

    def _write_conf(self) -> None:
        for folder in (self.run_dir, self.logs_dir, self.programs_dir, self.socket.parent):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        _write_private(
            self.conf,
            "\n".join(
                [
                    "; Written by stackkit for this state folder: commands and paths only, no environment.",
                    "[unix_http_server]",
                    f"file={_conf_value(str(self.socket))}",
                    "chmod=0600",
                    "[supervisord]",
                    "nodaemon=true",
                    f"logfile={_conf_value(str(self.log_file))}",
                    "logfile_maxbytes=1MB",
                    "logfile_backups=2",
                    f"pidfile={_conf_value(str(self.programs_dir / 'supervisord.pid'))}",
                    f"umask={PRIVATE_UMASK:03o}",
                    "[rpcinterface:supervisor]",
                    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
                    "[include]",
                    f"files={_conf_value(str(self.programs_dir))}/*.conf",
                    "",
                ]
            ),
        )

    def ensure_running(self, env: Mapping[str, str], timeout: float = 30.0) -> None:
        """Start supervisord unless ours runs already; wait until its socket answers."""
        if self.pid() is not None and self._answers():
            return
        if self.pid() is None:
            self._write_conf()
            self.socket.unlink(missing_ok=True)
            self.daemon.start(
                [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.conf)],
                env,
                cwd=self.run_dir,
                header=f"--- stackkit: starting supervisord at {_clock(time.time())}\n",
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._answers():
                return
            if self.pid() is None:
                break
            time.sleep(0.1)
        tail = _tail(self.daemon.log_file, 20)
        self.daemon.stop()
        raise OperationFailed(
            f"supervisord (the native runtime's process supervisor) did not answer on {self.socket}; "
            f"its last lines ({self.daemon.log_file}):\n" + "\n".join(tail)
        )

    def shutdown(self, timeout: float = STOP_GRACE_SECONDS + 10) -> bool:
        """Stop supervisord by its recorded PID (it stops what it still runs first); True when it ran."""
        pid = self.pid()
        if pid is None:
            return False
        try:
            self._rpc().shutdown()
        except (OSError, xmlrpc.client.Error):
            timeout = 0  # it does not answer: SIGTERM by its PID below
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.1)
        if alive(pid):
            self.daemon.stop()  # SIGTERM then SIGKILL, by PID: it did not exit on its own
        self.daemon.pid_file.unlink(missing_ok=True)  # a planned stop: not an unexpected exit
        self.socket.unlink(missing_ok=True)
        return True

    # --- programs ------------------------------------------------------------------------------------------

    def _program_conf(self, program: Program) -> str:
        launcher = [
            sys.executable,
            "-m",
            "stackkit.runtimes.supervised_start",
            "--name",
            program.name,
            "--env-file",
            str(program.env_file),
            "--pid-file",
            str(self.pid_file(program.name)),
            "--",
            *program.command,
        ]
        log = str(self.log_of(program.name))
        return "\n".join(
            [
                f"[program:{program.name}]",
                f"command={_conf_value(shlex.join(launcher))}",
                f"directory={_conf_value(str(program.cwd))}",
                "autostart=false",
                "autorestart=true",
                f"startsecs={START_SECONDS}",
                f"startretries={START_RETRIES}",
                "stopsignal=TERM",
                f"stopwaitsecs={STOP_GRACE_SECONDS}",
                # Each component leads its own process group: a stop reaches what it started too.
                "stopasgroup=true",
                "killasgroup=true",
                f"umask={PRIVATE_UMASK:03o}",
                "redirect_stderr=true",
                f"stdout_logfile={_conf_value(log)}",
                f"stdout_logfile_maxbytes={LOG_MAX_BYTES}",
                f"stdout_logfile_backups={LOG_BACKUPS}",
                "",
            ]
        )

    def start(self, program: Program, env: Mapping[str, str]) -> None:
        """(Re)configure the program and start it without waiting (the caller waits for its health)."""
        self.ensure_running(env)
        _write_private(self.programs_dir / f"{program.name}.conf", self._program_conf(program))
        rpc = self._rpc()
        added, changed, _removed = rpc.reloadConfig()[0]
        if program.name in changed:
            with contextlib.suppress(xmlrpc.client.Fault):
                rpc.stopProcessGroup(program.name)
            rpc.removeProcessGroup(program.name)
        if program.name in added or program.name in changed:
            rpc.addProcessGroup(program.name)
        if self.state(program.name).running:
            return
        _write_private(self.since_file(program.name), f"{time.time()}\n")  # restarts are counted from now on
        try:
            rpc.startProcess(program.name, False)
        except xmlrpc.client.Fault as fault:
            raise OperationFailed(f"supervisord could not start {program.name}: {fault.faultString}") from fault

    def stop(self, name: str) -> bool:
        """Stop the program (SIGTERM to its group, SIGKILL after the grace) and forget it; supervisord itself
        is shut down once it runs nothing. True when the program was running."""
        if self.pid() is None:
            return self._orphan(name).stop(grace_seconds=STOP_GRACE_SECONDS)  # by its PID file, if it outlived us
        was_running = self.state(name).running
        rpc = self._rpc()
        try:
            with contextlib.suppress(xmlrpc.client.Fault):
                rpc.stopProcess(name, True)
            with contextlib.suppress(xmlrpc.client.Fault):
                rpc.removeProcessGroup(name)
            left = rpc.getAllProcessInfo()
        except OSError:
            left = []  # it does not answer (interrupted while it started): shut it down by its PID
        (self.programs_dir / f"{name}.conf").unlink(missing_ok=True)
        self.pid_file(name).unlink(missing_ok=True)
        self.since_file(name).unlink(missing_ok=True)
        if not left:
            self.shutdown()
        return was_running

    def _orphan(self, name: str) -> ManagedProcess:
        """The component as its PID file knows it (creation stamp checked): what outlives a killed supervisord."""
        return ManagedProcess(name, self.pid_file(name), self.log_of(name))

    def state(self, name: str) -> ProgramState:
        if self.pid() is None:
            orphan = self._orphan(name).pid() if self.pid_file(name).exists() else None
            return ProgramState(name, "UNSUPERVISED" if orphan else "ABSENT", orphan, (), "", None)
        try:
            info = self._rpc().getProcessInfo(name)
        except xmlrpc.client.Fault:
            return ProgramState(name, "ABSENT", None, (), "", None)
        except OSError:
            return ProgramState(name, "UNKNOWN", None, (), "supervisord does not answer", None)
        assert isinstance(info, dict)
        starts, last_exit = self._history(name)
        return ProgramState(
            name=name,
            state=str(info["statename"]),
            pid=int(info["pid"]) or None,
            starts=starts,
            spawn_error=str(info.get("spawnerr") or ""),
            last_exit=last_exit,
        )

    def _history(self, name: str) -> tuple[tuple[float, ...], LastExit | None]:
        """From supervisord's log (its rotated parts too): when it spawned the program since the task started
        it, and how the program last ended."""
        try:
            since = float(self.since_file(name).read_text())
        except (FileNotFoundError, ValueError):
            return (), None
        starts: list[float] = []
        last_exit = None
        backups = [self.log_file.with_name(f"{self.log_file.name}.{n}") for n in (2, 1)]
        for path in (*backups, self.log_file):
            for line in _tail(path, 0):
                match = _EVENT_LINE.match(line)
                if not match or name not in (match["spawned"], match["exited"]):
                    continue
                at = time.mktime(time.strptime(match["at"], "%Y-%m-%d %H:%M:%S")) + int(match["ms"]) / 1000
                if at < since:
                    continue
                if match["spawned"]:
                    starts.append(at)
                else:
                    last_exit = LastExit(at=match["at"], how=match["how"], stamp=at)
        return tuple(starts), last_exit


def _tail(path: Path, count: int) -> list[str]:
    """The last `count` lines of the file (all of them for 0); [] when it does not exist."""
    try:
        with open(path, errors="replace") as handle:
            return handle.read().splitlines()[-count:] if count else handle.read().splitlines()
    except FileNotFoundError:
        return []
