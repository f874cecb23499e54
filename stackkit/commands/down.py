"""`invoke down` and `invoke restart`: reverse order, so the senders flush into a still-running Phoenix."""

from __future__ import annotations

from stackkit.components import registry as components
from stackkit.components.component import Component, Plan
from stackkit.core.errors import OperationFailed, StackkitError
from stackkit.core.output import Printer
from stackkit.core.settings import Settings
from stackkit.phoenix import database
from stackkit.runtimes.base import Runtime
from stackkit.stack import applied, fan_out_queue, lifecycle
from stackkit.stack.lifecycle import (
    LIVE,
    Clock,
    Probes,
    RuntimeMaker,
    make_plan,
    make_runtime,
    recorded_runtime,
    require_applied,
)

_print = lifecycle.print_line


def down(
    settings: Settings,
    remove_data: bool = False,
    force: bool = False,
    out: Printer = _print,
    runtimes: RuntimeMaker = make_runtime,
    probes: Probes = LIVE,
) -> None:
    """Reverse order, so the demo and Alloy flush their queued spans into a still-running Phoenix, which is
    then drained with the settings it runs with (whatever the shell says now). When the drain cannot confirm
    every span is written, Phoenix is left running (OperationFailed) unless `force`. `runtimes` and `probes` reach
    the components (tests pass a fake's)."""
    given, state = settings, applied.read(settings)
    settings = lifecycle.running_settings(given)
    if state is not None and (pending := applied.changes(state, given)):
        shown = ", ".join(change.name for change in pending)
        out(f"down acts on the stack as it runs: {shown} given now apply at the next `invoke up`")
    runtime = recorded_runtime(settings, runtimes)
    elsewhere = components.external_urls(settings)
    for warning in lifecycle.unexpected_exit_notes(settings):
        out(f"WARNING: {warning}")
    still_queued: list[str] = []
    for component in reversed(components.ALL):
        if component.name in elsewhere:
            out(f"{component.name}: external at {elsewhere[component.name]}, left alone")
            continue
        # Draining is pointless when the data goes too, unless it lives in a database the user keeps.
        keeps_data = not remove_data or database.external_data_note(settings, runtime.name) is not None
        if component.queued_bytes is not None and keeps_data:
            still_queued += _drain_queue(settings, runtime, component, out, probes)
        if component is components.PHOENIX and keeps_data and not probes.drain(settings, runtime, out) and not force:
            raise OperationFailed(
                f"{component.name} was left running: it could not confirm every span it accepted is written (see "
                "the line above), and stopping it now drops what it still queues. Run `invoke down` again once "
                "it answers, or `invoke down --force` to stop it anyway"
            )
        if runtime.stop(component.name, remove_data=remove_data):
            out(f"{component.name}: stopped")
        else:
            out(f"{component.name}: not running")
    for line in still_queued:  # Phoenix's "every received span is written" is about what reached Phoenix
        out(f"not yet in Phoenix: {line}")
    lifecycle.forget_unexpected_exits(settings)
    applied.record_stopped(settings)
    if remove_data:
        applied.forget(settings)
        runtime.remove_network()
        out(f"data of the {runtime.name} runtime deleted")
        if note := database.external_data_note(settings, runtime.name):
            out(note)


def _drain_queue(settings: Settings, runtime: Runtime, component: Component, out: Printer, probes: Probes) -> list[str]:
    """A fan-out sends its queue into the still-running Phoenix before it stops, or `down` says what stays in it
    (measured), never that every span is written while spans wait there. What stays, for the closing line."""
    if runtime.state(component.name).running:
        queued = probes.queued(settings, runtime, component, out)
        if queued is None:
            return [f"{component.name}'s on-disk queue (unread: its metrics did not answer)"]
        return [f"{queued.bytes} bytes in {component.name}'s on-disk queue"] if queued.bytes else []
    left = fan_out_queue.left_on_disk(settings, component)
    if left is None or not left.bytes:
        return []
    out(
        f"{component.name}: not running; its on-disk queue holds {left.bytes} bytes ({left.how}): they are "
        f"sent at the next `invoke up` with STACK_COLLECTOR={component.name}"
    )
    return [f"{left.bytes} bytes in {component.name}'s on-disk queue"]


def restart(
    settings: Settings,
    component: str,
    out: Printer = _print,
    runtimes: RuntimeMaker = make_runtime,
    probes: Probes = LIVE,
) -> None:
    """Restart one component; restarting Phoenix stops its senders first and always brings them back."""
    target = components.get(component)
    state = require_applied(settings)
    settings = lifecycle.running_settings(settings)  # where it listens and how to log in, whatever the shell says
    if target.name in state.skipped:
        raise OperationFailed(
            f"{target.name} is not part of this stack ({state.skipped[target.name]}): nothing to restart"
        )
    runtime = recorded_runtime(settings, runtimes)
    if not runtime.state(target.name).running:
        raise OperationFailed(f"{target.name} is not running: `invoke up` starts it")
    say = Clock().printer(out)
    plan = make_plan(runtime)
    if target is components.PHOENIX and (problem := database.preflight_problem(settings, runtime.name)):
        raise OperationFailed(problem)
    try:
        if target is components.PHOENIX:
            # What sends to Phoenix stops first (flushing on SIGTERM) and comes back after it, whatever happened.
            with lifecycle.senders_paused(settings, runtime, plan, say, probes):
                _restart_one(settings, runtime, target.name, plan, say, probes)
        else:
            _restart_one(settings, runtime, target.name, plan, say, probes)
    except StackkitError as error:
        raise OperationFailed(f"restarting {target.name} failed: {error}") from None


def _restart_one(settings: Settings, runtime: Runtime, name: str, plan: Plan, out: Printer, probes: Probes) -> None:
    runtime.stop(name)
    out(f"{name}: stopped")
    try:
        lifecycle.start_and_wait(settings, runtime, name, plan, out, probes)
    except StackkitError:
        # A start that failed is stopped, not left to supervisord's retries of a broken start: `restart` leaves
        # the component as `up` would after a failure (not running, `invoke up` starts it).
        runtime.stop(name)
        out(f"{name}: stopped (its restart failed)")
        raise
