"""Shared fixtures: settings isolated in a temporary state folder on free ports, and a real Phoenix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stackkit.health import wait_healthy
from stackkit.phoenix_api import PhoenixClient
from stackkit.ports import free_ports
from stackkit.render import Plan, render
from stackkit.runtimes.native import NativeRuntime
from stackkit.settings import HOST_PORT_SETTINGS, Settings, load_settings


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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return isolated_settings(tmp_path / "state")


@pytest.fixture(scope="session")
def phoenix_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return isolated_settings(tmp_path_factory.mktemp("phoenix") / "state")


@pytest.fixture(scope="session")
def phoenix(phoenix_settings: Settings) -> Iterator[PhoenixClient]:
    """One real Phoenix (auth off, SQLite) for the whole test session, stopped by its PID afterwards."""
    runtime = NativeRuntime(phoenix_settings)
    plan = Plan(runtime="native", components=("phoenix",), skipped={})
    render(phoenix_settings, plan, secrets={})
    runtime.prepare(plan)
    runtime.start("phoenix", plan)
    try:
        health = wait_healthy(
            f"{phoenix_settings.phoenix_url}/healthz",
            timeout=120,
            still_running=lambda: runtime.state("phoenix").running,
        )
        if not health.ok:
            log = "\n".join(runtime.logs("phoenix", tail=30))
            pytest.fail(f"Phoenix did not start: {health.detail}\n{log}")
        yield PhoenixClient(phoenix_settings.phoenix_url)
    finally:
        runtime.stop("phoenix")
