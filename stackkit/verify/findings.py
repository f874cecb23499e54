"""Several problems found by one check, each kept as data (a Finding) and folded into the one result that
check reports (its summary and fix read as before; `verify --json` lists the findings)."""

from __future__ import annotations

from stackkit.verify.registry import VerifyContext
from stackkit.verify.report import CheckResult, Finding, Location, Status


def _found(status: Status, problem: str, fix: str, at: Location | None) -> CheckResult:
    if at is None:  # a check that does not locate its problem yet: "<file:line>: ..." is read back from its words
        return CheckResult("", status, problem, fix, (Finding.parse(problem, fix),))
    finding = Finding.at(at, problem, fix)
    return CheckResult("", status, finding.summary(at), fix, (finding,))


def fail(problem: str, fix: str, at: Location | None = None) -> CheckResult:
    """One problem: what is wrong, and what that breaks, at a place in a file (the summary reads
    "<file:line>: <problem>"), and its fix."""
    return _found(Status.FAIL, problem, fix, at)


def warn(problem: str, fix: str, at: Location | None = None) -> CheckResult:
    return _found(Status.WARN, problem, fix, at)


def conclude(findings: list[CheckResult], passed: str) -> CheckResult:
    """The check's result: passed when nothing was found, else the worst status and every problem."""
    if not findings:
        return CheckResult.passed(passed)
    ordered = sorted(findings, key=lambda finding: finding.status != Status.FAIL)
    summary = "; ".join(finding.summary for finding in ordered)
    fix = "; ".join(dict.fromkeys(finding.fix for finding in ordered if finding.fix))
    found = tuple(
        item for finding in ordered for item in finding.findings or (Finding.parse(finding.summary, finding.fix),)
    )
    return CheckResult("", ordered[0].status, summary, fix, found)


def missing(ctx: VerifyContext, problem: str, fix: str, at: Location | None = None) -> CheckResult:
    """Something a check needs is absent: fail, or skip when an unparsed Alloy file may define it."""
    if not ctx.files.alloy.complete:
        where = f"{at}: " if at is not None else ""
        return CheckResult.skipped(f"{where}{problem}, but an Alloy file does not parse (see alloy.syntax)")
    return fail(problem, fix, at)
