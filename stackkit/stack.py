"""Bring-up, status, logs and tear-down of Phoenix -> Alloy -> AI demo, in that order, on either runtime."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from stackkit import (
    admin,
    applied,
    auth,
    components,
    database,
    exposure,
    file_modes,
    model_pricing,
    ports,
    remote,
    secrets,
    storage,
)
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
    if external := components.external_urls(settings).get(declared.name):
        return f"{external}{declared.health_path}"
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
    external = components.external_urls(runtime.settings)
    skipped = {name: f"external at {url}" for name, url in external.items()}
    skipped |= {
        component.name: reason
        for component in components.ALL
        if component.optional
        and component.name not in external
        and (reason := runtime.component_available(component.name))
    }
    chosen = tuple(name for name in components.NAMES if name in wanted and name not in skipped)
    return Plan(runtime=runtime.name, components=chosen, skipped=skipped, external=external)


def _is_healthy(settings: Settings, runtime: Runtime, component: str) -> bool:
    url = health_url(settings, component)
    if component in components.external_urls(settings):
        return probe(url, verify=settings.phoenix_tls_verify).ok
    return runtime.state(component).running and probe(url).ok


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
    """Preflight, apply what changed since the last `up`, then start each missing component in order and wait
    for its health. Raises StackkitError."""
    clock = _Clock()
    runtime = resolve_runtime(settings, requested_runtime, out)
    try:
        runtime.check_available()
    except RuntimeUnavailable as error:
        raise StackError(f"{runtime.name} runtime unavailable: {error}") from None
    whole = make_plan(runtime)
    plan = make_plan(runtime, only)
    for name, reason in plan.skipped.items():
        out(clock.line(f"{name}: skipped ({reason})"))
    state = applied.read(settings)
    if state is not None and any(runtime.state(name).running for name in components.NAMES):
        state = _upgrade_if_wanted(settings, state, lambda line: out(clock.line(line)))
        _apply_changes(settings, state, applied.changes(state, settings), lambda line: out(clock.line(line)))

    _secure_state_dir(settings, lambda line: out(clock.line(line)))
    to_start = [name for name in plan.components if not _is_healthy(settings, runtime, name)]
    if not to_start:
        applied.record(settings, _running_plan(runtime, whole))
        _secure_admin(settings, runtime, lambda line: out(clock.line(line)))
        out(clock.line("every component is already running and healthy; nothing changed"))
        _print_urls(settings, whole, out)
        _warn_exposure(settings, runtime, out)
        return plan
    broken = [name for name in to_start if runtime.state(name).running]
    if broken:
        raise StackError(
            f"{', '.join(broken)} running but not healthy: see `invoke logs --service {broken[0]}`, "
            "then `invoke down` and `invoke up`"
        )
    _check_destinations(settings, runtime, whole, plan)
    busy = ports.busy(settings.host_ports(), [components.get(name) for name in to_start])
    if busy:
        raise StackError("host ports are busy; nothing was started:\n  " + "\n  ".join(busy))
    if "phoenix" in to_start and (problem := database.preflight_problem(settings, runtime.name)):
        raise StackError(problem)

    first_time = state is None
    stored = _prepare_secrets(settings)
    if "phoenix" in whole.external:
        stored = _external_phoenix_key(settings, stored, lambda line: out(clock.line(line)))
    # Rendered for the whole stack, so a component started alone still sends where the others listen.
    written = render(settings, whole, stored)
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
                render(settings, whole, stored)
                out(clock.line(f"phoenix: auth on, {what}"))
                _secure_admin(settings, runtime, lambda line: out(clock.line(line)))
            if name == "phoenix":
                out(clock.line(f"phoenix: {_apply_retention(settings)}"))
            if name == "phoenix" and "ai-demo" in whole.components and settings.ai_demo_llm_provider == "offline":
                _price_offline_model(settings, lambda line: out(clock.line(line)))
    except (StackkitError, KeyboardInterrupt) as error:
        # No half-started stack: undo what this bring-up started, newest first.
        if isinstance(error, KeyboardInterrupt):
            out(clock.line("interrupted (Ctrl-C): stopping what this run started"))
        for name in reversed(started):
            runtime.stop(name)
            out(clock.line(f"{name}: stopped (started by this run)"))
        raise
    if "phoenix" not in to_start:
        _secure_admin(settings, runtime, lambda line: out(clock.line(line)))
    applied.record(settings, _running_plan(runtime, whole))
    _print_urls(settings, whole, out)
    _warn_exposure(settings, runtime, out)
    if first_time:
        _print_next_steps(settings, plan, out)
    return plan


def _upgrade_if_wanted(settings: Settings, state: applied.AppliedState, out: Printer) -> applied.AppliedState:
    """A new PHOENIX_VERSION on a running native Phoenix: backup, migration alone, rollback on failure."""
    from stackkit import upgrade  # it builds on this module

    if not upgrade.wanted(state, settings):
        return state
    upgrade.upgrade(settings, settings.phoenix_version, out)
    return applied.read(settings) or state


def _secure_state_dir(settings: Settings, out: Printer) -> None:
    """A state folder written before the stack kept it private (phoenix.db was 0644) is made private."""
    settings.state_dir.mkdir(mode=file_modes.PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    changed = file_modes.tighten(settings.state_dir)
    if changed:
        out(f"made {len(changed)} files and folders in {settings.state_dir} private (0600/0700)")


def _secure_admin(settings: Settings, runtime: Runtime, out: Printer) -> None:
    """With auth on: Phoenix's UI admin logs in with the generated password, never admin/admin."""
    if (
        not settings.phoenix_enable_auth
        or settings.phoenix_external_url
        or not _is_healthy(settings, runtime, "phoenix")
    ):
        return
    stored = secrets.ensure(settings)
    try:
        out(f"phoenix: {admin.ensure(settings, stored)}")
    except (requests.RequestException, admin.AdminLoginError) as error:
        raise StackError(
            f"securing Phoenix's UI admin failed: {str(error)[:200]}. Log in to {settings.phoenix_url} as "
            f"{admin.ADMIN_EMAIL} and change its password (Profile), or run `invoke up` again"
        ) from None


