"""`invoke verify`: checks that the stack is configured and running the way traces reach Phoenix.

results = run_checks(settings, static_only=True)
print(format_lines(results))   # or to_json(results)
exit code: 1 if has_failures(results)
"""

from stackkit.verify import checks  # registers every check, in order
from stackkit.verify.files import ConfigFiles, FileLocations
from stackkit.verify.registry import Stage, VerifyContext, check, registered_checks, run_checks, run_context_checks
from stackkit.verify.report import STATUSES, CheckResult, Finding, Status, format_lines, has_failures, to_json

# The ids in the order the checks run (docs/checks.md lists them so; a test checks it).
CHECK_ORDER = tuple(registered.id for registered in registered_checks(static_only=False))

__all__ = [
    "CHECK_ORDER",
    "STATUSES",
    "CheckResult",
    "ConfigFiles",
    "FileLocations",
    "Finding",
    "Stage",
    "Status",
    "VerifyContext",
    "check",
    "checks",
    "format_lines",
    "has_failures",
    "run_checks",
    "run_context_checks",
    "to_json",
]
