"""What a check reports (one type for a whole check and for each problem it finds), and the two ways
`invoke verify` prints the reports (lines or JSON)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Status(str, Enum):
    """A check's outcome; a str, so reports and `--json` print the plain word."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"

    def __str__(self) -> str:
        return self.value


STATUSES = tuple(status.value for status in Status)
# How checks word a problem in a file: "<file>:<line>[:<column>][ (rendered from <template>)][ column <n>]: <text>".
_LOCATED = re.compile(
    r"^(?P<file>[^\s:;][^:;]*?):(?P<line>\d+)(?::(?P<column>\d+))?(?: \(rendered [^)]*\))?"
    r"(?: column (?P<word_column>\d+))?: (?P<message>.+)$",
    re.S,
)


@dataclass(frozen=True)
class Location:
    """Where in a file a check found a problem; printed as checks have always worded it:
    "<file>:<line>[ (rendered from <template>)][ column <n>]" (just the file when the line is unknown)."""

    file: str
    line: int | None = None
    column: int | None = None
    note: str = ""  # e.g. "rendered from stacks/grafana-alloy/phoenix-exporter.alloy.j2"

    def at_column(self, column: int) -> Location:
        return Location(self.file, self.line, column, self.note)

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        note = f" ({self.note})" if self.note else ""
        column = f" column {self.column}" if self.column is not None else ""
        return f"{self.file}:{self.line}{note}{column}"


@dataclass(frozen=True)
class Finding:
    """One problem a check found, as data (after flake8's Violation): where, what, and the fix."""

    file: str | None
    line: int | None
    column: int | None
    message: str
    fix: str = ""

    @classmethod
    def parse(cls, problem: str, fix: str = "") -> Finding:
        """A problem worded "<file>:<line>[:<column>]: <message>" (or with no location) as a Finding."""
        located = _LOCATED.match(problem)
        if not located:
            return cls(None, None, None, problem, fix)
        column = located.group("column") or located.group("word_column")
        return cls(
            located.group("file"),
            int(located.group("line")),
            int(column) if column else None,
            located.group("message"),
            fix,
        )

    @classmethod
    def at(cls, location: Location | None, message: str, fix: str = "") -> Finding:
        """A problem the check located itself: its file, line and column are fields, never parsed back."""
        if location is None:
            return cls(None, None, None, message, fix)
        return cls(location.file, location.line, location.column, message, fix)

    def summary(self, location: Location | None) -> str:
        return f"{location}: {self.message}" if location is not None else self.message

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "message": self.message, "fix": self.fix}


@dataclass(frozen=True)
class CheckResult:
    """A check's result (the registry fills in `id`), or one problem a check found (id "")."""

    id: str
    status: Status
    summary: str  # for a problem: "<file:line>: what is wrong, and what that breaks"
    fix: str = ""
    findings: tuple[Finding, ...] = ()  # each problem found, with its file and line when it has one

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


def as_dict(result: CheckResult) -> dict[str, Any]:
    """id, status, summary, fix, and the findings when the check found any."""
    body: dict[str, Any] = {
        "id": result.id,
        "status": result.status.value,
        "summary": result.summary,
        "fix": result.fix,
    }
    if result.findings:
        body["findings"] = [finding.as_dict() for finding in result.findings]
    return body


def to_json(results: Sequence[CheckResult]) -> str:
    return json.dumps([as_dict(result) for result in results], indent=2)


def has_failures(results: Sequence[CheckResult]) -> bool:
    return any(result.status == Status.FAIL for result in results)
