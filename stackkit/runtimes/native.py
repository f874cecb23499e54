"""The native runtime: no Docker. Phoenix and the demo run from this Python; the fan-out from its binary; each
under the state folder's supervisord (stackkit.runtimes.supervision), which restarts what exits and gives up on a start
that keeps failing."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from stackkit.components import registry as components
from stackkit.components.component import Plan
from stackkit.core import envfile
from stackkit.core.settings import SPECS_BY_NAME, Settings
from stackkit.runtimes.base import ComponentState, RuntimeUnavailable
from stackkit.runtimes.render import ENV_DIR
from stackkit.runtimes.supervision import Program, ProgramState, Supervisor

# Variables of ours that must not leak from the invoking shell into a component's environment.
_FOREIGN_PREFIXES = ("PHOENIX_", "AI_DEMO_", "OTEL_", "ALLOY_", "OTELCOL_")


class NativeRuntime:
    name = "native"

    def __init__(self, settings: Settings):
        self.settings = settings

    @property
    def supervisor(self) -> Supervisor:
        return Supervisor(self.settings.run_dir, self.settings.logs_dir)

    def supervised(self, component: str) -> ProgramState:
        """What supervisord says of the component: its state, PID, restarts, last exit."""
        return self.supervisor.state(component)

    def pid(self, component: str) -> int | None:
        """The component's PID while it runs, else None."""
        found = self.supervised(component)
        return found.pid if found.running else None

    def check_available(self) -> None:
        needed = ["supervisor", *(module for component in components.ALL for module in component.native_modules)]
        missing = [module for module in needed if importlib.util.find_spec(module) is None]
        if missing:
            raise RuntimeUnavailable(
                f"the native runtime needs {', '.join(missing)} in this Python ({sys.executable}): "
                "run `python3 bootstrap.py` (or `pip install -e '.[stack]'` in this environment)"
            )

    def component_available(self, component: str) -> str | None:
        return components.get(component).native_missing(self.settings)

    def prepare(self, plan: Plan) -> None:
        data = [path for component in components.ALL if (path := component.data_path(self.settings))]
        for folder in (self.settings.run_dir, self.settings.logs_dir, *data):
            envfile.make_private_dir(folder)

    def command(self, component: str) -> list[str]:
        return components.get(component).native_command(self.settings)

    def base_environment(self) -> dict[str, str]:
        """What supervisord, and so every component, inherits: the invoking shell without the stack's settings.
        Each component adds its rendered env file at each start (stackkit.runtimes.supervised_start)."""
        return {
            key: value
            for key, value in os.environ.items()
            if key not in SPECS_BY_NAME and not key.startswith(_FOREIGN_PREFIXES)
        }

    def env_file(self, component: str) -> Path:
        return self.settings.rendered_dir / ENV_DIR / f"{component}.env"

    def environment(self, component: str) -> dict[str, str]:
        """The environment the component runs with (for what runs it outside supervisord, e.g. the benchmarks)."""
        return {**self.base_environment(), **envfile.read(self.env_file(component))}

    def start(self, component: str, plan: Plan) -> None:
        program = Program(component, self.command(component), self.env_file(component), self.settings.state_dir)
        self.supervisor.start(program, self.base_environment())

    def stop(self, component: str, remove_data: bool = False) -> bool:
        stopped = self.supervisor.stop(component)
        data = components.get(component).data_path(self.settings)
        if remove_data and data is not None:
            shutil.rmtree(data, ignore_errors=True)
        return stopped

    def remove_network(self) -> bool:
        return False  # processes share the host's loopback: nothing to remove

    def state(self, component: str) -> ComponentState:
        found = self.supervised(component)
        if found.running:
            return ComponentState(True, found.describe())
        return ComponentState(False, found.describe() if found.given_up else "not running")

    def logs(self, component: str, tail: int = 100, follow: bool = False) -> Iterator[str]:
        log_file = self.supervisor.log_of(component)
        if not log_file.exists():
            return
        yield from _tail(log_file, tail)
        if follow:
            yield from _follow(log_file)


def _tail(path: Path, count: int) -> list[str]:
    with open(path, errors="replace") as handle:
        lines = handle.read().splitlines()
    return lines[-count:] if count > 0 else []


def _follow(path: Path) -> Iterator[str]:
    with open(path, errors="replace") as handle:
        handle.seek(0, os.SEEK_END)
        while True:
            line = handle.readline()
            if line:
                yield line.rstrip("\n")
            else:
                time.sleep(0.25)
