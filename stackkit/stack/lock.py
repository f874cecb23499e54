"""One task at a time changes a stack: an exclusive lock on the state folder, naming its holder.

A second `invoke up` (or down, restart, ...) waits briefly for the first, then says which task holds the
lock instead of racing it. The operating system releases the lock when its holder exits, however it exits.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stackkit.core.errors import OperationFailed

LOCK_FILE = "lock"
WAIT_SECONDS = 10.0


class StackBusy(OperationFailed):
    """Another task holds the state folder's lock."""


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        text = ""
    return text or "another task (it did not say which)"


@contextmanager
def held(state_dir: Path, wait_seconds: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the state folder's lock for the duration of the block; StackBusy when another task keeps it."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = state_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StackBusy(
                        f"another task is changing the stack in {state_dir}: {_holder(path)}. "
                        "Wait for it to finish, then run this again"
                    ) from None
                time.sleep(0.2)
        command = " ".join(["invoke", *sys.argv[1:]]) if sys.argv else "invoke"
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({command}), since {time.strftime('%H:%M:%S')}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
