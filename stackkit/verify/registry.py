"""The checks `invoke verify` runs, each declared once by its decorator: its id, whether it is static (needs
nothing running), whether it also reads the user's own Alloy files (`--alloy-config`), and for a runtime
check the stage of the pipeline it looks at:

    @check("alloy.ready", static=False, stage=Stage.COLLECTOR)
    def alloy_ready(ctx: VerifyContext) -> CheckResult:
        ...
        return CheckResult.passed("Alloy answers /-/ready")

Checks live in stackkit/verify/checks/, one module per concern, imported in order by
stackkit/verify/checks/__init__.py. They run and print static first (in that import order), then the runtime
ones by stage, from the stack's ports to a span read back (docs/checks.md lists them in that order).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from stackkit.core.errors import StackkitError
from stackkit.core.settings import Settings
from stackkit.verify.files import ConfigFiles, FileLocations, load_files
from stackkit.verify.report import CheckResult, Status


class Stage(IntEnum):
    """Where in the pipeline a check looks; the checks run in this order."""

    FILES = 0  # every static check: what the files say
    PORTS = 1  # the host ports the stack needs
    REMOTE = 2  # a Phoenix the user runs elsewhere
    PHOENIX = 3  # Phoenix answers
    COLLECTOR = 4  # the collector (Alloy) answers and forwards
    AUTH = 5  # the senders' keys are accepted
    PIPELINE = 6  # a span sent now lands, metrics flow
    STORE = 7  # Phoenix keeps what it is sent
    SECURITY = 8  # what the running stack exposes


@dataclass(frozen=True)
class VerifyContext:
    settings: Settings
    files: ConfigFiles

    @classmethod
    def build(cls, settings: Settings, locations: FileLocations | None = None) -> VerifyContext:
        return cls(settings, load_files(settings, locations))


CheckFunction = Callable[[VerifyContext], CheckResult]


@dataclass(frozen=True)
class Check:
    id: str
    static: bool
    run: CheckFunction
    reads_user_files: bool = False  # also run on the user's own Alloy files (`verify --alloy-config`)
    stage: Stage = Stage.FILES


_CHECKS: dict[str, Check] = {}


def check(
    check_id: str, *, static: bool, reads_user_files: bool = False, stage: Stage | None = None
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under a stable id. A static check is at Stage.FILES; a runtime one names its stage."""
    if static and stage not in (None, Stage.FILES):
        raise ValueError(f"check {check_id!r}: a static check looks at the files (Stage.FILES)")
    if not static and stage in (None, Stage.FILES):
        raise ValueError(f"check {check_id!r}: a runtime check names the stage it looks at")
    if reads_user_files and not static:
        raise ValueError(f"check {check_id!r}: only a static check can read the user's files")

    def register(function: CheckFunction) -> CheckFunction:
        existing = _CHECKS.get(check_id)
        if existing is not None and existing.run.__qualname__ != function.__qualname__:
            raise ValueError(f"two checks share the id {check_id!r}")
        _CHECKS[check_id] = Check(check_id, static, function, reads_user_files, stage or Stage.FILES)
        return function

    return register


def registered_checks(*, static_only: bool) -> list[Check]:
    """Every check, in the order they run (stage, then the order stackkit.verify.checks imports them in)."""
    ordered = sorted(_CHECKS.values(), key=lambda registered: registered.stage)  # stable: keeps import order
    return [registered for registered in ordered if registered.static or not static_only]


def run_one(registered: Check, context: VerifyContext) -> CheckResult:
    try:
        result = registered.run(context)
    except StackkitError as error:
        # A file the check reads is damaged (a secrets or env file line that does not parse): its message
        # names the file, the line and the fix; it is not a bug of the check.
        result = CheckResult.failed(" ".join(str(error).split()), "fix what it names, then run `invoke verify` again")
    except Exception as error:  # one broken check must not hide the others' results
        result = CheckResult.failed(
            f"the check itself crashed: {type(error).__name__}: {error}",
            "report this as a bug in stackkit/verify",
        )
    return dataclasses.replace(result, id=registered.id)


def run_context_checks(context: VerifyContext, *, static_only: bool) -> list[CheckResult]:
    chosen = registered_checks(static_only=static_only)
    if context.files.locations.user_alloy:
        chosen = [registered for registered in chosen if registered.reads_user_files]
    return [run_one(registered, context) for registered in chosen]


def run_checks(settings: Settings, *, static_only: bool, locations: FileLocations | None = None) -> list[CheckResult]:
    """Run the static checks, and the runtime ones unless static_only; one result per check, in order."""
    return run_context_checks(VerifyContext.build(settings, locations), static_only=static_only)


__all__ = ["CheckResult", "Stage", "Status", "VerifyContext", "check", "run_checks"]
