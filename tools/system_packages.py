"""The system programs the checks need, declared once: program -> Debian package -> the nox sessions that need it.

`python -m tools.system_packages install SESSION...` runs first in each nox session: as root it
apt-get installs what is missing; otherwise it names what is missing in one line with the `apt-get install`
command, and the tests that need it skip (under CI=true they fail, and so does this command). The tests ask
through `tests/system.py` (`@pytest.mark.needs("nginx")`), which reads the same table.

Standard library only: it runs before any environment exists.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from stackkit.core.output import Printer


@dataclass(frozen=True)
class SystemProgram:
    name: str  # what a test asks for: `needs("nginx")`
    package: str  # the Debian package that provides it; "" when apt cannot (install_hint says how)
    sessions: tuple[str, ...]  # the nox sessions that install it before their tests
    why: str
    # Where to look: a bare name is searched on PATH, an absolute path (a glob) is checked as it is. sbin
    # folders are listed because they are not on an ordinary user's PATH on Debian.
    candidates: tuple[str, ...] = ()
    install_hint: str = ""

    def locate(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The program's path, or None where it is not installed."""
        path = (os.environ if environ is None else environ).get("PATH", os.defpath)
        for candidate in self.candidates or (self.name,):
            if not os.path.isabs(candidate):
                found = shutil.which(candidate, path=path)
                if found:
                    return found
                continue
            # Newest last: /usr/lib/postgresql/15/bin sorts before /usr/lib/postgresql/16/bin.
            for match in sorted(glob.glob(os.path.expanduser(candidate)), key=_version_key, reverse=True):
                if os.access(match, os.X_OK) and not os.path.isdir(match):
                    return match
        return None

    @property
    def how_to_install(self) -> str:
        return self.install_hint or f"apt-get install -y {self.package}"


def _version_key(path: str) -> list[int]:
    return [int(part) for part in Path(path).parts if part.isdigit()]


PROGRAMS: tuple[SystemProgram, ...] = (
    SystemProgram(
        "python3",
        "python3-venv",
        ("tests",),
        "bootstrap.py is tested with Debian's own (externally managed) Python, as README's first command runs it",
        ("/usr/bin/python3",),
    ),
    SystemProgram(
        "initdb",
        "postgresql",
        ("tests",),
        "the PostgreSQL tests start their own server (initdb, pg_ctl) on loopback",
        ("initdb", "/usr/lib/postgresql/*/bin/initdb"),
    ),
    SystemProgram(
        "pg_ctl",
        "postgresql",
        ("tests",),
        "starts and stops that server",
        ("pg_ctl", "/usr/lib/postgresql/*/bin/pg_ctl"),
    ),
    SystemProgram(
        "nginx", "nginx", ("tests",), "the remote-Phoenix tests put a TLS proxy in front", ("nginx", "/usr/sbin/nginx")
    ),
    SystemProgram(
        "chromium", "chromium", ("tests", "ui"), "the UI check drives a real browser", ("/usr/bin/chromium",)
    ),
    SystemProgram(
        "chromedriver",
        "chromium-driver",
        ("tests", "ui"),
        "Selenium drives chromium through it",
        ("/usr/bin/chromedriver",),
    ),
    SystemProgram(
        "docker-compose",
        "docker-compose",
        ("tests", "smoke_docker"),
        "a real Compose reads the compose files (no engine needed for that) and runs them",
        (
            "docker-compose",
            "/usr/libexec/docker/cli-plugins/docker-compose",
            "/usr/lib/docker/cli-plugins/docker-compose",
            "~/.docker/cli-plugins/docker-compose",
        ),
    ),
    SystemProgram(
        "dockerd",
        "docker.io",
        ("smoke_docker",),
        "the Docker engine, started by PID and stopped by PID",
        ("dockerd", "/usr/sbin/dockerd"),
    ),
    SystemProgram("docker", "docker.io", ("smoke_docker",), "the Docker client"),
    SystemProgram(
        "debootstrap",
        "debootstrap",
        ("smoke_docker",),
        "the base image is a debootstrap root filesystem (no registry)",
        ("debootstrap", "/usr/sbin/debootstrap"),
    ),
    SystemProgram(
        "prometheus",
        "prometheus",
        ("tests",),
        "a real Prometheus receives remote-written metrics and runs the alert rules against a real Phoenix",
    ),
    SystemProgram("promtool", "prometheus", ("tests",), "checks the alert rules and runs their unit cases"),
    SystemProgram(
        "node",
        "nodejs",
        ("tests",),
        "the client matrix runs a stock Node.js app with the OpenTelemetry JS SDK against the stack",
    ),
    SystemProgram(
        "npm",
        "npm",
        ("tests",),
        "installs the OpenTelemetry JS SDK and its OTLP exporters for the client matrix into the user's cache",
    ),
    SystemProgram(
        "go",
        "",
        ("tests", "collector"),
        "builds the OpenTelemetry Collector, the client matrix's telemetrygen, Alloy's parser for the differential "
        "test of stackkit/alloy/syntax.py "
        "(Go 1.21 or later: it fetches the toolchain go.mod asks for) and runs the Alloy schema deriver",
        ("go", "/usr/local/go/bin/go"),
        install_hint="install Go into /usr/local/go (https://go.dev/doc/install); it is not a Debian package here",
    ),
)
BY_NAME = {program.name: program for program in PROGRAMS}


