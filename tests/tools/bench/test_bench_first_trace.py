"""The first-trace benchmark's environment (a newcomer's: stock PATH, empty caches, free ports) and its table."""

from __future__ import annotations

import shutil
from pathlib import Path

from stackkit.core.settings import HOST_PORT_SETTINGS, load_settings
from tools.bench.first_trace import NEWCOMER_PATH, STEPS, markdown, newcomer_environment, summarize


def test_environment_is_a_newcomers_on_free_ports(tmp_path: Path) -> None:
    env = newcomer_environment(tmp_path)
    assert env["PATH"] == NEWCOMER_PATH
    assert str(shutil.which("python3", path=env["PATH"])).startswith("/usr/bin/")
    assert Path(env["UV_CACHE_DIR"]).parent == tmp_path and not Path(env["UV_CACHE_DIR"]).exists()
    assert "VIRTUAL_ENV" not in env
    ports = [env[name] for name in HOST_PORT_SETTINGS]
    assert len(set(ports)) == len(HOST_PORT_SETTINGS)
    settings = load_settings(environ=env)  # the empty env file, not the developer's .env
    assert settings.ai_demo_url.endswith(f":{env['AI_DEMO_PORT']}")


def run(total: float) -> dict:
    seconds = {step: total / len(STEPS) for step in STEPS}
    return {"seconds": seconds, "total_s": total, "uv_from": "pip, into .venv"}


def test_table_summarizes_complete_runs_and_names_failed_ones() -> None:
    runs = [run(30.0), run(40.0), run(35.0), {"seconds": {"clone": 0.1}, "error": "invoke up: exited 1"}]
    results = {
        "command": "python -m tools.bench.first_trace",
        "finished_at": "2026-11-25T08:00:00+00:00",
        "machine": {"cores": 2, "cpu_model": "cpu", "memory_gb": 8.0},
        "system_python": "Python 3.11.2",
        "uv_from": "pip, into .venv",
        "load_average": {"start": [0.1, 0.1, 0.1], "end": [1.0, 1.0, 1.0]},
        "runs": runs,
        "summary": summarize(runs),
    }
    table = markdown(results)
    assert "3 of 4 runs complete" in table
    assert "| **total** | **35.0 (30.0-40.0)** |" in table
    assert "Failed run: invoke up: exited 1" in table
    assert all(label in table for label in STEPS.values())
