"""Host port preflight: is a port free, and if not, who holds it."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

_LISTEN = "0A"


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


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == _LISTEN:
                inodes.add(fields[9])
    return inodes


def holder(port: int) -> str | None:
    """'pid 123 (cmd ...)' for the process listening on the port, when /proc lets us see it."""
    inodes = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not inodes:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in fds):
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                return f"pid {pid} ({command[:80]})"
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return "a process this user cannot inspect"


def free_ports(count: int) -> list[int]:
    """Distinct ports that are free right now (for tests and the smoke run, never the user's ports)."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    chosen = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return chosen
