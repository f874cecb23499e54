"""The user's commands against real processes: `invoke up`, status, logs, a no-op second up, down."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from isolation import invoke, isolated_environ

from stackkit.settings import load_settings

pytestmark = pytest.mark.phoenix


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_bad_setting_exits_2_and_starts_nothing(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state", PHOENIX_UI_PORT="abc")
    result = invoke(environ, "up")
    assert result.returncode == 2
    assert "PHOENIX_UI_PORT='abc'" in result.stderr
    assert not (tmp_path / "state").exists()


def test_busy_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(environ["PHOENIX_UI_PORT"])))
        squatter.listen()
        result = invoke(environ, "up")
    assert result.returncode == 1
    assert f"PHOENIX_UI_PORT={environ['PHOENIX_UI_PORT']} is already in use by pid {os.getpid()}" in result.stderr
    assert not list((tmp_path / "state").glob("run/*.pid"))


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], str]]:
    environ = isolated_environ(tmp_path_factory.mktemp("stack") / "state")
    result = invoke(environ, "up", "--runtime", "native")
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield environ, result.stdout
    finally:
        invoke(environ, "down")


def test_up_brings_phoenix_and_demo_up_in_order(running_stack: tuple[dict[str, str], str]) -> None:
    _, output = running_stack
    assert output.index("phoenix: healthy") < output.index("ai-demo: starting")
    assert "alloy: skipped (no `alloy` binary on PATH" in output
    assert "Phoenix UI:" in output


def test_status_shows_healthy_components(running_stack: tuple[dict[str, str], str]) -> None:
    environ, _ = running_stack
    rows = {line.split()[0]: line for line in invoke(environ, "status").stdout.splitlines()[1:]}
    assert "healthy" in rows["phoenix"].split()
    assert "healthy" in rows["ai-demo"].split()
    assert "skipped" in rows["alloy"]


def test_logs_show_phoenix_log(running_stack: tuple[dict[str, str], str]) -> None:
    environ, _ = running_stack
    result = invoke(environ, "logs", "--service", "phoenix", "--tail", "20")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert 0 < len(lines) <= 20
    assert any("Uvicorn running" in line or "Application startup complete" in line for line in lines)


def test_second_up_is_a_no_op(running_stack: tuple[dict[str, str], str]) -> None:
    environ, _ = running_stack
    settings = load_settings(environ=environ)
    pids_before = sorted(p.read_text() for p in settings.run_dir.glob("*.pid"))
    result = invoke(environ, "up")
    assert result.returncode == 0
    assert "already running and healthy; nothing changed" in result.stdout
    assert sorted(p.read_text() for p in settings.run_dir.glob("*.pid")) == pids_before


def test_down_leaves_no_process_of_ours(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    assert invoke(environ, "up", "--only", "phoenix").returncode == 0
    settings = load_settings(environ=environ)
    pids = [int(p.read_text().split()[0]) for p in settings.run_dir.glob("*.pid")]
    assert pids and all(alive(pid) for pid in pids)
    result = invoke(environ, "down")
    assert result.returncode == 0
    assert "phoenix: stopped" in result.stdout
    assert not any(alive(pid) for pid in pids)
    assert (settings.data_dir / "phoenix" / "phoenix.db").exists(), "down without --volumes keeps the data"
