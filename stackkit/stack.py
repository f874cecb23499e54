"""Bring-up, status, logs and tear-down of Phoenix -> Alloy -> AI demo, in that order, on either runtime."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from stackkit import auth, components, database, ports, secrets
from stackkit.errors import OperationFailed, StackkitError, UsageError
from stackkit.health import probe, wait_healthy
from stackkit.phoenix_api import PhoenixError
from stackkit.render import Plan, render
from stackkit.runtimes.base import Runtime, RuntimeUnavailable
from stackkit.runtimes.native import NativeRuntime
from stackkit.settings import Settings

Printer = Callable[[str], None]


class StackError(OperationFailed):
    """A bring-up or task failed; the message says what and how to fix it."""


def _print(line: str) -> None:
    print(line, flush=True)


def health_url(settings: Settings, component: str) -> str:
    declared = components.get(component)
    return f"http://127.0.0.1:{settings.value_of(declared.url_port_setting)}{declared.health_path}"


def docker_engine_answers() -> bool:
    import docker

    try:
        client = docker.from_env(timeout=3)
        client.ping()
        client.close()
        return True
    except Exception:  # any failure means "no engine here"
        return False


def _runtime_record(settings: Settings) -> Path:
    return settings.run_dir / "runtime"


def make_runtime(settings: Settings, name: str) -> Runtime:
    if name == "docker":
        from stackkit.runtimes.docker import DockerRuntime

        return DockerRuntime(settings)
    return NativeRuntime(settings)


def resolve_runtime(settings: Settings, requested: str | None, out: Printer = _print) -> Runtime:
    """The runtime a running stack already uses, else the requested one, else auto-detected."""
    record = _runtime_record(settings)
    recorded = record.read_text().strip() if record.exists() else ""
    choice = requested or settings.stack_runtime
    if choice not in ("auto", "docker", "native"):
        raise UsageError(f"--runtime {choice}: choose auto, docker or native")
    if recorded and (choice in ("auto", recorded)):
        return make_runtime(settings, recorded)
    if recorded and any(make_runtime(settings, recorded).state(name).running for name in components.NAMES):
        raise UsageError(
            f"the stack in {settings.state_dir} runs on the {recorded} runtime; "
            f"run `invoke down` before switching to {choice}"
        )
    if choice == "auto":
        choice = "docker" if docker_engine_answers() else "native"
        reason = "a Docker engine answers" if choice == "docker" else "no Docker engine answers"
        out(f"runtime: {choice} ({reason}; set STACK_RUNTIME or --runtime to choose)")
    return make_runtime(settings, choice)


def make_plan(runtime: Runtime, only: Iterable[str] | None = None) -> Plan:
    wanted = [components.get(name).name for name in only] if only else list(components.NAMES)
    skipped = {
        component.name: reason
        for component in components.ALL
        if component.optional and (reason := runtime.component_available(component.name))
    }
    chosen = tuple(name for name in components.NAMES if name in wanted and name not in skipped)
    return Plan(runtime=runtime.name, components=chosen, skipped=skipped)


def _is_healthy(settings: Settings, runtime: Runtime, component: str) -> bool:
    return runtime.state(component).running and probe(health_url(settings, component)).ok


def _prepare_secrets(settings: Settings) -> dict[str, str]:
    problems = secrets.phoenix_secret_problems(settings)
    if problems:
        raise UsageError("; ".join(problems))
    return secrets.ensure(settings)


class _Clock:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def line(self, text: str) -> str:
        return f"[{time.monotonic() - self.start:6.1f}s] {text}"


def up(
    settings: Settings,
    requested_runtime: str | None = None,
    only: Iterable[str] | None = None,
    out: Printer = _print,
) -> Plan:
    """Preflight, then start each missing component in order and wait for its health. Raises StackkitError."""
    clock = _Clock()
    runtime = resolve_runtime(settings, requested_runtime, out)
    try:
        runtime.check_available()
    except RuntimeUnavailable as error:
        raise StackError(f"{runtime.name} runtime unavailable: {error}") from None
    plan = make_plan(runtime, only)
    for name, reason in plan.skipped.items():
        out(clock.line(f"{name}: skipped ({reason})"))

    to_start = [name for name in plan.components if not _is_healthy(settings, runtime, name)]
    if not to_start:
        out(clock.line("every component is already running and healthy; nothing changed"))
        _print_urls(settings, plan, out)
        return plan
    broken = [name for name in to_start if runtime.state(name).running]
    if broken:
        raise StackError(
            f"{', '.join(broken)} running but not healthy: see `invoke logs --service {broken[0]}`, "
            "then `invoke down` and `invoke up`"
        )
    busy = ports.busy(settings.host_ports(), [components.get(name) for name in to_start])
    if busy:
        raise StackError("host ports are busy; nothing was started:\n  " + "\n  ".join(busy))
    if "phoenix" in to_start and (problem := database.preflight_problem(settings, runtime.name)):
        raise StackError(problem)

    first_time = not settings.rendered_dir.exists()
    stored = _prepare_secrets(settings)
    written = render(settings, plan, stored)
    out(clock.line(f"rendered {len(written)} files into {settings.rendered_dir}"))
    runtime.prepare(plan)
    settings.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _runtime_record(settings).write_text(runtime.name + "\n")

    started: list[str] = []
    try:
        for name in plan.components:
            if name not in to_start:
                out(clock.line(f"{name}: already healthy"))
                continue
            out(clock.line(f"{name}: starting on {runtime.name}"))
            started.append(name)
            runtime.start(name, plan)
            _wait_or_fail(settings, runtime, name, clock, out)
            if name == "phoenix" and settings.phoenix_enable_auth:
                stored, what = _ingest_key(settings, stored)
                render(settings, plan, stored)
                out(clock.line(f"phoenix: auth on, {what}"))
    except (StackkitError, KeyboardInterrupt) as error:
        # No half-started stack: undo what this bring-up started, newest first.
        interrupted = isinstance(error, KeyboardInterrupt)
        if interrupted:
            out(clock.line("interrupted (Ctrl-C): stopping what this run started"))
        for name in reversed(started):
            runtime.stop(name)
            out(clock.line(f"{name}: stopped (started by this run)"))
        raise
    _print_urls(settings, plan, out)
    if first_time:
        _print_next_steps(settings, plan, out)
    return plan


def _ingest_key(settings: Settings, stored: dict[str, str]) -> tuple[dict[str, str], str]:
    try:
        return auth.ensure_ingest_key(settings, stored)
    except (requests.RequestException, PhoenixError) as error:
        raise StackError(f"minting Phoenix's ingestion key failed: {str(error)[:200]}") from None


def _wait_or_fail(settings: Settings, runtime: Runtime, component: str, clock: _Clock, out: Printer) -> None:
    url = health_url(settings, component)
    result = wait_healthy(url, settings.stack_health_timeout, still_running=lambda: runtime.state(component).running)
    if result.ok:
        out(clock.line(f"{component}: healthy ({url})"))
        return
    out(clock.line(f"{component}: FAILED: {result.detail}"))
    out(f"--- last 30 log lines of {component} ---")
    for line in runtime.logs(component, tail=30):
        out(line)
    raise StackError(
        f"{component} did not become healthy at {url} ({result.detail}). "
        f"Hint: read the log above; `invoke logs --service {component}` shows more; "
        "STACK_HEALTH_TIMEOUT raises the wait."
    )


def _print_urls(settings: Settings, plan: Plan, out: Printer) -> None:
    out(f"Phoenix UI:        {settings.phoenix_url}")
    if plan.with_alloy:
        out(
            f"OTLP for apps:     {settings.alloy_otlp_http_url}/v1/traces (HTTP), "
            f"127.0.0.1:{settings.alloy_otlp_grpc_port} (gRPC)"
        )
    else:
        out(f"OTLP for apps:     {settings.phoenix_url}/v1/traces (HTTP, straight to Phoenix: no Alloy)")
    if "ai-demo" in plan.components:
        out(f"AI demo:           {settings.ai_demo_url} (POST /chat)")


def _print_next_steps(settings: Settings, plan: Plan, out: Printer) -> None:
    out("")
    out("Next:")
    out(f"  1. open the Phoenix UI:   {settings.phoenix_url}")
    if "ai-demo" in plan.components:
        out("  2. send demo traffic:     .venv/bin/invoke traffic --requests 20 --sessions 3")
    out("  3. prove traces land:     .venv/bin/invoke verify")


def recorded_runtime(settings: Settings) -> Runtime:
    """The runtime the stack was brought up with (native when nothing was ever brought up)."""
    record = _runtime_record(settings)
    name = record.read_text().strip() if record.exists() else "native"
    return make_runtime(settings, name)


def down(settings: Settings, remove_data: bool = False, out: Printer = _print) -> None:
    """Reverse order, so the demo and Alloy flush their queued spans into a still-running Phoenix."""
    runtime = recorded_runtime(settings)
    for component in reversed(components.ALL):
        if component.name == "phoenix" and (not remove_data or database.is_external(settings, runtime.name)):
            _drain_phoenix(settings, runtime, out)
        if runtime.stop(component.name, remove_data=remove_data):
            out(f"{component.name}: stopped")
        else:
            out(f"{component.name}: not running")
    _runtime_record(settings).unlink(missing_ok=True)
    if remove_data:
        runtime.remove_network()
        out(f"data of the {runtime.name} runtime deleted")
        if note := database.external_data_note(settings, runtime.name):
            out(note)


def _drain_phoenix(settings: Settings, runtime: Runtime, out: Printer) -> None:
    """Phoenix drops what it still queues 5 s after SIGTERM: with its senders stopped, let it write all."""
    if runtime.state("phoenix").running:
        database.wait_for_ingestion(settings, out)


def restart(settings: Settings, component: str, out: Printer = _print) -> None:
    """Restart one component; restarting Phoenix stops its senders first and always brings them back."""
    target = components.get(component)
    runtime = recorded_runtime(settings)
    clock = _Clock()
    plan = make_plan(runtime)
    stopped_senders: list[str] = []
    if target.name == "phoenix":
        if problem := database.preflight_problem(settings, runtime.name):
            raise StackError(problem)
        # What sends to Phoenix stops first (flushing on SIGTERM) and comes back after it.
        for sender in reversed(components.senders()):
            if runtime.state(sender.name).running:
                runtime.stop(sender.name)
                stopped_senders.append(sender.name)
                out(clock.line(f"{sender.name}: stopped (sends to phoenix)"))
        _drain_phoenix(settings, runtime, lambda line: out(clock.line(line)))
    failure: StackkitError | None = None
    try:
        runtime.stop(target.name)
        out(clock.line(f"{target.name}: stopped"))
        out(clock.line(f"{target.name}: starting on {runtime.name}"))
        runtime.start(target.name, plan)
        _wait_or_fail(settings, runtime, target.name, clock, out)
    except StackkitError as error:
        failure = error
    # The senders come back whatever happened to Phoenix: they buffer and retry while it is down.
    for name in reversed(stopped_senders):
        out(clock.line(f"{name}: starting on {runtime.name}"))
        try:
            runtime.start(name, plan)
            _wait_or_fail(settings, runtime, name, clock, out)
        except StackkitError as error:
            failure = failure or error
    if failure is not None:
        raise StackError(f"restarting {target.name} failed: {failure}") from None


@dataclass(frozen=True)
class StatusRow:
    component: str
    runtime: str
    state: str
    health: str
    url: str
    version: str


def status(settings: Settings) -> list[StatusRow]:
    runtime = recorded_runtime(settings)
    rows = []
    for component in components.ALL:
        skipped = component.optional and runtime.component_available(component.name)
        state = runtime.state(component.name)
        url = health_url(settings, component.name)
        if not state.running:
            health = "-"
        else:
            result = probe(url)
            health = "healthy" if result.ok else f"unhealthy ({result.detail})"
        shown_state = f"running, {state.detail}" if state.running else ("skipped" if skipped else "stopped")
        version = settings.value_of(component.version_setting) if component.version_setting else "local"
        rows.append(StatusRow(component.name, runtime.name, shown_state, health, url, version))
    return rows


def format_status(rows: list[StatusRow]) -> str:
    headers = ("COMPONENT", "RUNTIME", "STATE", "HEALTH", "URL", "VERSION")
    table = [headers] + [(r.component, r.runtime, r.state, r.health, r.url, r.version) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table
    )


def logs(settings: Settings, component: str, tail: int = 100, follow: bool = False) -> Iterator[str]:
    name = components.get(component).name
    if tail < 0:
        raise UsageError(f"--tail {tail}: expected a number of lines of at least 0")
    return recorded_runtime(settings).logs(name, tail=tail, follow=follow)


def rotate_key(settings: Settings, out: Printer = _print) -> None:
    """Mint a new ingestion key, restart what sends with it, then revoke the old key."""
    if not settings.phoenix_enable_auth:
        raise UsageError("PHOENIX_ENABLE_AUTH is false: there is no ingestion key to rotate")
    runtime = recorded_runtime(settings)
    if not _is_healthy(settings, runtime, "phoenix"):
        raise StackError("Phoenix is not running and healthy: run `invoke up` first")
    stored = secrets.load(settings)
    old_key, old_id = stored.get("PHOENIX_API_KEY", ""), stored.get("PHOENIX_API_KEY_ID", "")
    updated = auth.mint_replacement(settings, stored)
    out(f"minted ingestion key {secrets.fingerprint(updated['PHOENIX_API_KEY'])}")
    plan = make_plan(runtime)
    render(settings, plan, updated)
    # Alloy holds the key when it runs; otherwise the demo exports straight to Phoenix with it.
    sender = "alloy" if plan.with_alloy else "ai-demo"
    if runtime.state(sender).running:
        restart(settings, sender, out)
    if old_id:
        auth.revoke(settings, updated, old_id)
        out(f"revoked the old key {secrets.fingerprint(old_key)}")
