"""The state folder is private: it holds traces (the database, backups, logs) and secrets (secrets.env, the
rendered env files). Every folder in it is 0700 and every file 0600, whoever wrote it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def _entries(state_dir: Path) -> list[Path]:
    """The state folder and everything under it, without following symbolic links."""
    if not state_dir.is_dir():
        return []
    found = [state_dir]
    for root, dirs, files in os.walk(state_dir):
        found += [Path(root) / name for name in (*dirs, *files)]
    return found


def _wanted(mode: int) -> int | None:
    if stat.S_ISDIR(mode):
        return PRIVATE_DIR_MODE
    if stat.S_ISREG(mode):
        return PRIVATE_FILE_MODE
    return None  # a symbolic link, a socket: its mode means nothing here


def too_open(state_dir: Path) -> list[tuple[Path, int, int]]:
    """(path, its mode, the mode it should have) for each entry other users can read or write."""
    problems = []
    for path in _entries(state_dir):
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue  # removed while walking (a -shm file, a PID file)
        wanted = _wanted(mode)
        if wanted is not None and stat.S_IMODE(mode) & 0o077:
            problems.append((path, stat.S_IMODE(mode), wanted))
    return problems


def tighten(state_dir: Path) -> list[Path]:
    """Take group and others' access away from everything in the state folder; the paths changed."""
    changed = []
    for path, mode, wanted in too_open(state_dir):
        try:
            os.chmod(path, (mode & ~0o077) | (wanted & 0o700))
        except FileNotFoundError:
            continue
        changed.append(path)
    return changed
