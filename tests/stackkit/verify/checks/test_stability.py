"""stackkit/verify/checks/stability.py: components below the stability level Alloy runs with, wherever the
stack gives the flag (compose file, native command)."""

from __future__ import annotations

import dataclasses

import pytest
from verify_helpers import RepoCopy, assert_only_check_changed, edit

from stackkit.components import registry as components
from stackkit.verify.checks.stability import stability_flag

EXPORTER = "phoenix-exporter.alloy.j2"
COMPOSE = "docker-compose.yml"
STABILITY_ARGUMENT = "      - --stability.level=${ALLOY_STABILITY_LEVEL:?run through invoke up}\n"


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def test_without_the_stability_flag_the_compose_file_fails_naming_the_component_and_the_flag(copy: RepoCopy) -> None:
    before = copy.results()
    compose = copy.alloy(COMPOSE)
    command_line = line_of(compose.read_text(), "command:")
    edit(compose, STABILITY_ARGUMENT, "")
    result = assert_only_check_changed(
        before,
        copy.results(),
        "alloy.stability",
        "fail",
        "otelcol.storage.file is public-preview in Alloy v1.18.1",
        f"stacks/grafana-alloy/docker-compose.yml:{command_line} runs Alloy with no --stability.level "
        "(so generally-available): Alloy refuses to start",
    )
    assert "--stability.level=${ALLOY_STABILITY_LEVEL" in result.fix
    assert "phoenix-exporter.alloy" in result.summary  # where the component is


def test_a_native_command_without_the_flag_fails_naming_it(copy: RepoCopy, monkeypatch: pytest.MonkeyPatch) -> None:
    before = copy.results()
    without_flag = dataclasses.replace(components.ALLOY, native_command=lambda settings: ["alloy", "run", "folder"])
    monkeypatch.setattr(components, "ALLOY", without_flag)
    result = assert_only_check_changed(
        before,
        copy.results(),
        "alloy.stability",
        "fail",
        "otelcol.storage.file is public-preview in Alloy v1.18.1, but tests/stackkit/verify/checks/test_stability.py:",
        "runs Alloy with no --stability.level (so generally-available)",
    )
    assert "pass --stability.level=ALLOY_STABILITY_LEVEL (the setting: at least public-preview)" in result.fix


def test_an_unknown_level_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy(COMPOSE), STABILITY_ARGUMENT, "      - --stability.level=preview\n")
    assert_only_check_changed(
        before, copy.results(), "alloy.stability", "fail", "--stability.level=preview is not a level Alloy knows"
    )


def test_the_stability_flag_is_read_in_both_spellings() -> None:
    assert stability_flag(["run", "/etc/alloy", "--stability.level=experimental"])[0] == "experimental"
    assert stability_flag(["run", "--stability.level", "public-preview", "/etc/alloy"])[0] == "public-preview"
    assert stability_flag(["run", "/etc/alloy"]) == (None, None)
