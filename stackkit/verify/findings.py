"""Several problems found by one check, each kept as data (a Finding) and folded into the one result that
check reports (its summary and fix read as before; `verify --json` lists the findings)."""

from __future__ import annotations

from stackkit.verify.registry import VerifyContext
from stackkit.verify.report import CheckResult, Finding, Status


def fail(problem: str, fix: str) -> CheckResult:
    """One problem: "<file:line>: what is wrong, and what that breaks", and its fix."""
    return CheckResult("", Status.FAIL, problem, fix, (Finding.parse(problem, fix),))


def warn(problem: str, fix: str) -> CheckResult:
    return CheckResult("", Status.WARN, problem, fix, (Finding.parse(problem, fix),))


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


def missing(ctx: VerifyContext, problem: str, fix: str) -> CheckResult:
    """Something a check needs is absent: fail, or skip when an unparsed Alloy file may define it."""
    if not ctx.files.alloy.complete:
        return CheckResult.skipped(f"{problem}, but an Alloy file does not parse (see alloy.syntax)")
    return fail(problem, fix)
