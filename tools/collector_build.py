"""Build the stack's own OpenTelemetry Collector from the committed builder manifest (`nox -s collector`).

The Collector Builder (`go.opentelemetry.io/collector/cmd/builder`) is installed into the cache with
`go install`, then builds once into `<cache>/<manifest hash>/` (stackkit.components.otelcol.build_dir): a changed
manifest is a new folder, an unchanged one is never rebuilt. The build happens in a sibling folder that is
renamed into place when it succeeded, so an interrupted build never looks finished.

    python -m tools.collector_build            # build when missing, print the binary's path
    python -m tools.collector_build --check    # exit 1 when not built (nothing is built)
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from stackkit.components import otelcol
from stackkit.core.errors import OperationFailed, StackkitError, UsageError
from stackkit.core.output import Printer
from tools import system_packages

# The builder's release is the manifest's core release (test_collector_build checks they agree).
BUILDER_MODULE = "go.opentelemetry.io/collector/cmd/builder"
BUILDER_VERSION = "v0.165.0"


class BuildFailed(OperationFailed):
    """A step of the build failed; the message names it and the log holding its output."""


def _print(line: str) -> None:
    print(line, flush=True)


def find_go() -> str:
    go = system_packages.BY_NAME["go"]
    found = go.locate()
    if not found:
        raise UsageError(
            f"building the Collector needs Go 1.24 or newer: {go.how_to_install}; or put an `otelcol-contrib` "
            "binary on PATH instead of the stack's own build"
        )
    return found


def builder_binary() -> Path:
    return otelcol.cache_root() / f"builder-{BUILDER_VERSION}" / "builder"


def _run_step(what: str, command: list[str], env: dict[str, str], cwd: Path, log: Path, out: Printer) -> None:
    """Run one step with its output in `log`, a progress line every 30 s while it runs."""
    started = time.monotonic()
    with open(log, "ab") as handle:
        handle.write(f"$ {' '.join(command)}\n".encode())
        handle.flush()
        # Its own process group: `go build` and its compilers stop with it when the build is interrupted.
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            while True:
                try:
                    code = process.wait(timeout=30)
                    break
                except subprocess.TimeoutExpired:
                    out(f"collector build: {what}: still running ({time.monotonic() - started:.0f}s)")
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait()
            raise
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise BuildFailed(f"collector build: {what} failed (exit {code}); its output is in {log}:\n{tail}")
    out(f"collector build: {what}: done in {time.monotonic() - started:.1f}s")


def _go_env(go: str) -> dict[str, str]:
    env = dict(os.environ)
    # The builder runs `go` itself: the one found here, first on PATH.
    env["PATH"] = f"{Path(go).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("CGO_ENABLED", "0")
    return env


def install_builder(go: str, out: Printer) -> Path:
    target = builder_binary()
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    env = _go_env(go) | {"GOBIN": str(target.parent)}
    _run_step(
        f"go install {BUILDER_MODULE}@{BUILDER_VERSION}",
        [go, "install", f"{BUILDER_MODULE}@{BUILDER_VERSION}"],
        env,
        target.parent,
        target.parent / "install.log",
        out,
    )
    return target


def build(out: Printer = _print, force: bool = False) -> Path:
    """The built Collector's path, building it first when it is missing (or `force`). One build per manifest
    at a time: a second `nox -s collector` (another checkout, a CI job beside a helper's) waits for the first
    and then finds it built, instead of deleting its half-done folder."""
    binary = otelcol.built_binary()
    if binary.is_file() and not force:
        out(f"collector build: already built: {binary}")
        return binary
    final = otelcol.build_dir()
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.with_name(final.name + ".lock"), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            out(f"collector build: another build of this manifest is running; waiting for it ({lock.name})")
            fcntl.flock(lock, fcntl.LOCK_EX)
            if binary.is_file() and not force:
                out(f"collector build: built by the other build: {binary}")
                return binary
        return _build_locked(binary, final, out)


def _build_locked(binary: Path, final: Path, out: Printer) -> Path:
    started = time.monotonic()
    go = find_go()
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=False).stdout.strip()
    out(f"collector build: {version or go}; manifest {otelcol.MANIFEST.name} (hash {otelcol.manifest_hash()})")
    builder = install_builder(go, out)
    work = final.with_name(final.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    manifest = yaml.safe_load(otelcol.MANIFEST.read_text())
    manifest["dist"]["output_path"] = str(work / "src")
    (work / "builder-config.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    out(f"collector build: compiling into {final} (cold: minutes; the log is {work / 'build.log'})")
    _run_step(
        "builder (go mod download + go build)",
        [str(builder), "--config", str(work / "builder-config.yaml")],
        _go_env(go),
        work,
        work / "build.log",
        out,
    )
    produced = work / "src" / otelcol.BINARY_NAME
    if not produced.is_file():
        raise BuildFailed(f"collector build: the builder finished but {produced} is missing; see {work / 'build.log'}")
    shutil.move(produced, work / otelcol.BINARY_NAME)
    shutil.rmtree(work / "src")  # the generated sources: gigabytes of nothing once built
    if final.exists():
        shutil.rmtree(final)
    work.rename(final)
    out(f"collector build: built {binary} in {time.monotonic() - started:.1f}s")
    return binary


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    # A CI job that stops a background build sends SIGTERM: stop the compilers too.
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(prog="python -m tools.collector_build", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is built (exit 1 when not)")
    parser.add_argument("--force", action="store_true", help="build again even when built")
    args = parser.parse_args(argv)
    try:
        if args.check:
            binary = otelcol.built_binary()
            print(binary if binary.is_file() else f"not built: {binary} (`nox -s collector` builds it)")
            return 0 if binary.is_file() else 1
        print(build(force=args.force))
        return 0
    except StackkitError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
