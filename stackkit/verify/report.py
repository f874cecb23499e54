"""What a check reports (one type for a whole check and for each problem it finds), and the two ways
`invoke verify` prints the reports (lines or JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import Enum


class Status(str, Enum):
    """A check's outcome; a str, so reports and `--json` print the plain word."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"

    def __str__(self) -> str:
        return self.value


STATUSES = tuple(status.value for status in Status)


@dataclass(frozen=True)
class CheckResult:
    """A check's result (the registry fills in `id`), or one problem a check found (id "")."""

    id: str
    status: Status
    summary: str  # for a problem: "<file:line>: what is wrong, and what that breaks"
    fix: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))

    @classmethod
    def passed(cls, summary: str) -> CheckResult:
        return cls("", Status.PASS, summary)

    @classmethod
    def skipped(cls, summary: str) -> CheckResult:
        return cls("", Status.SKIP, summary)

    @classmethod
    def warned(cls, summary: str, fix: str) -> CheckResult:
        return cls("", Status.WARN, summary, fix)

    @classmethod
    def failed(cls, summary: str, fix: str) -> CheckResult:
        return cls("", Status.FAIL, summary, fix)


def format_lines(results: Sequence[CheckResult]) -> str:
    """One line per check (status, id, summary), a `fix:` line under each warn/fail, then the counts."""
    width = max((len(result.id) for result in results), default=0)
    lines = []
    for result in results:
        lines.append(f"{result.status.value.upper():<4}  {result.id:<{width}}  {result.summary}")
        if result.status in (Status.WARN, Status.FAIL) and result.fix:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {result.fix}")
    counts = {status: sum(result.status == status for result in results) for status in Status}
    lines.append(
        f"{counts[Status.PASS]} passed, {counts[Status.WARN]} warned, {counts[Status.FAIL]} failed, "
        f"{counts[Status.SKIP]} skipped"
    )
    return "\n".join(lines)


def to_json(results: Sequence[CheckResult]) -> str:
    return json.dumps([{**asdict(result), "status": result.status.value} for result in results], indent=2)


def has_failures(results: Sequence[CheckResult]) -> bool:
    return any(result.status == Status.FAIL for result in results)
