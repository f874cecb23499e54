"""The environment the stack hands Phoenix: its lean defaults, and the user's own Phoenix settings over them."""

from __future__ import annotations

from pathlib import Path

from isolation import isolated_settings

from stackkit.components.component import Plan
from stackkit.components.phoenix import LEAN_DEFAULTS, environment

PLAN = Plan(runtime="native", components=("phoenix",), skipped={})


def test_phoenix_starts_without_the_mcp_server_and_the_agent_assistant(tmp_path: Path) -> None:
    env = environment(isolated_settings(tmp_path / "state"), PLAN, {})
    assert env["PHOENIX_ENABLE_MCP_SERVER"] == "false"
    assert env["PHOENIX_DISABLE_AGENT_ASSISTANT"] == "true"


def test_the_users_phoenix_settings_turn_them_back_on(tmp_path: Path) -> None:
    given = {"PHOENIX_ENABLE_MCP_SERVER": "true", "PHOENIX_DISABLE_AGENT_ASSISTANT": "false"}
    assert set(given) == set(LEAN_DEFAULTS)
    env = environment(isolated_settings(tmp_path / "state", **given), PLAN, {})
    assert {name: env[name] for name in given} == given
