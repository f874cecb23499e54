"""Native Phoenix's metrics server ([::]:9090, hard-coded by Phoenix 20.26.1) stays closed unless
STACK_PHOENIX_METRICS turns it on (real Phoenix)."""

from __future__ import annotations

from pathlib import Path

import pytest
from isolation import invoke, isolated_environ
from reliability_helpers import invoke_ok

from stackkit.core.settings import load_settings
from stackkit.phoenix import metrics as phoenix_metrics

pytestmark = pytest.mark.phoenix


def test_native_phoenix_keeps_port_9090_closed_by_default(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    try:
        invoke_ok(environ, "up", "--only", "phoenix")
        settings = load_settings(environ=environ)
        log = (settings.logs_dir / "phoenix.log").read_text()
        assert "Phoenix's metrics off: STACK_PHOENIX_METRICS=false" in log
        assert not phoenix_metrics.held_by_our_phoenix(settings)
        assert "STACK_PHOENIX_METRICS=true" in phoenix_metrics.scrape(settings, "native")  # type: ignore[operator]
    finally:
        invoke(environ, "down")
