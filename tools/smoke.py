"""The smoke test: the user's path with the user's commands, in a fresh state folder on free ports.

`invoke up` -> `invoke verify` -> `invoke traffic` -> every trace read back from Phoenix -> `invoke down`.
It never touches a stack the user already runs, always tears down, and on failure shows the logs of the
component that failed.

On docker (`--runtime docker`, no registry here) every image is built locally through its component's
`build_image` hook, and the apps send through the fan-out: STACK_COLLECTOR=otelcol, the stack's own Collector
build in a container, so the path is app -> Collector -> Phoenix, each in a container; the Collector's own
counters must show the spans Phoenix holds went through it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from stackkit.components import otelcol
from stackkit.components import registry as components
from stackkit.core.errors import OperationFailed
from stackkit.core.ports import free_ports
from stackkit.core.setting_values import OTELCOL_NAME, PHOENIX_NAME
from stackkit.core.settings import HOST_PORT_SETTINGS, REPO_ROOT, load_settings
from stackkit.docker import images
from stackkit.phoenix.api import PhoenixError, phoenix_client


class SmokeFailure(OperationFailed):
    pass


def smoke_environment(state_dir: Path, runtime: str) -> dict[str, str]:
    env_file = state_dir.parent / "smoke.env"
    env_file.write_text("")  # so the developer's own .env is not read
    env = dict(os.environ)
    env |= {"STACK_ENV_FILE": str(env_file), "STACK_STATE_DIR": str(state_dir), "STACK_RUNTIME": runtime}
    env |= dict(zip(HOST_PORT_SETTINGS, map(str, free_ports(len(HOST_PORT_SETTINGS))), strict=True))
    return env


def invoke(env: dict[str, str], *args: str) -> None:
    print(f"\n$ invoke {' '.join(args)}", flush=True)
    result = subprocess.run([sys.executable, "-m", "invoke", *args], env=env, cwd=REPO_ROOT)
    if result.returncode != 0:
        raise SmokeFailure(f"`invoke {' '.join(args)}` exited {result.returncode}")


def read_back(env: dict[str, str], report_file: Path, expected: int) -> int:
    settings = load_settings(environ=env)
    report = json.loads(report_file.read_text())
    trace_ids = report["trace_ids"]
    if len(trace_ids) != expected:
        raise SmokeFailure(f"traffic produced {len(trace_ids)} trace ids, expected {expected}")
    client = phoenix_client(settings)
    try:
        by_trace = client.wait_for_traces(settings.phoenix_project_name, trace_ids, timeout=60, min_spans_per_trace=4)
    except (requests.RequestException, PhoenixError) as error:
        raise SmokeFailure(
            f"reading the traces back from Phoenix failed: {type(error).__name__}: {str(error)[:160]}"
        ) from None
    missing = [trace_id for trace_id, spans in by_trace.items() if len(spans) < 4]
    if missing:
        raise SmokeFailure(f"{len(missing)} of {expected} traces not (fully) in Phoenix: {missing[:3]}")
    spans = sum(len(spans) for spans in by_trace.values())
    print(f"read back {len(by_trace)} traces ({spans} spans) from Phoenix's REST API", flush=True)
    return spans


def show_failing_logs(env: dict[str, str]) -> None:
    """The logs of components that are not healthy (all of them when every one looks healthy)."""
    from stackkit.commands import logs as logs_task
    from stackkit.commands import status as status_task

    settings = load_settings(environ=env)
    rows = status_task.status(settings)
    print("\n" + status_task.format_status(rows), flush=True)
    unhealthy = [row.component for row in rows if row.health != "healthy" and row.state != "skipped"]
    for component in unhealthy or [row.component for row in rows if row.state != "skipped"]:
        print(f"\n--- logs of {component} (last 40 lines) ---", flush=True)
        for line in logs_task.logs(settings, component, tail=40):
            print(line)


def docker_images_environment(env: dict[str, str]) -> dict[str, str]:
    """No registry here: point the settings at local images, the Collector as the fan-out, and build every
    chosen component's image through its `build_image` hook (each skips what is already built)."""
    settings = load_settings(environ=env)
    local = {
        "PHOENIX_IMAGE": f"stackkit/phoenix:{settings.phoenix_version}",
        "AI_DEMO_BASE_IMAGE": images.LOCAL_BASE_IMAGE,
        "STACK_COLLECTOR": OTELCOL_NAME,
        "OTELCOL_IMAGE": otelcol.local_image(),
    }
    settings = load_settings(environ=env | local)
    client = images.docker_client()
    progress = images.ElapsedPrinter(print)
    try:
        for component in components.ALL:
            if component.build_image and not component.not_chosen(settings):
                component.build_image(settings, client, progress)
    finally:
        client.close()
    return env | local


