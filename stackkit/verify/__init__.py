"""`invoke verify`: checks that the stack is configured and running the way traces reach Phoenix.

results = run_checks(settings, static_only=True)
print(format_lines(results))   # or to_json(results)
exit code: 1 if has_failures(results)
"""

from stackkit.verify.files import ConfigFiles, FileLocations
from stackkit.verify.registry import CHECK_ORDER, VerifyContext, check, run_checks, run_context_checks
from stackkit.verify.report import STATUSES, CheckResult, Status, format_lines, has_failures, to_json

__all__ = [
    "CHECK_ORDER",
    "STATUSES",
    "CheckResult",
    "ConfigFiles",
    "FileLocations",
    "Status",
    "VerifyContext",
    "check",
    "format_lines",
    "has_failures",
    "run_checks",
    "run_context_checks",
    "to_json",
]
