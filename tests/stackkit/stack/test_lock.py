"""One changing task at a time: a second holder of the state folder's lock is told who holds it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from stackkit.stack.lock import LOCK_FILE, StackBusy, held


def test_a_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with held(state):
        assert f"pid {os.getpid()}" in (state / LOCK_FILE).read_text()
        refused = pytest.raises(StackBusy, match=rf"another task is changing the stack in {state}: pid {os.getpid()}")
        with refused, held(state, wait_seconds=0.3):
            pass
    with held(state, wait_seconds=0.3):  # released: taken again at once
        pass
    assert (state / LOCK_FILE).read_text() == ""
    assert stat.S_IMODE((state / LOCK_FILE).stat().st_mode) == 0o600