def _warn_exposure(settings: Settings, runtime: Runtime, out: Printer) -> None:
    if warning := exposure.open_without_auth(settings, runtime.name):
        out(f"WARNING: {warning}")


def _running_plan(runtime: Runtime, whole: Plan) -> Plan:
    running = tuple(name for name in whole.components if runtime.state(name).running)
    return Plan(runtime=whole.runtime, components=running, skipped=whole.skipped)


def _apply_changes(
    settings: Settings, state: applied.AppliedState, pending: list[applied.Change], out: Printer
) -> None:
    """Stop what the changed settings affect, with the settings it runs with (draining Phoenix first); the
    bring-up that follows starts it again with the new ones."""
    if not pending:
        return
    refused = [change for change in pending if not change.in_place]
    if refused:
        raise UsageError(
            "these settings differ from the running stack's and cannot change while it runs:\n  "
            + "\n  ".join(change.describe() for change in refused)
            + "\nTo change them: `invoke down`, then `invoke up` with the new values (moving Phoenix's data to "
            "another database: `invoke backup` before, `invoke restore` after)"
        )
    for change in pending:
        out(f"changed since the last `invoke up`: {change.describe()}")
    affected = {name for change in pending for name in change.restarts}
    if "phoenix" in affected:
        affected |= {sender.name for sender in components.senders()}
    before = applied.applied_settings(settings, state)
    runtime = make_runtime(before, state.runtime)
    for component in reversed(components.ALL):
        if component.name in affected and runtime.state(component.name).running:
            if component is components.PHOENIX:
                _drain_phoenix(before, runtime, out)
            runtime.stop(component.name)
            out(f"{component.name}: stopped to apply the change")


def _check_destinations(settings: Settings, runtime: Runtime, whole: Plan, plan: Plan) -> None:
    """A component started without the one it sends to needs that one running, or its spans go nowhere."""
    if "phoenix" in whole.external and (problem := remote.diagnose(settings)):
        raise StackError(f"PHOENIX_EXTERNAL_URL: {problem.summary}\nfix: {problem.fix}")
    for name in plan.components:
        destination = None
        if name == "ai-demo":
            destination = "alloy" if whole.with_alloy else "phoenix"
        elif components.get(name).sends_to_phoenix:
            destination = "phoenix"
        if destination and destination not in plan.components and not _is_healthy(settings, runtime, destination):
            raise StackError(
                f"{name} sends its spans to {destination}, which is not running and healthy: run `invoke up` "
                f"(or add {destination} to --only)"
            )


def _apply_retention(settings: Settings) -> str:
    try:
        return storage.apply_retention(settings)
    except (requests.RequestException, PhoenixError) as error:
        raise StackError(f"setting Phoenix's retention policy failed: {str(error)[:200]}") from None


def _external_phoenix_key(settings: Settings, stored: dict[str, str], out: Printer) -> dict[str, str]:
    """The ingestion key for a Phoenix the stack does not run: the one given, or minted with the admin secret."""
    if settings.phoenix_api_key:
        if stored.get("PHOENIX_API_KEY") != settings.phoenix_api_key:
            stored = {**stored, "PHOENIX_API_KEY": settings.phoenix_api_key}
            stored.pop("PHOENIX_API_KEY_ID", None)  # not ours: never revoked by rotate-key
            secrets.save(settings, stored)
        out(f"phoenix: external, sending with the given key {secrets.fingerprint(settings.phoenix_api_key)}")
        return stored
    if settings.phoenix_enable_auth:
        stored, what = _ingest_key(settings, stored)
        out(f"phoenix: external with auth, {what}")
    return stored