def collector_carried(env: dict[str, str], spans_in_phoenix: int) -> None:
    """The Collector's own counters: the demo's spans went app -> Collector -> Phoenix, not around it."""
    settings = load_settings(environ=env)
    try:
        text = otelcol.metrics(settings)
    except requests.RequestException as error:
        raise SmokeFailure(
            f"the Collector's metrics ({otelcol.metrics_url(settings)}) did not answer: {error}"
        ) from None
    accepted = otelcol.metric_sum(text, "otelcol_receiver_accepted_spans")
    sent = otelcol.metric_sum(text, "otelcol_exporter_sent_spans", exporter=otelcol.EXPORTER_ID)
    print(f"the Collector accepted {accepted:.0f} spans and sent {sent:.0f} to Phoenix", flush=True)
    if sent < spans_in_phoenix:
        raise SmokeFailure(
            f"Phoenix holds {spans_in_phoenix} spans of the demo but the Collector sent only {sent:.0f}: "
            "the demo did not export through the Collector"
        )


def span_count(env: dict[str, str]) -> int:
    settings = load_settings(environ=env)
    client = phoenix_client(settings)
    return len(client.spans(settings.phoenix_project_name))


def docker_extras(env: dict[str, str]) -> None:
    """Logs through the Docker SDK, and a Phoenix container restart that keeps every trace (the volume)."""
    invoke(env, "logs", "--service", PHOENIX_NAME, "--tail", "5")
    before = span_count(env)
    invoke(env, "restart", "--service", PHOENIX_NAME)
    after = span_count(env)
    print(f"spans in Phoenix before the container restart: {before}, after: {after}", flush=True)
    if after != before:
        raise SmokeFailure(f"the Phoenix container restart changed the span count from {before} to {after}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runtime", default="auto", choices=("auto", "docker", "native"))
    parser.add_argument("--requests", type=int, default=10)
    args = parser.parse_args(argv)

    state_dir = Path(tempfile.mkdtemp(prefix="stackkit-smoke-")) / "state"
    env = smoke_environment(state_dir, args.runtime)
    report_file = state_dir.parent / "traffic.json"
    engine = None
    if args.runtime == "docker":
        from tools import engine as docker_engine
        from tools import system_packages

        absent = system_packages.missing(system_packages.for_sessions(["smoke_docker"]))
        if absent:
            print(f"\nSMOKE FAILED: the docker path needs {system_packages.describe(absent)}", flush=True)
            return 1
        try:
            engine = docker_engine.ensure_engine()
        except docker_engine.EngineUnavailable as error:
            print(f"\nSMOKE FAILED: {error}", flush=True)
            return 1
        try:
            env = docker_images_environment(env)
        except images.ImageBuildError as error:  # e.g. the Collector not built: its message says how
            engine.stop()
            print(f"\nSMOKE FAILED: {error}", flush=True)
            return 1
    failure = None
    try:
        invoke(env, "up")
        invoke(env, "status")
        invoke(env, "verify")
        invoke(env, "traffic", "--requests", str(args.requests), "--sessions", "3", "--save", str(report_file))
        spans = read_back(env, report_file, args.requests)
        if args.runtime == "docker":
            collector_carried(env, spans)
            docker_extras(env)
    except SmokeFailure as error:
        failure = error
        show_failing_logs(env)
    finally:
        # The smoke run's data is its own: delete it with the stack (volumes, network, state folder).
        down = subprocess.run([sys.executable, "-m", "invoke", "down", "--volumes", "--yes"], env=env, cwd=REPO_ROOT)
        if down.returncode != 0 and failure is None:
            failure = SmokeFailure("`invoke down` failed")
        if engine is not None:
            engine.stop()
    if failure:
        print(f"\nSMOKE FAILED: {failure}", flush=True)
        return 1
    print("\nsmoke passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