class UnknownProgram(KeyError):
    pass


def programs_named(names: Iterable[str]) -> list[SystemProgram]:
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise UnknownProgram(f"not declared in tools/system_packages.py: {', '.join(unknown)}")
    return [BY_NAME[name] for name in names]


def for_sessions(sessions: Iterable[str]) -> list[SystemProgram]:
    wanted = set(sessions)
    return [program for program in PROGRAMS if wanted & set(program.sessions)]


def missing(programs: Iterable[SystemProgram], environ: Mapping[str, str] | None = None) -> list[SystemProgram]:
    return [program for program in programs if program.locate(environ) is None]


def install_command(programs: Iterable[SystemProgram]) -> str:
    """One line that installs them: `apt-get install -y a b`, then how to get what apt does not have."""
    programs = list(programs)
    packages = list(dict.fromkeys(program.package for program in programs if program.package))
    parts = [f"apt-get install -y {' '.join(packages)}"] if packages else []
    parts += [program.install_hint for program in programs if not program.package]
    return "; ".join(parts)


def describe(programs: Iterable[SystemProgram]) -> str:
    """`nginx, chromedriver (as root: apt-get install -y nginx chromium-driver)`."""
    programs = list(programs)
    return f"{', '.join(program.name for program in programs)} (as root: {install_command(programs)})"


def ci_strict(environ: Mapping[str, str] | None = None) -> bool:
    """Under CI a missing program is a failure, never a skip."""
    return (os.environ if environ is None else environ).get("CI", "").strip().lower() in {"true", "1", "yes"}


def is_root() -> bool:
    return os.geteuid() == 0


MISSING_UNDER_CI = 1
INSTALL_FAILED = 2
MISSING_LOCALLY = 3


class InstallFailed(Exception):
    pass


# Debian's way to keep a package's service from starting when it is installed (exit 101: "not allowed").
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


def apt_install(packages: list[str], out: Printer = print) -> None:
    """apt-get install, with the packages' services left stopped: the tests start their own on free ports, and
    Debian's prometheus service would take port 9090, which Phoenix hard-codes for its metrics."""
    started = time.monotonic()
    out(f"system packages: apt-get install -y {' '.join(packages)}")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    placed = not POLICY_RC_D.exists()
    if placed:
        POLICY_RC_D.write_text("#!/bin/sh\n# stackkit: no service starts while the test packages install\nexit 101\n")
        POLICY_RC_D.chmod(0o755)
    try:
        for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *packages]):
            result = subprocess.run(command, env=environment, capture_output=True, text=True)
            if result.returncode != 0:
                raise InstallFailed(f"`{' '.join(command)}` failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    finally:
        if placed:
            POLICY_RC_D.unlink(missing_ok=True)
    out(f"system packages: installed {' '.join(packages)} in {time.monotonic() - started:.1f}s")


def ensure(
    sessions: Iterable[str],
    out: Printer = print,
    environ: Mapping[str, str] | None = None,
    may_install: bool | None = None,
) -> int:
    """Install (as root) what the sessions need and is missing; otherwise name it in one line. Returns the exit
    status: 0 all there, MISSING_UNDER_CI or INSTALL_FAILED (failures), or MISSING_LOCALLY (the tests that
    need it skip; a session that is one such check, like `ui`, skips itself)."""
    sessions = list(sessions)
    needed = for_sessions(sessions)
    absent = missing(needed, environ)
    installable = list(dict.fromkeys(program.package for program in absent if program.package))
    if absent and installable and (is_root() if may_install is None else may_install):
        try:
            apt_install(installable, out)
        except InstallFailed as error:
            out(str(error))
            return INSTALL_FAILED
        absent = missing(absent, environ)
    label = f"nox -s {','.join(sessions)}"
    if not absent:
        out(f"{label}: system programs present: {', '.join(p.name for p in needed) or 'none needed'}")
        return 0
    if ci_strict(environ):
        out(f"{label}: CI=true and not installed: {describe(absent)}")
        return MISSING_UNDER_CI
    out(f"{label}: not installed: {describe(absent)}; the tests that need them are skipped")
    return MISSING_LOCALLY


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.system_packages", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    install = commands.add_parser("install", help="install (root) or name what the sessions need")
    install.add_argument("sessions", nargs="+")
    commands.add_parser("list", help="every declared program, its package, its sessions and whether it is here")
    args = parser.parse_args(argv)
    if args.command == "install":
        return ensure(args.sessions)
    for program in PROGRAMS:
        where = program.locate() or "MISSING"
        print(f"{program.name:<15} {program.package or '-':<16} {','.join(program.sessions) or '-':<20} {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
