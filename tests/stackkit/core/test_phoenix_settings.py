"""The list of Phoenix's own settings matches the installed (pinned) Phoenix's config.py."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import phoenix.config

from stackkit.core.settings import load_settings, phoenix_setting_names


def test_list_matches_the_installed_phoenix() -> None:
    assert metadata.version("arize-phoenix") == load_settings(environ={"STACK_ENV_FILE": "/dev/null"}).phoenix_version
    text = Path(phoenix.config.__file__).read_text()
    assert phoenix_setting_names() == frozenset(re.findall(r'"(PHOENIX_[A-Z0-9_]+)"', text))