def _price_offline_model(settings: Settings, out: Printer) -> None:
    """Before the demo sends anything, so that Phoenix's cost columns price its spans (cosmetic: a failure is
    one line, not a failed bring-up)."""
    try:
        if model_pricing.register_offline_model_price(database.phoenix_client(settings)):
            out(f"phoenix: priced the demo's offline model ({model_pricing.PRICE_SOURCE})")
    except (requests.RequestException, PhoenixError) as error:
        out(f"phoenix: could not register the offline model's price ({str(error)[:120]}); costs show $0")


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
    elsewhere = components.external_urls(settings)
    for component in reversed(components.ALL):
        if component.name in elsewhere:
            out(f"{component.name}: external at {elsewhere[component.name]}, left alone")
            continue
        if component.name == "phoenix" and (not remove_data or database.is_external(settings, runtime.name)):
            _drain_phoenix(settings, runtime, out)
        if runtime.stop(component.name, remove_data=remove_data):
            out(f"{component.name}: stopped")
        else:
            out(f"{component.name}: not running")
    _runtime_record(settings).unlink(missing_ok=True)
    if remove_data:
        applied.forget(settings)
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
    state = require_applied(settings)
    if target.name in state.skipped:
        raise StackError(f"{target.name} is not part of this stack ({state.skipped[target.name]}): nothing to restart")
    runtime = recorded_runtime(settings)
    if not runtime.state(target.name).running:
        raise StackError(f"{target.name} is not running: `invoke up` starts it")
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
    state = applied.read(settings)
    running_versions = state.versions if state else {}
    rows = []
    for component in components.ALL:
        skipped = state.skipped.get(component.name) if state else None
        run_state = runtime.state(component.name)
        url = health_url(settings, component.name)
        if component.name in components.external_urls(settings):
            result = probe(url, verify=settings.phoenix_tls_verify)
            health = "healthy" if result.ok else f"unhealthy ({result.detail})"
            rows.append(StatusRow(component.name, "external", "external", health, url, "theirs"))
            continue
        if not run_state.running:
            health = "-"
        else:
            result = probe(url)
            health = "healthy" if result.ok else f"unhealthy ({result.detail})"
        shown_state = f"running, {run_state.detail}" if run_state.running else ("skipped" if skipped else "stopped")
        configured = settings.value_of(component.version_setting) if component.version_setting else "local"
        version = running_versions.get(component.name, configured) if run_state.running else configured
        rows.append(StatusRow(component.name, runtime.name, shown_state, health, url, version))
    return rows


def status_notes(settings: Settings) -> list[str]:
    """What `invoke status` says under the table: settings given now that the running stack has not applied,
    and Phoenix's own settings passed through to it."""
    state = applied.read(settings)
    notes = []
    if state is not None:
        pending = applied.changes(state, settings)
        if pending:
            notes.append("Given now, not applied to the running stack (`invoke up` applies them):")
            notes += [f"  {change.describe()}" for change in pending]
    if state is not None:
        notes += storage.usage_lines(settings, state.runtime)
    if settings.phoenix_passthrough:
        notes.append("Phoenix settings passed through to Phoenix:")
        notes += [f"  {name}={_shown(name, value)}" for name, value in settings.phoenix_passthrough]
    return notes


def format_status(rows: list[StatusRow]) -> str:
    headers = ("COMPONENT", "RUNTIME", "STATE", "HEALTH", "URL", "VERSION")
    table = [headers] + [(r.component, r.runtime, r.state, r.health, r.url, r.version) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table
    )


def _shown(name: str, value: str) -> str:
    if any(word in name for word in ("PASSWORD", "SECRET", "KEY", "TOKEN")):
        return f"(hidden, {secrets.fingerprint(value)})"
    return value


def logs(settings: Settings, component: str, tail: int = 100, follow: bool = False) -> Iterator[str]:
    name = components.get(component).name
    if tail < 0:
        raise UsageError(f"--tail {tail}: expected a number of lines of at least 0")
    state = require_applied(settings)
    if name in state.skipped:
        raise StackError(f"{name} is not part of this stack ({state.skipped[name]}): it has no logs")
    return recorded_runtime(settings).logs(name, tail=tail, follow=follow)


def require_applied(settings: Settings) -> applied.AppliedState:
    """The applied-state record; a clear error when nothing was ever brought up in this state folder."""
    state = applied.read(settings)
    if state is None:
        raise StackError(f"no stack has been brought up in {settings.state_dir}: run `invoke up` first")
    return state


def rotate_key(settings: Settings, out: Printer = _print) -> None:
    """Mint a new ingestion key, restart what sends with it, then revoke the old key."""
    require_applied(settings)
    if not settings.phoenix_enable_auth:
        raise UsageError("PHOENIX_ENABLE_AUTH is false: there is no ingestion key to rotate")
    if settings.phoenix_api_key:
        raise UsageError(
            "PHOENIX_API_KEY is a key you gave: rotate it in the Phoenix that issued it, set the new one, "
            "then `invoke up`"
        )
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
