"""Tests isolated from the developer's own stack: a fresh state folder, free ports, no .env read, and the
user's commands run against it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from stackkit.core.ports import free_ports
from stackkit.core.settings import HOST_PORT_SETTINGS, REPO_ROOT, Settings, load_settings


def isolated_environ(state_dir: Path, **overrides: str) -> dict[str, str]:
    """An environment for load_settings: a fresh state folder, free ports, no .env of the developer's."""
    empty_env_file = state_dir.parent / f"{state_dir.name}.env"
    empty_env_file.touch()
    environ = {
        "STACK_ENV_FILE": str(empty_env_file),
        "STACK_STATE_DIR": str(state_dir),
        "STACK_RUNTIME": "native",
    }
    environ |= dict(zip(HOST_PORT_SETTINGS, map(str, free_ports(len(HOST_PORT_SETTINGS))), strict=True))
    environ |= overrides
    return environ


def isolated_settings(state_dir: Path, **overrides: str) -> Settings:
    return load_settings(environ=isolated_environ(state_dir, **overrides))


def invoke(environ: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        env={**os.environ, **environ},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
