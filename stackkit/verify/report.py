"""What a check reports, and the two ways `invoke verify` prints the reports (lines or JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

STATUSES = ("pass", "warn", "fail", "skip")


@dataclass(frozen=True)
class CheckResult:
    id: str
    status: str  # one of STATUSES
    summary: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"{self.id}: status {self.status!r} is not one of {', '.join(STATUSES)}")


def format_lines(results: Sequence[CheckResult]) -> str:
    """One line per check (status, id, summary), a `fix:` line under each warn/fail, then the counts."""
    width = max((len(result.id) for result in results), default=0)
    lines = []
    for result in results:
        lines.append(f"{result.status.upper():<4}  {result.id:<{width}}  {result.summary}")
        if result.status in ("warn", "fail") and result.fix:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {result.fix}")
    counts = {status: sum(result.status == status for result in results) for status in STATUSES}
    lines.append(f"{counts['pass']} passed, {counts['warn']} warned, {counts['fail']} failed, {counts['skip']} skipped")
    return "\n".join(lines)


def to_json(results: Sequence[CheckResult]) -> str:
    return json.dumps([asdict(result) for result in results], indent=2)


def has_failures(results: Sequence[CheckResult]) -> bool:
    return any(result.status == "fail" for result in results)
