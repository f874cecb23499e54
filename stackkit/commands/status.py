"""`invoke status`: one row per component, and what the running stack has not applied."""

from __future__ import annotations

from dataclasses import dataclass

from stackkit.commands import app_send
from stackkit.components import registry as components
from stackkit.core import secrets
from stackkit.core.health import probe
from stackkit.core.settings import Settings
from stackkit.phoenix import storage
from stackkit.stack import applied, lifecycle
from stackkit.stack.lifecycle import health_url, recorded_runtime


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
        # Natively the detail is supervisord's: its PID, restarts and when, or that it gave the component up.
        if run_state.running:
            shown_state = f"running, {run_state.detail}"
        elif run_state.detail.startswith("given up"):
            shown_state = run_state.detail
        else:
            shown_state = "skipped" if skipped else "stopped"
        configured = settings.value_of(component.version_setting) if component.version_setting else "local"
        version = running_versions.get(component.name, configured) if run_state.running else configured
        rows.append(StatusRow(component.name, runtime.name, shown_state, health, url, version))
    return rows


def status_notes(settings: Settings) -> list[str]:
    """What `invoke status` says under the table: settings given now that the running stack has not applied,
    and Phoenix's own settings passed through to it."""
    state = applied.read(settings)
    notes = [f"WARNING: {note}" for note in lifecycle.unexpected_exit_notes(settings)]
    if state is not None:
        pending = applied.changes(state, settings)
        if pending:
            notes.append("Given now, not applied to the running stack (`invoke up` applies them):")
            notes += [f"  {change.describe()}" for change in pending]
    if state is not None:
        notes += storage.usage_lines(settings, state.runtime)
    notes += _how_to_send(settings)
    if settings.phoenix_passthrough:
        notes.append("Phoenix settings passed through to Phoenix:")
        notes += [f"  {name}={_shown(name, value)}" for name, value in settings.phoenix_passthrough]
    return notes


def _how_to_send(settings: Settings) -> list[str]:
    """Where an app sends, while something runs that takes its spans."""
    runtime = recorded_runtime(settings)
    plan = lifecycle.running_plan(runtime, lifecycle.make_plan(runtime))
    if not plan.components and not plan.external:
        return []
    return app_send.how_to_send_lines(settings, plan)


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
