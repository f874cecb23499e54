"""Bring-up, status, logs and tear-down of Phoenix -> Alloy -> AI demo, in that order, on either runtime."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from stackkit import auth, database, ports, secrets
from stackkit.health import probe, wait_healthy
from stackkit.render import Plan, render
from stackkit.runtimes.base import ComponentStartError, Runtime, RuntimeUnavailable
from stackkit.runtimes.native import NativeRuntime
from stackkit.settings import COMPONENTS, Settings

Printer = Callable[[str], None]


class StackError(Exception):
    """A bring-up or task failed; the message says what and how to fix it."""


def _print(line: str) -> None:
    print(line, flush=True)


@dataclass(frozen=True)
class Component:
    name: str
    health_path: str
    port_settings: tuple[str, ...]


_COMPONENTS = {
    "phoenix": Component("phoenix", "/healthz", ("PHOENIX_UI_PORT", "PHOENIX_GRPC_HOST_PORT")),
    "alloy": Component("alloy", "/-/ready", ("ALLOY_OTLP_GRPC_PORT", "ALLOY_OTLP_HTTP_PORT", "ALLOY_UI_PORT")),
    "ai-demo": Component("ai-demo", "/healthz", ("AI_DEMO_PORT",)),
}


def health_url(settings: Settings, component: str) -> str:
    base = {"phoenix": settings.phoenix_url, "alloy": settings.alloy_url, "ai-demo": settings.ai_demo_url}[component]
    return base + _COMPONENTS[component].health_path


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
    choice = requested or settings.runtime
    if recorded and (choice in ("auto", recorded)):
        return make_runtime(settings, recorded)
    if recorded and any(make_runtime(settings, recorded).state(c).running for c in COMPONENTS):
        raise StackError(
            f"the stack in {settings.state_dir} runs on the {recorded} runtime; "
            f"run `invoke down` before switching to {choice}"
        )
    if choice == "auto":
        choice = "docker" if docker_engine_answers() else "native"
        reason = "a Docker engine answers" if choice == "docker" else "no Docker engine answers"
        out(f"runtime: {choice} ({reason}; set STACK_RUNTIME or --runtime to choose)")
    return make_runtime(settings, choice)


def make_plan(runtime: Runtime, only: Iterable[str] | None = None) -> Plan:
    wanted = tuple(only) if only else COMPONENTS
    unknown = [name for name in wanted if name not in COMPONENTS]
    if unknown:
        raise StackError(f"unknown component {', '.join(unknown)}: choose from {', '.join(COMPONENTS)}")
    skipped = {name: reason for name in COMPONENTS if (reason := runtime.component_available(name))}
    components = tuple(name for name in COMPONENTS if name in wanted and name not in skipped)
    return Plan(runtime=runtime.name, components=components, skipped=skipped)


def _is_healthy(settings: Settings, runtime: Runtime, component: str) -> bool:
    return runtime.state(component).running and probe(health_url(settings, component)).ok


def _busy_ports(settings: Settings, components: Iterable[str]) -> list[str]:
    host_ports = settings.host_ports()
    problems = []
    for component in components:
        for setting in _COMPONENTS[component].port_settings:
            port = host_ports[setting]
            if not ports.is_free(port):
                held_by = ports.holder(port) or "another process"
                problems.append(
                    f"{setting}={port} is already in use by {held_by}: stop it, or set {setting} to a free one"
                )
    return problems


def _prepare_secrets(settings: Settings) -> dict[str, str]:
    problems = secrets.phoenix_secret_problems(settings)
    if problems:
        raise StackError("; ".join(problems))
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
    """Preflight, then start each missing component in order and wait for its health. Raises StackError."""
    clock = _Clock()
    runtime = resolve_runtime(settings, requested_runtime, out)
    try:
        runtime.check_available()
    except RuntimeUnavailable as error:
        raise StackError(f"{runtime.name} runtime unavailable: {error}") from None
    plan = make_plan(runtime, only)
    for name, reason in plan.skipped.items():
        out(clock.line(f"{name}: skipped ({reason})"))

    to_start = [c for c in plan.components if not _is_healthy(settings, runtime, c)]
    if not to_start:
        out(clock.line("every component is already running and healthy; nothing changed"))
        _print_urls(settings, plan, out)
        return plan
    broken = [c for c in to_start if runtime.state(c).running]
    if broken:
        raise StackError(
            f"{', '.join(broken)} running but not healthy: see `invoke logs --service {broken[0]}`, "
            "then `invoke down` and `invoke up`"
        )
    busy = _busy_ports(settings, to_start)
    if busy:
        raise StackError("host ports are busy; nothing was started:\n  " + "\n  ".join(busy))
    if "phoenix" in to_start and (problem := database.preflight_problem(settings, runtime.name)):
        raise StackError(problem)

    stored = _prepare_secrets(settings)
    written = render(settings, plan, stored)
    out(clock.line(f"rendered {len(written)} files into {settings.rendered_dir}"))
    runtime.prepare(plan)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    _runtime_record(settings).write_text(runtime.name + "\n")

    started: list[str] = []
    try:
        for component in plan.components:
            if component not in to_start:
                out(clock.line(f"{component}: already healthy"))
                continue
            out(clock.line(f"{component}: starting on {runtime.name}"))
            started.append(component)
            try:
                runtime.start(component, plan)
            except ComponentStartError as error:
                raise StackError(f"{component} could not be started: {error}") from None
            _wait_or_fail(settings, runtime, component, clock, out)
            if component == "phoenix" and settings.phoenix_enable_auth:
                stored, what = auth.ensure_ingest_key(settings, stored)
                render(settings, plan, stored)
                out(clock.line(f"phoenix: auth on, {what}"))
    except StackError:
        # No half-started stack: undo what this bring-up started, newest first.
        for component in reversed(started):
            runtime.stop(component)
        raise
    _print_urls(settings, plan, out)
    return plan


def _wait_or_fail(settings: Settings, runtime: Runtime, component: str, clock: _Clock, out: Printer) -> None:
    url = health_url(settings, component)
    result = wait_healthy(url, settings.health_timeout, still_running=lambda: runtime.state(component).running)
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


def recorded_runtime(settings: Settings) -> Runtime:
    """The runtime the stack was brought up with (native when nothing was ever brought up)."""
    record = _runtime_record(settings)
    name = record.read_text().strip() if record.exists() else "native"
    return make_runtime(settings, name)


def down(settings: Settings, remove_data: bool = False, out: Printer = _print) -> None:
    """Reverse order, so the demo and Alloy flush their queued spans into a still-running Phoenix."""
    runtime = recorded_runtime(settings)
    for component in reversed(COMPONENTS):
        if component == "phoenix" and (not remove_data or database.is_external(settings, runtime.name)):
            _drain_phoenix(settings, runtime, out)
        if runtime.stop(component, remove_data=remove_data):
            out(f"{component}: stopped")
        else:
            out(f"{component}: not running")
    _runtime_record(settings).unlink(missing_ok=True)
    if remove_data and runtime.name == "docker":
        runtime.remove_network()
    if remove_data:
        out(f"data of the {runtime.name} runtime deleted")
        if note := database.external_data_note(settings, runtime.name):
            out(note)


def _drain_phoenix(settings: Settings, runtime: Runtime, out: Printer) -> None:
    """Phoenix drops what it still queues 5 s after SIGTERM: with its senders stopped, let it write all."""
    if runtime.state("phoenix").running:
        database.wait_for_ingestion(settings, out)


def restart(settings: Settings, component: str, out: Printer = _print) -> None:
    runtime = recorded_runtime(settings)
    if component not in COMPONENTS:
        raise StackError(f"unknown component {component}: choose from {', '.join(COMPONENTS)}")
    clock = _Clock()
    plan = make_plan(runtime)
    senders: list[str] = []
    if component == "phoenix":
        if problem := database.preflight_problem(settings, runtime.name):
            raise StackError(problem)
        # What sends to Phoenix stops first (flushing on SIGTERM) and comes back after it.
        senders = [name for name in ("ai-demo", "alloy") if runtime.state(name).running]
        for sender in senders:
            runtime.stop(sender)
            out(clock.line(f"{sender}: stopped (sends to phoenix)"))
        _drain_phoenix(settings, runtime, lambda line: out(clock.line(line)))
    runtime.stop(component)
    out(clock.line(f"{component}: stopped"))
    runtime.start(component, plan)
    _wait_or_fail(settings, runtime, component, clock, out)
    for sender in reversed(senders):
        out(clock.line(f"{sender}: starting on {runtime.name}"))
        runtime.start(sender, plan)
        _wait_or_fail(settings, runtime, sender, clock, out)


@dataclass(frozen=True)
class StatusRow:
    component: str
    runtime: str
    state: str
    health: str
    url: str
    version: str


def _version(settings: Settings, component: str) -> str:
    if component == "phoenix":
        return settings.phoenix_version
    if component == "alloy":
        return settings.alloy_version
    return "local"


def status(settings: Settings) -> list[StatusRow]:
    runtime = recorded_runtime(settings)
    rows = []
    for component in COMPONENTS:
        skipped = runtime.component_available(component)
        state = runtime.state(component)
        url = health_url(settings, component)
        if not state.running:
            health = "-"
        else:
            result = probe(url)
            health = "healthy" if result.ok else f"unhealthy ({result.detail})"
        shown_state = f"running, {state.detail}" if state.running else ("skipped" if skipped else "stopped")
        rows.append(StatusRow(component, runtime.name, shown_state, health, url, _version(settings, component)))
    return rows


def format_status(rows: list[StatusRow]) -> str:
    headers = ("COMPONENT", "RUNTIME", "STATE", "HEALTH", "URL", "VERSION")
    table = [headers] + [(r.component, r.runtime, r.state, r.health, r.url, r.version) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table
    )


def logs(settings: Settings, component: str, tail: int = 100, follow: bool = False) -> Iterator[str]:
    if component not in COMPONENTS:
        raise StackError(f"unknown service {component}: choose from {', '.join(COMPONENTS)}")
    return recorded_runtime(settings).logs(component, tail=tail, follow=follow)


def rotate_key(settings: Settings, out: Printer = _print) -> None:
    """Mint a new ingestion key, restart what sends with it, then revoke the old key."""
    if not settings.phoenix_enable_auth:
        raise StackError("PHOENIX_ENABLE_AUTH is false: there is no ingestion key to rotate")
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
