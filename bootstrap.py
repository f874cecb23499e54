"""Make the repository's own environment, .venv: `python3 bootstrap.py` (README's first command).

Standard library only, so it runs on a stock python3, including one that is "externally managed" (PEP 668:
Debian, Ubuntu, Homebrew), without --break-system-packages: nothing is installed outside .venv. The packages
go in with uv when `uv` is on PATH; otherwise pip installs uv into .venv first and uv does the rest (pip
alone, the fallback, takes minutes for Phoenix). A second run with an unchanged pyproject.toml does nothing.
Exit 2 when a prerequisite is missing, 1 when installing fails; never a traceback.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(REPO_ROOT, ".venv")
VENV_BIN = os.path.join(VENV, "Scripts" if os.name == "nt" else "bin")
VENV_PYTHON = os.path.join(VENV_BIN, "python")
# uv is installed into .venv too, so `.venv/bin/nox` finds it whatever PATH says.
REQUIREMENTS = ("-e", ".[stack,test]", "nox", "invoke", "uv")
PROGRAMS = ("invoke", "nox", "uv")
STAMP = os.path.join(VENV, ".stackkit-bootstrap.json")
MINIMUM_PYTHON = (3, 10)
OUTPUT_TAIL_LINES = 30

STARTED = time.monotonic()


class Failure(Exception):
    """What went wrong and what to do about it; `code` is the exit status."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


class Step:
    """One progress line per step: its name now, the seconds it took when it ends."""

    def __init__(self, text):
        self.text = text

    def __enter__(self):
        self.started = time.monotonic()
        sys.stdout.write(f"bootstrap: {self.text} ...")
        sys.stdout.flush()
        return self

    def __exit__(self, error_type, error, traceback):
        outcome = "failed" if error_type else "done"
        print(f" {outcome} ({time.monotonic() - self.started:.1f} s)", flush=True)
        return False


def run(command, what):
    """Run a command quietly; on failure raise with the last lines of its output."""
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)  # an activated other environment must not receive the packages
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    try:
        result = subprocess.run(
            command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
        )
    except OSError as error:
        raise Failure(f"{what}: cannot run {command[0]}: {error}") from None
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-OUTPUT_TAIL_LINES:]
        raise Failure(f"{what} failed (exit {result.returncode}): {' '.join(command)}\n" + "\n".join(output))
    return result.stdout


def check_prerequisites():
    if sys.version_info < MINIMUM_PYTHON:
        raise Failure(
            f"stackkit needs Python {'.'.join(map(str, MINIMUM_PYTHON))} or newer; {sys.executable} is "
            f"{sys.version.split()[0]}. Run this file with a newer python3.",
            code=2,
        )
    missing = [module for module in ("venv", "ensurepip") if not module_exists(module)]
    if missing:
        raise Failure(
            f"{sys.executable} has no {' or '.join(missing)} module, which creating .venv needs. "
            "On Debian/Ubuntu: sudo apt-get install python3-venv; elsewhere install a Python 3.10+ that "
            "includes venv.",
            code=2,
        )


def module_exists(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


def wanted_stamp():
    with open(os.path.join(REPO_ROOT, "pyproject.toml"), "rb") as pyproject:
        digest = hashlib.sha256(pyproject.read()).hexdigest()
    return {"pyproject_sha256": digest, "requirements": list(REQUIREMENTS), "venv": VENV}


def venv_python_version():
    """(major, minor) of .venv's Python, or None when .venv has no Python that runs."""
    if not os.path.exists(VENV_PYTHON):
        return None
    try:
        answer = subprocess.run(
            [VENV_PYTHON, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if answer.returncode != 0:
        return None
    return tuple(int(part) for part in answer.stdout.split())


def up_to_date():
    try:
        with open(STAMP) as stamp:
            recorded = json.load(stamp)
    except (OSError, ValueError):
        return False
    programs = all(os.path.exists(os.path.join(VENV_BIN, program)) for program in PROGRAMS)
    return recorded == wanted_stamp() and programs and venv_python_version() is not None


def ensure_venv():
    version = venv_python_version()
    if version is not None and version >= MINIMUM_PYTHON:
        return
    if os.path.exists(VENV):
        why = "has no working Python" if version is None else f"has Python {version[0]}.{version[1]}"
        with Step(f"removing .venv ({why})"):
            shutil.rmtree(VENV)
    interpreter = f"Python {sys.version.split()[0]} ({sys.executable})"
    with Step(f"creating .venv with {interpreter}"):
        run([sys.executable, "-m", "venv", VENV], "creating .venv")


def find_uv():
    """uv on PATH, else the one a previous run put into .venv; None when there is neither. A uv that does not
    answer `uv --version` (say a pyenv shim for a version without uv) does not count."""
    for candidate in (shutil.which("uv"), os.path.join(VENV_BIN, "uv")):
        if candidate and os.access(candidate, os.X_OK) and answers(candidate):
            return candidate
    return None


def answers(uv):
    try:
        return subprocess.run([uv, "--version"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def install():
    uv = find_uv()
    if uv is None:
        try:
            with Step("installing uv into .venv with pip"):
                run([VENV_PYTHON, "-m", "pip", "install", "--quiet", "uv"], "installing uv")
            uv = os.path.join(VENV_BIN, "uv")
        except Failure as failure:
            print(f"bootstrap: {str(failure).splitlines()[0]}; falling back to pip alone (slower)", flush=True)
    packages = " ".join(requirement for requirement in REQUIREMENTS if requirement != "-e")
    if uv:
        # Compiled to bytecode as installed (pip does so by default, uv only when asked): where the shell sets
        # PYTHONDONTWRITEBYTECODE=1, as many container images do, Python never caches what it compiles, and each
        # Phoenix start compiled its whole dependency tree again (about 7 of its 15 CPU-seconds of imports here).
        with Step(f"installing {packages} into .venv with uv"):
            command = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", VENV_PYTHON, *REQUIREMENTS]
            run(command, "installing with uv")
    else:
        with Step(f"installing {packages} into .venv with pip (minutes)"):
            run([VENV_PYTHON, "-m", "pip", "install", "--quiet", *REQUIREMENTS], "installing with pip")


def main():
    check_prerequisites()
    if up_to_date():
        print(f"bootstrap: .venv is up to date ({time.monotonic() - STARTED:.1f} s)", flush=True)
        return 0
    ensure_venv()
    install()
    with open(STAMP, "w") as stamp:
        json.dump(wanted_stamp(), stamp)
    print(
        f"bootstrap: .venv ready in {time.monotonic() - STARTED:.1f} s: .venv/bin/invoke, .venv/bin/nox",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as failure:
        print(f"bootstrap: {failure}", file=sys.stderr, flush=True)
        sys.exit(failure.code)
    except KeyboardInterrupt:
        print("\nbootstrap: interrupted; run it again to finish", file=sys.stderr, flush=True)
        sys.exit(130)
    except OSError as error:
        print(f"bootstrap: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
