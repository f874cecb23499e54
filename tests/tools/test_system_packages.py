"""The system programs are declared once and asked one way: a missing one names its package, skips the test
locally and fails it under CI=true. Absence is made real with a PATH that lacks the program."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stackkit.core.settings import REPO_ROOT
from tools import skipped, system_packages

# A real test of the suite that needs Compose (and nothing else from the system).
COMPOSE_TEST = "tests/stackkit/test_security.py::test_compose_publishes_the_uis_on_loopback_unless_opened"


def without_programs(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment with a PATH holding no program at all (pytest runs from its absolute path)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    environ = {key: value for key, value in os.environ.items() if key != "CI"}
    return environ | {"PATH": str(empty)} | extra


def nox_sessions() -> dict[str, ast.FunctionDef]:
    tree = ast.parse((REPO_ROOT / "noxfile.py").read_text())
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and any("session" in ast.unparse(d) for d in node.decorator_list)
    }


def test_every_program_names_its_package_or_how_to_get_it_and_real_sessions() -> None:
    sessions = nox_sessions()
    for program in system_packages.PROGRAMS:
        assert program.package or program.install_hint, program
        assert set(program.sessions) <= set(sessions), program
    # Each session that needs a program installs it before its tests run.
    for name in {session for program in system_packages.PROGRAMS for session in program.sessions}:
        body = ast.unparse(sessions[name])
        assert body.index("install_system_programs(session)") < body.index("run_in_stack_env("), name


def test_the_install_command_is_one_apt_get_line_with_each_package_once() -> None:
    programs = system_packages.programs_named(["initdb", "pg_ctl", "chromium", "chromedriver", "go"])
    command = system_packages.install_command(programs)
    assert command.startswith("apt-get install -y postgresql chromium chromium-driver; install Go into /usr/local/go")
    with pytest.raises(system_packages.UnknownProgram, match="not declared"):
        system_packages.programs_named(["no-such-program"])


def test_a_program_is_found_on_path_and_in_its_fixed_folders(tmp_path: Path) -> None:
    compose = system_packages.BY_NAME["docker-compose"]
    assert compose.locate({"PATH": str(tmp_path)}) is None
    program = tmp_path / "docker-compose"
    program.write_text("#!/bin/sh\n")
    assert compose.locate({"PATH": str(tmp_path)}) is None  # not executable: not a program
    program.chmod(0o755)
    assert compose.locate({"PATH": str(tmp_path)}) == str(program)
    # initdb lives off PATH in /usr/lib/postgresql/<major>/bin on Debian: found there with an empty PATH.
    initdb = system_packages.BY_NAME["initdb"].locate({"PATH": str(tmp_path / "none")})
    assert initdb is None or initdb.startswith("/usr/lib/postgresql/")


def test_the_install_step_names_what_is_missing_in_one_line_and_fails_only_under_ci(tmp_path: Path) -> None:
    lines: list[str] = []
    local = without_programs(tmp_path)
    missing_locally = system_packages.ensure(["smoke_docker"], lines.append, local, may_install=False)
    assert missing_locally == system_packages.MISSING_LOCALLY
    under_ci = system_packages.ensure(["smoke_docker"], lines.append, local | {"CI": "true"}, may_install=False)
    assert under_ci == system_packages.MISSING_UNDER_CI
    assert len(lines) == 2
    # The two looked up on PATH only are missing here whatever the machine has; dockerd and debootstrap are
    # found in /usr/sbin where this machine has them installed (off an ordinary user's PATH), else named too.
    absent = [program for program in system_packages.for_sessions(["smoke_docker"]) if program.locate(local) is None]
    assert [program.name for program in absent if program.name in ("docker-compose", "docker")] == [
        "docker-compose",
        "docker",
    ]
    assert lines[0] == (
        f"nox -s smoke_docker: not installed: {system_packages.describe(absent)}; the tests that need them are skipped"
    )
    assert "(as root: apt-get install -y docker-compose docker.io" in lines[0]
    assert lines[1] == f"nox -s smoke_docker: CI=true and not installed: {system_packages.describe(absent)}"
    present: list[str] = []
    assert system_packages.ensure(["lint"], present.append, local, may_install=False) == 0
    assert present == ["nox -s lint: system programs present: none needed"]


def run_pytest(tmp_path: Path, environ: dict[str, str], name: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    report = tmp_path / f"{name}.xml"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", COMPOSE_TEST, "-p", "no:cacheprovider", "-rs", f"--junitxml={report}"],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=240,
    )
    return result, report


def test_a_test_needing_a_missing_program_skips_with_its_package_and_fails_under_ci(tmp_path: Path) -> None:
    result, report = run_pytest(tmp_path, without_programs(tmp_path), "local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "needs docker-compose (as root: apt-get install -y docker-compose)" in result.stdout
    (skip,) = skipped.skips(report)
    assert skip.test.endswith("test_compose_publishes_the_uis_on_loopback_unless_opened")
    assert skip.reason == "needs docker-compose (as root: apt-get install -y docker-compose)"

    result, report = run_pytest(tmp_path, without_programs(tmp_path, CI="true"), "ci")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 error" in result.stdout.splitlines()[-1]  # failed in setup, before the test body
    assert "skipped" not in result.stdout.splitlines()[-1]
    assert "needs docker-compose (as root: apt-get install -y docker-compose) (CI=true: this is a failure" in (
        result.stdout
    )
    assert skipped.skips(report) == []


def test_the_skip_list_reads_every_report_and_says_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "tests.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.a" name="test_ran"/>'
        '<testcase classname="tests.b" name="test_x"><skipped type="pytest.skip" message="needs nginx">'
        "tests/b.py:3: needs nginx</skipped></testcase>"
        "</testsuite></testsuites>"
    )
    assert skipped.main([str(report), str(tmp_path / "absent.xml")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "skipped tests (1 pytest report(s)): 1",
        "  [tests] tests.b::test_x: needs nginx",
    ]
    report.write_text(
        '<testsuites><testsuite name="pytest"><testcase classname="a" name="b"/></testsuite></testsuites>'
    )
    skipped.main([str(report)])
    assert capsys.readouterr().out == "skipped tests (1 pytest report(s)): none\n"


def test_development_docs_install_every_declared_package_with_one_command() -> None:
    readme = (REPO_ROOT / "docs" / "development.md").read_text().splitlines()
    marker = readme.index("<!-- system packages: every package of tools/system_packages.py (a test checks) -->")
    assert readme[marker + 1] == "```bash"
    packages = list(dict.fromkeys(program.package for program in system_packages.PROGRAMS if program.package))
    assert readme[marker + 2] == f"sudo apt-get install -y {' '.join(packages)}"
