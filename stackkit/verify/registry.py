"""The checks `invoke verify` runs: registered with @check, each given a VerifyContext, each one line.

Checks live in stackkit/verify/checks/, one module per concern (alloy, compose, phoenix, remote, sdk, pipeline,
security). The order they run and print in is declared once, in CHECK_ORDER; static checks need nothing running,
the others talk to the running stack:

    @check("alloy.ready", static=False)
    def alloy_ready(ctx: VerifyContext) -> CheckResult:
        ...
        return CheckResult.passed("Alloy answers /-/ready")
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from stackkit.settings import Settings
from stackkit.verify.files import ConfigFiles, FileLocations, load_files
from stackkit.verify.report import CheckResult, Status

CHECK_MODULES = tuple(
    f"stackkit.verify.checks.{concern}"
    for concern in ("alloy", "queue", "compose", "phoenix", "phoenix_health", "remote", "sdk", "pipeline", "security")
)
# The order checks run and print in (README's table lists them in this order): what the files say first,
# then what the running stack does, from its ports to a span read back.
CHECK_ORDER = (
    "alloy.syntax",
    "alloy.receiver-bind",
    "alloy.exporter-protocol",
    "alloy.exporter-endpoint",
    "alloy.pipeline",
    "alloy.listen-addr",
    "alloy.queue",
    "phoenix.volume",
    "phoenix.auth-config",
    "sdk.exporter",
    "security.files",
    "ports.conflict",
    "phoenix.remote",
    "phoenix.health",
    "alloy.ready",
    "alloy.errors",
    "phoenix.auth",
    "pipeline.canary",
    "pipeline.metrics",
    "phoenix.ingest",
    "phoenix.storage",
    "security.default-admin",
    "security.exposure",
)

# What `invoke verify --static --alloy-config PATH` runs on the user's own Alloy files (the others are about
# this stack's compose files and rendered environments).
USER_ALLOY_CHECKS = (
    "alloy.syntax",
    "alloy.receiver-bind",
    "alloy.exporter-protocol",
    "alloy.exporter-endpoint",
    "alloy.pipeline",
)


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


_CHECKS: dict[str, Check] = {}


def check(check_id: str, *, static: bool) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under a stable id, which must be listed in CHECK_ORDER."""

    def register(function: CheckFunction) -> CheckFunction:
        if check_id not in CHECK_ORDER:
            raise ValueError(f"check {check_id!r} is not listed in CHECK_ORDER")
        existing = _CHECKS.get(check_id)
        if existing is not None and existing.run.__qualname__ != function.__qualname__:
            raise ValueError(f"two checks share the id {check_id!r}")
        _CHECKS[check_id] = Check(check_id, static, function)
        return function

    return register


def registered_checks(*, static_only: bool) -> list[Check]:
    for module in CHECK_MODULES:
        importlib.import_module(module)
    missing = [check_id for check_id in CHECK_ORDER if check_id not in _CHECKS]
    if missing:
        raise ValueError(f"checks listed in CHECK_ORDER but defined nowhere: {', '.join(missing)}")
    ordered = [_CHECKS[check_id] for check_id in CHECK_ORDER]
    return [registered for registered in ordered if registered.static or not static_only]


def run_one(registered: Check, context: VerifyContext) -> CheckResult:
    try:
        result = registered.run(context)
    except Exception as error:  # one broken check must not hide the others' results
        result = CheckResult.failed(
            f"the check itself crashed: {type(error).__name__}: {error}",
            "report this as a bug in stackkit/verify",
        )
    return dataclasses.replace(result, id=registered.id)


def run_context_checks(context: VerifyContext, *, static_only: bool) -> list[CheckResult]:
    chosen = registered_checks(static_only=static_only)
    if context.files.locations.user_alloy:
        chosen = [registered for registered in chosen if registered.id in USER_ALLOY_CHECKS]
    return [run_one(registered, context) for registered in chosen]


def run_checks(settings: Settings, *, static_only: bool, locations: FileLocations | None = None) -> list[CheckResult]:
    """Run the static checks, and the runtime ones unless static_only; one result per check, in order."""
    return run_context_checks(VerifyContext.build(settings, locations), static_only=static_only)


__all__ = ["CHECK_ORDER", "CheckResult", "Status", "VerifyContext", "check", "run_checks"]
