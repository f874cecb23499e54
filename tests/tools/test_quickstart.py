"""README's quickstart block: exactly two commands, and .ci/run runs what README says (read, not copied)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stackkit.core.settings import REPO_ROOT
from tools.quickstart import QUICKSTART_MARKER, QuickstartError, quickstart_commands

CI_RUN = REPO_ROOT / ".ci" / "run"


def test_readme_quickstart_is_two_commands_one_up_one_checks() -> None:
    bring_up, run_checks = quickstart_commands()
    assert "bootstrap.py" in bring_up and "invoke up" in bring_up
    assert run_checks.split()[0].endswith("nox")


def test_readme_is_a_short_page_that_opens_on_the_quickstart() -> None:
    lines = (REPO_ROOT / "README.md").read_text().splitlines()
    assert len(lines) < 250, f"README.md has {len(lines)} lines: move reference into docs/"
    headings = [(number, line) for number, line in enumerate(lines, 1) if line.startswith("## ")]
    assert headings[0][1] == "## Quickstart"
    assert headings[0][0] <= 40, f"the quickstart starts on line {headings[0][0]}, off the first screen"


def test_ci_runs_the_commands_it_reads_from_readme() -> None:
    # The system Python, as .ci/run calls it: the module must need nothing but the standard library.
    printed = subprocess.run(
        ["/usr/bin/python3", "-m", "tools.quickstart"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert printed.stdout.splitlines() == quickstart_commands()
    ci = CI_RUN.read_text()
    assert "python3 -m tools.quickstart" in ci
    ci_lines = [line.strip() for line in ci.splitlines()]
    for command in quickstart_commands():
        assert command not in ci_lines, f".ci/run copies {command!r} instead of reading it from README"


def readme(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "README.md"
    path.write_text(f"# title\n\n## Quickstart\n\n{body}")
    return path


def test_three_commands_are_refused_with_the_line(tmp_path: Path) -> None:
    path = readme(tmp_path, f"{QUICKSTART_MARKER}\n```bash\na\n# a comment\nb\nc\n```\n")
    with pytest.raises(QuickstartError, match=r"README.md:7: .* holds 3 commands"):
        quickstart_commands(path)


def test_the_block_must_follow_the_marker(tmp_path: Path) -> None:
    with pytest.raises(QuickstartError, match="no line"):
        quickstart_commands(readme(tmp_path, "```bash\na\nb\n```\n"))
    with pytest.raises(QuickstartError, match=r"README.md:5: .* followed by a fenced code block"):
        quickstart_commands(readme(tmp_path, f"{QUICKSTART_MARKER}\nsome prose\n```bash\na\nb\n```\n"))
    with pytest.raises(QuickstartError, match="never closed"):
        quickstart_commands(readme(tmp_path, f"{QUICKSTART_MARKER}\n```bash\na\nb\n"))
