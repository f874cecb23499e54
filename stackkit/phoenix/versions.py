"""The Python environment a native Phoenix runs from: one per PHOENIX_VERSION, owned by the stack.

So PHOENIX_VERSION means the same natively as on docker (the image tag), and an upgrade never touches the
user's environment. The stack's own environment (this Python) is used when it already has the pinned
version, which keeps the quickstart's first start fast; any other version gets its own environment under
~/.cache/stackkit/phoenix/<version> (0700), created with uv on first use and reused after.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from stackkit.core.errors import OperationFailed
from stackkit.core.setting_values import PHOENIX_NAME
from stackkit.core.settings import REPO_ROOT, Settings

CACHE_VARIABLE = "STACKKIT_PHOENIX_ENVS"  # another folder for the environments (tests, shared caches)
INSTALL_TIMEOUT = 900.0


class PhoenixEnvError(OperationFailed):
    """An environment for a Phoenix version could not be created."""


def cache_root() -> Path:
    named = os.environ.get(CACHE_VARIABLE, "").strip()
    return Path(named).expanduser() if named else Path.home() / ".cache" / "stackkit" / PHOENIX_NAME


def own_version() -> str | None:
    try:
        return metadata.version("arize-phoenix")
    except metadata.PackageNotFoundError:
        return None


def env_dir(version: str) -> Path:
    return cache_root() / version


def find_uv() -> str | None:
    """uv on PATH, else the one next to this Python or in the repository's .venv (as bootstrap.py puts it)."""
    for candidate in (shutil.which("uv"), Path(sys.executable).parent / "uv", REPO_ROOT / ".venv" / "bin" / "uv"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def python_for(version: str) -> str:
    """The Python that runs Phoenix `version`, without creating anything; may not exist yet."""
    if own_version() == version:
        return sys.executable
    return str(env_dir(version) / "bin" / "python")


def installed_version(python: str) -> str | None:
    if python == sys.executable:
        return own_version()
    done = subprocess.run(
        [python, "-c", "from importlib.metadata import version; print(version('arize-phoenix'))"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() if done.returncode == 0 else None


# The console script Phoenix's package installs beside its Python (`phoenix serve`): named as the component.
SERVER_PROGRAM = PHOENIX_NAME


def server_program(version: str) -> Path:
    """`phoenix`, the server's own command, of PHOENIX_VERSION's environment (created on first use)."""
    return Path(ensure(version)).parent / SERVER_PROGRAM


def ensure(version: str, out: Callable[[str], None] = print) -> str:
    """The Python that runs Phoenix `version`, creating its environment on first use."""
    python = python_for(version)
    if Path(python).exists() and installed_version(python) == version:
        return python
    uv = find_uv()
    if uv is None:
        raise PhoenixEnvError(
            f"PHOENIX_VERSION={version} needs its own environment and uv creates it, but uv is not installed: "
            "run `python bootstrap.py` (it installs uv into .venv) or `pip install uv`"
        )
    target = env_dir(version)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(target.parent, 0o700)
    out(f"phoenix: creating the environment for Phoenix {version} in {target} (once; a minute or two)")
    # Compiled once here: where PYTHONDONTWRITEBYTECODE=1, every start would compile Phoenix's imports again.
    install = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(target / "bin" / "python")]
    steps = (
        [uv, "venv", "--quiet", "--python", sys.executable, str(target)],
        [*install, f"arize-phoenix[pg]=={version}"],
    )
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise PhoenixEnvError(
                f"creating the environment for Phoenix {version} took over {INSTALL_TIMEOUT:g}s"
            ) from None
        if done.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            reason = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
            raise PhoenixEnvError(
                f"PHOENIX_VERSION={version}: could not install arize-phoenix=={version} ({reason[0][:200]}); "
                "check the version exists on PyPI"
            )
    os.chmod(target, 0o700)
    return str(target / "bin" / "python")


def python_for_settings(settings: Settings) -> str:
    return python_for(settings.phoenix_version)
