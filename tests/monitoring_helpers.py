"""What the monitoring tests share: the fixtures folder, the stack they were written for, its rules on disk, and
what the tests against a real Prometheus use (a printed piece of `invoke render`, polling, Prometheus's times)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import pytest
from isolation import invoke

from stackkit import monitoring
from stackkit.core.settings import settings_from_given

T = TypeVar("T")

FIXTURES = Path(__file__).parent / "stackkit" / "fixtures" / "monitoring"
# What the unit cases were written for: the stack's own Phoenix and Alloy, natively.
WATCHED = monitoring.Watched(
    phoenix_target="127.0.0.1:9090",
    fanout="alloy",
    fanout_target="127.0.0.1:12345",
    max_spans_queue=monitoring.PHOENIX_DEFAULT_MAX_SPANS_QUEUE,
    runtime="native",
)


def write_rules(folder: Path, **given: str) -> Path:
    settings = settings_from_given(given)
    path = folder / "rules.yml"
    path.write_text(monitoring.rules_text(settings, WATCHED))
    return path


def printed(environ: dict[str, str], piece: str) -> str:
    """`invoke render --print piece` for the stack of `environ`."""
    result = invoke(environ, "render", "--print", piece)
    assert result.returncode == 0, result.stderr
    return result.stdout


def poll(condition: Callable[[], T | None], seconds: float, what: str) -> T:
    """The first non-None answer of `condition` within `seconds` (polled every 0.25 s); the test fails after."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (found := condition()) is not None:
            return found
        time.sleep(0.25)
    pytest.fail(f"not within {seconds:g}s: {what}")


def timestamp(rfc3339: str) -> float:
    """Seconds since the epoch of a time Prometheus wrote (activeAt)."""
    # Prometheus writes nanoseconds; Python parses at most microseconds.
    trimmed = re.sub(r"(\.\d{6})\d*", r"\1", rfc3339).replace("Z", "+00:00")
    return datetime.fromisoformat(trimmed).timestamp()
