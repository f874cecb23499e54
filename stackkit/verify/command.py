"""`invoke verify`: its arguments checked (before anything is read), the checks run, the report printed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from stackkit.alloy.schema import DEFAULT_STABILITY_LEVEL, STABILITY_LEVELS
from stackkit.core.errors import UsageError
from stackkit.core.settings import Settings
from stackkit.verify.files import FileLocations, user_alloy_files
from stackkit.verify.registry import run_checks
from stackkit.verify.report import format_lines, has_failures, to_json


def verify(
    settings: Settings,
    static: bool,
    as_json: bool,
    alloy_config: list[str] | None = None,
    alloy_stability_level: str | None = None,
) -> bool:
    """Run the checks (static only with `static`) and print their report; True when a check failed."""
    locations = None
    if alloy_stability_level is not None and alloy_stability_level not in STABILITY_LEVELS:
        raise UsageError(
            f"--alloy-stability-level {alloy_stability_level!r}: use one of {', '.join(STABILITY_LEVELS)} "
            "(the --stability.level your Alloy runs with)"
        )
    if alloy_stability_level is not None and not alloy_config:
        raise UsageError("--alloy-stability-level applies to your own files: add --alloy-config PATH")
    if alloy_config:
        given = [Path(path).expanduser() for path in alloy_config]
        absent = [str(path) for path in given if not path.exists()]
        if absent:
            raise UsageError(f"--alloy-config {', '.join(absent)}: no such file or folder")
        files = user_alloy_files(given)
        if not files:
            raise UsageError(f"--alloy-config {', '.join(alloy_config)}: no *.alloy file there")
        if not static:
            raise UsageError("--alloy-config checks files only: add --static")
        locations = dataclasses.replace(
            FileLocations.for_settings(settings),
            user_alloy=files,
            user_alloy_stability=alloy_stability_level or DEFAULT_STABILITY_LEVEL,
        )
    results = run_checks(settings, static_only=static, locations=locations)
    print(to_json(results) if as_json else format_lines(results))
    return has_failures(results)
