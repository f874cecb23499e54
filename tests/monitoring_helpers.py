"""What the monitoring tests share: the fixtures folder, the stack they were written for, its rules on disk."""

from __future__ import annotations

from pathlib import Path

from stackkit import monitoring
from stackkit.settings import settings_from_given

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
