"""A Docker engine for tests and CI: use the one that answers, else start `dockerd` and stop only that.

The Debian packages the docker path needs (engine, Compose v1, debootstrap) are declared, and installed, by
tools.system_packages (session `smoke_docker`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import docker

from stackkit.core.errors import OperationFailed
from stackkit.core.output import Printer
from stackkit.core.processes import alive
from tools import system_packages

DEFAULT_LOG_FILE = Path("~/.cache/stackkit/dockerd.log")


class EngineUnavailable(OperationFailed):
    """No engine answers and none can be started here; the message says why."""


def engine_answers(timeout: float = 3.0) -> bool:
    try:
        client = docker.from_env(timeout=timeout)
    except docker.errors.DockerException:
        return False
    try:
        return bool(client.ping())
    except Exception:  # connection refused, no socket, bad permissions: all mean "not usable"
        return False
    finally:
        client.close()


@dataclass
class EngineHandle:
    """The engine in use; `pid` is set only when we started it, and only then does stop() do anything."""

    pid: int | None = None
    log_file: Path | None = None

    @property
    def started_by_us(self) -> bool:
        return self.pid is not None

    def stop(self, grace_seconds: float = 60.0) -> bool:
        """SIGTERM our dockerd (it stops its containers and containerd first), SIGKILL after the grace."""
        if self.pid is None:
            return False
        pid, self.pid = self.pid, None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while alive(pid):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        return True


def ensure_engine(log_file: Path = DEFAULT_LOG_FILE, timeout: float = 60.0, out: Printer = print) -> EngineHandle:
    """The engine that answers, or a `dockerd` started now (root only); raises EngineUnavailable."""
    if engine_answers():
        return EngineHandle()
    program = system_packages.BY_NAME["dockerd"]
    dockerd = program.locate()
    if dockerd is None:
        raise EngineUnavailable(f"no Docker engine answers and `dockerd` is not installed ({program.how_to_install})")
    if os.geteuid() != 0:
        raise EngineUnavailable("no Docker engine answers and starting `dockerd` needs root")
    log_file = log_file.expanduser()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log_file, "ab") as log:
        # Own session: the engine outlives nothing by accident and gets no Ctrl-C from our terminal.
        process = subprocess.Popen(
            [dockerd], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    handle = EngineHandle(pid=process.pid, log_file=log_file)
    deadline = started + timeout
    while not engine_answers(timeout=1.0):
        if process.poll() is not None or time.monotonic() > deadline:
            handle.stop()
            tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-15:])
            raise EngineUnavailable(f"dockerd did not answer within {timeout:g}s; end of {log_file}:\n{tail}")
        time.sleep(0.25)
    out(f"[{time.monotonic() - started:5.1f}s] started dockerd (pid {process.pid}, log {log_file})")
    return handle
