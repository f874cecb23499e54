"""Shared fixtures: settings isolated in a temporary state folder on free ports, and a real Phoenix."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from pathlib import Path

import pytest
from isolation import isolated_settings
from system import check_needs, require, unavailable

from stackkit.components.component import Plan
from stackkit.core.health import wait_healthy
from stackkit.core.settings import Settings
from stackkit.phoenix.api import PhoenixClient
from stackkit.runtimes.native import NativeRuntime
from stackkit.runtimes.render import render
from tools.engine import EngineHandle, EngineUnavailable, ensure_engine
from tools.local_postgres import PostgresServer, PostgresUnavailable, start_postgres


def pytest_runtest_setup(item: pytest.Item) -> None:
    check_needs(item)


# The files that start whole stacks, longest first (seconds alone, measured on 2 cores by a fresh clone's `.ci/run`):
# the parallel run (`nox -s tests`: pytest-xdist, a file per worker) starts them first, so no long file is left
# running alone at the end. A file not listed runs after these, in the collection's order.
LONGEST_FIRST = (
    "stackkit/commands/test_persistence.py",  # 264
    "stackkit/stack/test_applied.py",  # 179
    "stackkit/components/test_otelcol_pipeline.py",  # 171
    "stackkit/runtimes/test_native_supervision.py",  # 141
    "stackkit/monitoring/test_llm_metrics.py",  # 131
    "stackkit/clients/test_client_matrix.py",  # 127
    "stackkit/commands/test_upgrade.py",  # 120
    "stackkit/phoenix/test_keys.py",  # 106
    "stackkit/monitoring/test_fanout_rules.py",  # 104
    "stackkit/components/test_otelcol_truth.py",  # 100
    "stackkit/commands/test_backup.py",  # 80
    "stackkit/monitoring/test_rules.py",  # 78
    "stackkit/test_security.py",  # 73
    "stackkit/test_cli.py",  # 72
    "stackkit/commands/test_bad_value_live.py",  # 68
    "stackkit/phoenix/test_storage.py",  # 65
    "stackkit/commands/test_backup_safety.py",  # 60
    "stackkit/verify/checks/test_phoenix_health.py",  # 55
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    rank = {str(tests / name): place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(str(item.path), len(LONGEST_FIRST)))  # stable: the rest keep their order


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL (initdb + pg_ctl, free loopback port) for the session, stopped with pg_ctl stop."""
    require("initdb", "pg_ctl")
    try:
        server = start_postgres()
    except PostgresUnavailable as missing:
        unavailable(str(missing))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database on the session's PostgreSQL."""
    return postgres_server.create_database()


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[EngineHandle]:
    """The Docker engine that answers, or a dockerd started for this session and stopped by its PID after it."""
    require("dockerd", "docker", "docker-compose", "debootstrap")
    try:
        handle = ensure_engine()
    except EngineUnavailable as error:
        unavailable(f"no Docker engine: {error}")
    try:
        yield handle
    finally:
        handle.stop()


# Phoenix's metrics port is fixed (9090 on every interface): tests that start a Phoenix with metrics take
# turns, across pytest processes too.
METRICS_LOCK = Path("/tmp/stackkit-phoenix-metrics-9090.lock")


@pytest.fixture
def metrics_port_turn() -> Iterator[None]:
    with METRICS_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
