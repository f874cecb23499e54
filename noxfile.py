"""Maintainer and CI checks. `nox` runs lint, typecheck, tests, smoke and ui; smoke_docker and bench on demand."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nox

# Standard library only, so it loads under any nox; the repository is not on sys.path under the `nox` script.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tools import system_packages

nox.options.sessions = ["lint", "typecheck", "tests", "smoke", "ui"]
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True

# Installing arize-phoenix takes minutes with pip: every session that runs the stack shares this one.
STACK_ENV = Path(".nox/stack").resolve()
# One JUnit XML per pytest session: .ci/run lists every skipped test of the run from them.
TEST_REPORTS = Path(".nox/reports").resolve()


def install_system_programs(session: nox.Session) -> bool:
    """As root, apt-get install the programs this session needs; otherwise name them in one line. False when
    some are missing (their tests skip); under CI=true that fails the session."""
    status = system_packages.ensure([session.name], out=session.log)
    if status not in (0, system_packages.MISSING_LOCALLY):
        session.error("the system programs above are missing (under CI=true that is a failure, not a skip)")
    return status == 0


def junit_report(session: nox.Session) -> str:
    return f"--junitxml={TEST_REPORTS / session.name}.xml"


def find_uv() -> str | None:
    """uv next to the Python running nox (`.venv/bin/nox` runs with .venv/bin off PATH), else uv on PATH."""
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.exists() else shutil.which("uv")


def run_in_stack_env(
    session: nox.Session, program: str, *args: str, extras: str = "stack,test", success_codes: list[int] | None = None
) -> None:
    """Create or update the shared environment, then run one of its programs with it first on PATH."""
    python = STACK_ENV / "bin" / "python"
    uv = find_uv()
    if uv:
        if not python.exists():
            session.run(uv, "venv", "--quiet", str(STACK_ENV), external=True)
        # --compile-bytecode: Phoenix starts some hundred times in the tests; under PYTHONDONTWRITEBYTECODE=1 each
        # start compiled its dependencies again (bootstrap.py says more).
        install = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python)]
        session.run(*install, "-e", f".[{extras}]", external=True)
    else:
        if not python.exists():
            session.run("python3", "-m", "venv", str(STACK_ENV), external=True)
        session.run(str(python), "-m", "pip", "install", "--quiet", "-e", f".[{extras}]", external=True)
    # The stack's own subprocesses (invoke, phoenix, uvicorn) must come from this environment too.
    env = {"VIRTUAL_ENV": str(STACK_ENV), "PATH": f"{STACK_ENV / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    session.run(str(STACK_ENV / "bin" / program), *args, env=env, external=True, success_codes=success_codes or [0])


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, compose files through a real Compose (or the Compose schema), Alloy files through verify --static."""
    session.install("-e", ".", "ruff", "pyyaml", "jsonschema")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # Where no Compose is installed, the schema inside this wheel (downloaded, not installed) is the judge.
    wheels = Path(session.create_tmp())
    session.run(
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--dest",
        str(wheels),
        "docker-compose==1.29.2",
        external=True,
    )
    session.run("python", "-m", "tools.compose_lint", "--schema-wheel", str(next(wheels.glob("*.whl"))))
    session.run("invoke", "verify", "--static")
    if shutil.which("alloy"):
        session.run("alloy", "fmt", "stacks/grafana-alloy/config.alloy", external=True)
    else:
        session.log("no alloy binary on PATH: `alloy fmt` skipped (the static checks above parse the files)")


@nox.session(venv_backend="none")
def typecheck(session: nox.Session) -> None:
    """mypy over the package, tools/, the demo, tasks.py and noxfile.py (configured in pyproject.toml)."""
    run_in_stack_env(session, "mypy", *session.posargs, extras="stack,test,typecheck")


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Unit and integration tests against the real Phoenix, the real demo and PostgreSQL, with coverage."""
    # The docker tests build images and start an engine: they run in smoke_docker.
    pytest_args = session.posargs or ["-m", "not docker"]
    install_system_programs(session)
    # The client matrix's Node.js SDK and telemetrygen, once into the user's cache (a test without them skips
    # locally, fails under CI=true).
    run_in_stack_env(session, "python", "-m", "tools.client_tools", success_codes=[0, 1])
    # The 20 slowest tests end the report (so `.ci/run` shows where the suite's time goes). Test files run in
    # parallel, two per core: their tests mostly wait on the real programs they start. A file stays on one worker
    # (its module fixtures are shared), the longest files first (tests/conftest.py); `-n 0` runs them in turn.
    workers = 2 * (os.cpu_count() or 1)
    run_in_stack_env(
        session,
        "pytest",
        f"--numprocesses={workers}",
        "--dist=loadfile",
        "--no-loadscope-reorder",
        "--durations=20",
        "--cov",
        "--cov-report=term",
        "--cov-report=xml",
        junit_report(session),
        *pytest_args,
    )


@nox.session(venv_backend="none")
def smoke(session: nox.Session) -> None:
    """The user's path, up -> verify -> traffic -> read back -> down, in a fresh state folder on free ports."""
    run_in_stack_env(session, "python", "-m", "tools.smoke", *session.posargs)


@nox.session(venv_backend="none")
def ui(session: nox.Session) -> None:
    """up -> traffic 20 -> verify x3 -> eval -> the Phoenix UI in headless chromium; screenshots in the session tmp."""
    if not install_system_programs(session):
        session.skip("the browser is not installed (the line above says how)")
    run_in_stack_env(session, "python", "-m", "tools.ui_check", "--out", session.create_tmp(), *session.posargs)


@nox.session(venv_backend="none", default=False)
def smoke_docker(session: nox.Session) -> None:
    """The smoke path on the docker runtime, with a local engine and locally built images: app -> the stack's own
    Collector build -> Phoenix, each in a container."""
    if not install_system_programs(session):
        session.skip("the docker path's programs are not installed (the line above says how)")
    # The Collector's image is that build copied onto the local base: built first (a no-op when it is).
    run_in_stack_env(session, "python", "-m", "tools.collector_build")
    run_in_stack_env(session, "pytest", "-m", "docker", "-s", junit_report(session))
    run_in_stack_env(session, "python", "-m", "tools.smoke", "--runtime", "docker", *session.posargs)


@nox.session(venv_backend="none", default=False)
def collector(session: nox.Session) -> None:
    """Build the stack's own OpenTelemetry Collector (Go) once into the user's cache; the tests run it."""
    install_system_programs(session)
    run_in_stack_env(session, "python", "-m", "tools.collector_build", *session.posargs)


@nox.session(venv_backend="none", default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks on the native runtime; JSON, a table and a plot in bench/results/."""
    run_in_stack_env(session, "python", "-m", "tools.bench", *session.posargs, extras="stack,test,bench")
