"""A bad pass-through value given to a running native stack: exit 2 naming it, and the stack keeps running, the
same processes (issue 32: it used to stop the demo, drain and stop Phoenix, start one that died, leave it down)."""

from __future__ import annotations

from pathlib import Path

import pytest
from isolation import invoke, isolated_environ

from stackkit.core.settings import load_settings
from stackkit.runtimes.native import NativeRuntime

pytestmark = pytest.mark.phoenix


def test_a_bad_pass_through_value_leaves_a_running_stack_alone(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state", STACK_HEALTH_TIMEOUT="600")  # a loaded machine starts slowly
    started = invoke(environ, "up", "--runtime", "native")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        runtime = NativeRuntime(load_settings(environ=environ))
        names = ("phoenix", "ai-demo")
        before = {name: runtime.pid(name) for name in names}
        assert all(before.values()), before

        refused = invoke(environ | {"PHOENIX_MAX_SPANS_QUEUE_SIZE": "0"}, "up")

        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert (
            "PHOENIX_MAX_SPANS_QUEUE_SIZE='0': Phoenix refuses to start with it: expected a positive integer"
            in refused.stderr
        )
        assert "Traceback" not in refused.stdout + refused.stderr
        assert "stopped" not in refused.stdout
        assert {name: runtime.pid(name) for name in names} == before
        assert invoke(environ, "status").returncode == 0

        # A value the check cannot know Phoenix dies on (a CSRF origin without a host): the change is applied,
        # Phoenix never becomes healthy, and `up` brings back what ran before with the previous settings.
        failed = invoke(environ | {"PHOENIX_CSRF_TRUSTED_ORIGINS": "bogus"}, "up")
        print(failed.stdout[-3000:], failed.stderr)
        assert failed.returncode == 1
        assert "applying the change of PHOENIX_CSRF_TRUSTED_ORIGINS failed" in failed.stderr
        assert "the stack runs again with its previous settings (phoenix, ai-demo started again)" in failed.stderr
        assert all(runtime.pid(name) for name in names)
        status = invoke(environ, "status")
        # A Phoenix that never became healthy is a failed start, not a crash that may have lost spans.
        assert "exited without `invoke down`" not in status.stdout + status.stderr
        assert "PHOENIX_CSRF_TRUSTED_ORIGINS" not in status.stdout
    finally:
        invoke(environ, "down")
