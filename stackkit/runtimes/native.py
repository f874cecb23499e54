"""The native runtime: no Docker. Phoenix and the demo run from this Python; Alloy from an `alloy` binary."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from dotenv import dotenv_values

from stackkit.processes import ManagedProcess
from stackkit.render import ENV_DIR, Plan
from stackkit.runtimes.base import ComponentState, RuntimeUnavailable
from stackkit.settings import SPECS_BY_NAME, Settings

# Variables of ours that must not leak from the invoking shell into a component's environment.
_FOREIGN_PREFIXES = ("PHOENIX_", "AI_DEMO_", "OTEL_", "ALLOY_")


class NativeRuntime:
    name = "native"

    def __init__(self, settings: Settings):
        self.settings = settings

    def process(self, component: str) -> ManagedProcess:
        return ManagedProcess(
            name=component,
            pid_file=self.settings.run_dir / f"{component}.pid",
            log_file=self.settings.logs_dir / f"{component}.log",
        )

    def check_available(self) -> None:
        missing = [module for module in ("phoenix", "uvicorn", "fastapi") if importlib.util.find_spec(module) is None]
        if missing:
            raise RuntimeUnavailable(
                f"the native runtime needs {', '.join(missing)} in this Python ({sys.executable}): "
                "run `pip install -e '.[stack]'`"
            )

    def component_available(self, component: str) -> str | None:
        if component == "alloy" and shutil.which("alloy") is None:
            return "no `alloy` binary on PATH; the demo exports straight to Phoenix's /v1/traces"
        return None

    def prepare(self, plan: Plan) -> None:
        for folder in (self.settings.run_dir, self.settings.logs_dir, self.settings.data_dir / "phoenix"):
            folder.mkdir(parents=True, exist_ok=True)

    def command(self, component: str) -> list[str]:
        settings = self.settings
        if component == "phoenix":
            return [sys.executable, "-m", "phoenix.server.main", "serve"]
        if component == "alloy":
            return [
                shutil.which("alloy") or "alloy",
                "run",
                str(settings.rendered_dir / "grafana-alloy"),
                f"--server.http.listen-addr=127.0.0.1:{settings.alloy_ui_port}",
                f"--storage.path={settings.data_dir / 'alloy'}",
            ]
        if component == "ai-demo":
            return [
                sys.executable,
                "-m",
                "uvicorn",
                "ai_demo.app:app",
                "--app-dir",
                str(settings.repo_root / "services" / "ai-demo"),
                "--host",
                "127.0.0.1",
                "--port",
                str(settings.ai_demo_port),
            ]
        raise ValueError(f"unknown component {component!r}")

    def environment(self, component: str) -> dict[str, str]:
        base = {
            key: value
            for key, value in os.environ.items()
            if key not in SPECS_BY_NAME and not key.startswith(_FOREIGN_PREFIXES)
        }
        rendered = self.settings.rendered_dir / ENV_DIR / f"{component}.env"
        base.update({key: value or "" for key, value in dotenv_values(rendered).items()})
        return base

    def start(self, component: str, plan: Plan) -> None:
        process = self.process(component)
        if process.pid() is not None:
            return
        process.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(process.log_file, "a") as log:
            log.write(f"--- stackkit: starting {component} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        process.start(self.command(component), self.environment(component), cwd=self.settings.state_dir)

    def stop(self, component: str, remove_data: bool = False) -> bool:
        stopped = self.process(component).stop()
        if remove_data and component == "phoenix":
            shutil.rmtree(self.settings.data_dir / "phoenix", ignore_errors=True)
        if remove_data and component == "alloy":
            shutil.rmtree(self.settings.data_dir / "alloy", ignore_errors=True)
        return stopped

    def state(self, component: str) -> ComponentState:
        pid = self.process(component).pid()
        if pid is None:
            return ComponentState(False, "not running")
        return ComponentState(True, f"pid {pid}")

    def logs(self, component: str, tail: int = 100, follow: bool = False) -> Iterator[str]:
        log_file = self.process(component).log_file
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
