"""bootstrap.py for real: Debian's own (externally managed) python3 makes a copy of this repository's .venv,
with no working uv on PATH, the way a newcomer's machine looks. The uv and pip caches are the user's, so it
stays fast."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from stackkit.core.settings import REPO_ROOT

SYSTEM_PYTHON = Path("/usr/bin/python3")
# The PATH of a stock machine: the system Python, and no uv.
NEWCOMER_PATH = "/usr/bin:/bin"
# What a pyenv shim says for a program the selected Python does not have.
BROKEN_UV = "#!/bin/sh\necho 'pyenv: uv: command not found' >&2\nexit 127\n"

pytestmark = pytest.mark.needs("python3")  # SYSTEM_PYTHON


def copy_of_repo(destination: Path) -> Path:
    """The working tree as git sees it (tracked and new files, nothing ignored): what a clone would hold."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def bootstrap(repo: Path, *python_args: str) -> subprocess.CompletedProcess[str]:
    """`python3 bootstrap.py` in the copy, with a uv on PATH that does not work before the stock PATH."""
    shims = repo.parent / "shims"
    shims.mkdir(exist_ok=True)
    (shims / "uv").write_text(BROKEN_UV)
    (shims / "uv").chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{shims}:{NEWCOMER_PATH}"
    return subprocess.run(
        [str(SYSTEM_PYTHON), *python_args, "bootstrap.py"],
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_of_repo(tmp_path_factory.mktemp("bootstrap") / "stackkit")


def test_missing_venv_module_is_exit_2_with_the_fix(repo: Path) -> None:
    # Debian without python3-venv has no ensurepip: this is how that Python looks to bootstrap.py.
    result = bootstrap(
        repo,
        "-c",
        "import runpy, sys; sys.modules['ensurepip'] = None; runpy.run_path(sys.argv[1], run_name='__main__')",
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "apt-get install python3-venv" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (repo / ".venv").exists()


def test_bootstrap_makes_a_working_venv_then_does_nothing(repo: Path) -> None:
    started = time.monotonic()
    first = bootstrap(repo)
    first_s = time.monotonic() - started
    assert first.returncode == 0, first.stdout + first.stderr
    assert "installing uv into .venv with pip" in first.stdout  # no working uv on PATH
    assert "Traceback" not in first.stdout + first.stderr
    for program in ("invoke", "nox", "uv"):
        assert (repo / ".venv" / "bin" / program).exists(), program
    listed = subprocess.run(
        [str(repo / ".venv" / "bin" / "invoke"), "--list"], cwd=repo, capture_output=True, text=True, timeout=120
    )
    assert listed.returncode == 0, listed.stderr
    assert {"up", "down", "verify", "traffic"} <= {line.split()[0] for line in listed.stdout.splitlines()[2:] if line}

    stamp = repo / ".venv" / ".stackkit-bootstrap.json"
    stamped = stamp.stat().st_mtime_ns
    started = time.monotonic()
    second = bootstrap(repo)
    second_s = time.monotonic() - started
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.splitlines() == [line for line in second.stdout.splitlines() if "up to date" in line]
    assert stamp.stat().st_mtime_ns == stamped
    print(f"bootstrap.py: first run {first_s:.1f} s, second run {second_s:.2f} s")

    # A changed pyproject.toml installs again into the same .venv.
    with (repo / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n# changed by test_bootstrap\n")
    third = bootstrap(repo)
    assert third.returncode == 0, third.stdout + third.stderr
    assert "installing" in third.stdout and "creating .venv" not in third.stdout, third.stdout
