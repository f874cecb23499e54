"""Contract: every value the stack's settings accept for the demo is accepted by the demo's own config loader.

The stack parses AI_DEMO_* first (so a bad value is exit 2 before anything starts); the demo parses again
from the env file the stack renders. If the two disagree, `invoke up` starts Phoenix and then the demo
refuses its configuration. Boundary values on both sides of each limit keep them together.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ai_demo.config import ConfigError, load_config
from isolation import isolated_settings

from stackkit.components.component import Plan
from stackkit.components.demo import environment as ai_demo_env
from stackkit.core.settings import SettingsError

NATIVE_DEMO = Plan(runtime="native", components=("phoenix", "ai-demo"), skipped={})
ACCEPTED = {
    "AI_DEMO_TOOL_TIMEOUT": ["1e-9", "0.001", "0.5", "1", "86400", "1e300"],
    "AI_DEMO_TOOL_MAX_RETRIES": ["0", "1", "2", "1000000"],
    "AI_DEMO_LLM_PROVIDER": ["offline", "OFFLINE", " offline "],
    "AI_DEMO_WEATHER_API_URL": ["", "http://127.0.0.1:1", "https://weather.example:65535/v1"],
    "AI_DEMO_LLM_MODEL": ["", "claude-haiku", "gpt 4o mini"],
    "PHOENIX_PROJECT_NAME": ["a", "ai-demo", "Project_1.x"],
}
REJECTED = {
    "AI_DEMO_TOOL_TIMEOUT": ["0", "-1", "inf", "nan", "1e400", "soon"],
    "AI_DEMO_TOOL_MAX_RETRIES": ["-1", "1.5", "two"],
    "AI_DEMO_WEATHER_API_URL": ["ftp://x", "http://", "http://host:99999"],
}


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, values in ACCEPTED.items() for v in values])
def test_what_the_stack_accepts_the_demo_accepts(tmp_path: Path, name: str, value: str) -> None:
    settings = isolated_settings(tmp_path / "state", **{name: value})
    environment = ai_demo_env(settings, NATIVE_DEMO, secrets={})
    config = load_config(environment)
    assert config.project_name == settings.phoenix_project_name
    assert config.tool_timeout == settings.ai_demo_tool_timeout
    assert config.tool_max_retries == settings.ai_demo_tool_max_retries


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, values in REJECTED.items() for v in values])
def test_what_the_stack_rejects_never_reaches_the_demo(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        isolated_settings(tmp_path / "state", **{name: value})
    with pytest.raises(ConfigError):
        load_config({"AI_DEMO_OTLP_ENDPOINT": "http://127.0.0.1:4318", name: value})
