"""The clients of the client matrix (tests/stackkit/clients/), installed once into the user's cache by the test
session: the OpenTelemetry JS SDK and its three OTLP trace exporters from npm, and the Collector project's
`telemetrygen` built from Go modules. Python's SDK and exporters are in the stack's environment already.

Each goes into a folder named by what it holds (the pinned versions), filled in a sibling folder and renamed into
place when complete, so an interrupted install never looks finished.

    python -m tools.client_tools           # install what is missing; print where each is
    python -m tools.client_tools --check   # exit 1 when one is missing (nothing is installed)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tools import system_packages

# A coherent set: sdk-trace-node 2.x goes with the 0.22x exporters (0.30x needs @opentelemetry/sdk-trace 3.x).
NODE_PACKAGES = {
    "@opentelemetry/api": "1.9.1",
    "@opentelemetry/sdk-trace-node": "2.12.1",
    "@opentelemetry/resources": "2.12.1",
    "@opentelemetry/exporter-trace-otlp-http": "0.223.1",
    "@opentelemetry/exporter-trace-otlp-proto": "0.223.1",
    "@opentelemetry/exporter-trace-otlp-grpc": "0.223.1",
}
TELEMETRYGEN_MODULE = "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen"
# The newest the module proxy serves (v0.165.x of contrib does not publish this module there).
TELEMETRYGEN_VERSION = "v0.161.0"


class InstallFailed(Exception):
    pass


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stackkit" / "clients"


def node_modules() -> Path:
    """The folder NODE_PATH names for the matrix's Node.js app."""
    pinned = json.dumps(NODE_PACKAGES, sort_keys=True).encode()
    return cache_root() / f"node-{hashlib.sha256(pinned).hexdigest()[:16]}" / "node_modules"


def telemetrygen() -> Path:
    return cache_root() / f"telemetrygen-{TELEMETRYGEN_VERSION}" / "telemetrygen"


def _run(command: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> None:
    with log.open("w") as output:
        result = subprocess.run(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, env=env, timeout=1800)
    if result.returncode != 0:
        tail = log.read_text()[-2000:]
        raise InstallFailed(f"`{' '.join(command)}` failed (exit {result.returncode}); {log}:\n{tail}")


def _fill(final: Path, fill: Callable[[Path], None]) -> None:
    """Fill a sibling folder with `fill(folder)`, then rename it to `final`."""
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    fill(partial)
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)


def install_node(npm: str) -> Path:
    target = node_modules()
    if target.is_dir():
        return target

    def fill(folder: Path) -> None:
        (folder / "package.json").write_text(json.dumps({"private": True, "dependencies": NODE_PACKAGES}) + "\n")
        _run([npm, "install", "--no-audit", "--no-fund", "--ignore-scripts"], folder, folder / "npm-install.log")

    _fill(target.parent, fill)
    return target


def install_telemetrygen(go: str) -> Path:
    target = telemetrygen()
    if target.is_file():
        return target

    def fill(folder: Path) -> None:
        env = {**os.environ, "GOBIN": str(folder), "GOFLAGS": "-buildvcs=false"}
        command = [go, "install", f"{TELEMETRYGEN_MODULE}@{TELEMETRYGEN_VERSION}"]
        _run(command, folder, folder / "go-install.log", env)

    _fill(target.parent, fill)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.client_tools", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only say whether they are installed")
    args = parser.parse_args(argv)
    if args.check:
        absent = [str(path) for path in (node_modules(), telemetrygen()) if not path.exists()]
        print("client matrix: missing " + ", ".join(absent) if absent else "client matrix: installed")
        return 1 if absent else 0
    installs: tuple[tuple[str, Callable[[str], Path]], ...] = (("npm", install_node), ("go", install_telemetrygen))
    status = 0
    for name, install in installs:
        program = system_packages.BY_NAME[name].locate()
        if program is None:
            # The tests that need it skip naming the program (fail under CI=true): system_packages says how.
            print(f"client matrix: no {name}, its clients are not installed")
            status = 1
            continue
        try:
            print(f"client matrix: {install(program)}", flush=True)
        except InstallFailed as error:
            print(f"client matrix: {error}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
