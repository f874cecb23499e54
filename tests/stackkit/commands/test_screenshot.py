"""The browser module's own failure paths; the full check against a real stack is `nox -s ui`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from isolation import invoke, isolated_environ

from stackkit.commands import screenshot as ui_check


def test_screenshot_without_a_stack_is_one_clear_error(tmp_path: Path) -> None:
    result = invoke(isolated_environ(tmp_path / "state"), "screenshot", "--output", str(tmp_path / "shot.png"))
    assert result.returncode == 1
    assert "error: cannot take the screenshot" in result.stderr and "is the stack up?" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "shot.png").exists()


@pytest.mark.needs("chromium", "chromedriver")
def test_screenshots_are_private_png_files(tmp_path: Path) -> None:
    with ui_check.browser() as driver:  # the real chromium, on a blank page
        driver.get("about:blank")
        saved = ui_check.save(driver, tmp_path / "shots" / "blank.png")
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    assert saved.read_bytes().startswith(b"\x89PNG\r\n")
