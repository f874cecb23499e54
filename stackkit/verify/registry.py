"""The checks `invoke verify` runs: registered with @check, each given a VerifyContext, each one line.

Static checks (stackkit/verify/static_checks.py) need nothing running; runtime checks
(stackkit/verify/runtime_checks.py, when present) talk to the running stack. Both register the same way:

    @check("alloy.ready", static=False)
    def alloy_ready(ctx: VerifyContext) -> Verdict:
        ...
        return Verdict.passed("Alloy answers /-/ready")
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from stackkit.settings import Settings
from stackkit.verify.files import ConfigFiles, FileLocations, load_files
from stackkit.verify.report import CheckResult

STATIC_CHECKS_MODULE = "stackkit.verify.static_checks"
RUNTIME_CHECKS_MODULE = "stackkit.verify.runtime_checks"


@dataclass(frozen=True)
class VerifyContext:
    settings: Settings
    files: ConfigFiles

    @classmethod
    def build(cls, settings: Settings, locations: FileLocations | None = None) -> VerifyContext:
        return cls(settings, load_files(settings, locations))


@dataclass(frozen=True)
class Verdict:
    """What a check found; the registry adds the check's id to make the CheckResult."""

    status: str
    summary: str
    fix: str = ""

    @classmethod
    def passed(cls, summary: str) -> Verdict:
        return cls("pass", summary)

    @classmethod
    def skipped(cls, summary: str) -> Verdict:
        return cls("skip", summary)

    @classmethod
    def warned(cls, summary: str, fix: str) -> Verdict:
        return cls("warn", summary, fix)

    @classmethod
    def failed(cls, summary: str, fix: str) -> Verdict:
        return cls("fail", summary, fix)


CheckFunction = Callable[[VerifyContext], Verdict]


@dataclass(frozen=True)
class Check:
    id: str
    static: bool
    run: CheckFunction


_CHECKS: dict[str, Check] = {}


def check(check_id: str, *, static: bool) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under a stable id; checks run in the order they are registered."""

    def register(function: CheckFunction) -> CheckFunction:
        existing = _CHECKS.get(check_id)
        if existing is not None and existing.run.__qualname__ != function.__qualname__:
            raise ValueError(f"two checks share the id {check_id!r}")
        _CHECKS[check_id] = Check(check_id, static, function)
        return function

    return register


def load_check_modules(*, static_only: bool) -> None:
    """Import the modules that register checks. --static leaves the runtime module (docker, HTTP) alone."""
    importlib.import_module(STATIC_CHECKS_MODULE)
    if not static_only and importlib.util.find_spec(RUNTIME_CHECKS_MODULE) is not None:
        importlib.import_module(RUNTIME_CHECKS_MODULE)


def registered_checks(*, static_only: bool) -> list[Check]:
    load_check_modules(static_only=static_only)
    return [registered for registered in _CHECKS.values() if registered.static or not static_only]


def run_one(registered: Check, context: VerifyContext) -> CheckResult:
    try:
        verdict = registered.run(context)
    except Exception as error:  # one broken check must not hide the others' results
        return CheckResult(
            registered.id,
            "fail",
            f"the check itself crashed: {type(error).__name__}: {error}",
            "report this as a bug in stackkit/verify",
        )
    return CheckResult(registered.id, verdict.status, verdict.summary, verdict.fix)


def run_context_checks(context: VerifyContext, *, static_only: bool) -> list[CheckResult]:
    return [run_one(registered, context) for registered in registered_checks(static_only=static_only)]


def run_checks(settings: Settings, *, static_only: bool, locations: FileLocations | None = None) -> list[CheckResult]:
    """Run the static checks, and the runtime ones unless static_only; one result per check, in order."""
    return run_context_checks(VerifyContext.build(settings, locations), static_only=static_only)
