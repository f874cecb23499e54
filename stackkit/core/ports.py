"""Host port preflight: is a port free, and if not, who holds it."""

from __future__ import annotations

import errno
import os
import random
import socket
from collections.abc import Iterable
from typing import Protocol

import psutil

from stackkit.core.processes import describe


class NeedsPorts(Protocol):
    """What asks for host ports (a component): the names of its port settings."""

    @property
    def port_settings(self) -> tuple[str, ...]: ...


def is_free(port: int) -> bool:
    """True when nothing listens on the port (on any address), so a server can bind it."""
    for family, address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            # Lets a port in TIME_WAIT count as free, as the servers we start do; a listener still clashes.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((address, port))
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return False
                if error.errno in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                    continue
                raise
    return True


def holder(port: int) -> str | None:
    """'pid 123 (cmd ...)' for the process listening on the port, when this user may see it."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return "a process this user cannot inspect"
    for connection in connections:
        if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port:
            return describe(connection.pid) if connection.pid else "a process this user cannot inspect"
    return None


def busy(settings_ports: dict[str, int], wanted: Iterable[NeedsPorts]) -> list[str]:
    """One line per host port the given components need that something else holds, naming the holder."""
    problems = []
    for component in wanted:
        for setting in component.port_settings:
            port = settings_ports[setting]
            if not is_free(port):
                held_by = holder(port) or "another process"
                problems.append(
                    f"{setting}={port} is already in use by {held_by}: stop it, or set {setting} to a free one"
                )
    return problems


# Parallel test workers (pytest-xdist names each PYTEST_XDIST_WORKER=gw<N>) draw free ports from their own slice
# below Linux's ephemeral range (32768-60999, where bind(0) and every client socket take theirs): two workers never
# pick the same port between choosing it and a component binding it, seconds later.
_SLICES_START = 20000
_SLICE_SIZE = 1500
_SLICES = 8
_cursor: list[int] = []  # this process's next candidate in its slice


def free_ports(count: int) -> list[int]:
    """Distinct ports that are free right now (for tests and the smoke run, never the user's ports)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and worker[2:].isdigit():
        return _free_in_slice(int(worker[2:]) % _SLICES, count)
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    chosen = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return chosen


def _free_in_slice(index: int, count: int) -> list[int]:
    """Ports of the slice in turn (from a random place, so a process started later in the same slice does not
    retrace its predecessor's), each checked free."""
    first = _SLICES_START + index * _SLICE_SIZE
    if not _cursor:
        _cursor.append(random.randrange(_SLICE_SIZE))
    chosen: list[int] = []
    for _ in range(_SLICE_SIZE):
        port = first + _cursor[0] % _SLICE_SIZE
        _cursor[0] += 1
        if is_free(port):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise OSError(f"fewer than {count} free ports in {first}-{first + _SLICE_SIZE - 1}")
