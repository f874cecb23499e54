"""What a test needs from the system, asked one way: `@pytest.mark.needs("nginx")` (or `require("nginx")` inside a
fixture). A missing program skips the test with the package to install; under CI=true it fails instead, so a
green CI run never hides a test that did not run. The programs and packages are declared in
tools/system_packages.py."""

from __future__ import annotations

from typing import NoReturn

import pytest

from tools import system_packages


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail under CI=true."""
    if system_packages.ci_strict():
        pytest.fail(f"{reason} (CI=true: this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def require(*names: str) -> dict[str, str]:
    """The paths of the named programs; skips (fails under CI=true) naming the packages of the missing ones."""
    programs = system_packages.programs_named(names)
    absent = system_packages.missing(programs)
    if absent:
        unavailable(f"needs {system_packages.describe(absent)}")
    return {program.name: str(program.locate()) for program in programs}


def check_needs(item: pytest.Item) -> None:
    """conftest's pytest_runtest_setup: the `needs` markers of a test, before its fixtures run."""
    for marker in item.iter_markers("needs"):
        require(*marker.args)
