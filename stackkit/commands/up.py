"""`invoke up`: preflight, apply what changed since the last `up`, start each missing component in
order and wait for its health (Phoenix -> Alloy -> AI demo), with Phoenix's own steps once it is healthy."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from stackkit.commands import app_send
from stackkit.commands.upgrade import upgrade_if_wanted
from stackkit.components import otelcol, phoenix
from stackkit.components import registry as components
from stackkit.components.component import Plan
from stackkit.core import exposure, file_modes, ports, secrets
from stackkit.core.errors import OperationFailed, StackkitError, UsageError
from stackkit.core.output import Printer
from stackkit.core.settings import Settings
from stackkit.phoenix import database
from stackkit.runtimes.base import Runtime, RuntimeUnavailable
from stackkit.runtimes.render import render
from stackkit.stack import applied, fan_out_queue, lifecycle
from stackkit.stack.lifecycle import LIVE, Clock, Probes, RuntimeMaker, make_plan, make_runtime, resolve_runtime

_print = lifecycle.print_line


def _prepare_secrets(settings: Settings) -> dict[str, str]:
    problems = secrets.phoenix_secret_problems(settings)
    if problems:
        raise UsageError("; ".join(problems))
    return secrets.ensure(settings)


def up(
    settings: Settings,
    requested_runtime: str | None = None,
    only: Iterable[str] | None = None,
    out: Printer = _print,
    runtimes: RuntimeMaker = make_runtime,
    probes: Probes = LIVE,
) -> Plan:
    """Preflight, apply what changed since the last `up`, then start each missing component in order and wait
    for its health. Raises StackkitError. `runtimes` and `probes` reach the components (tests pass a fake's)."""
    clock = Clock()
    say = clock.printer(out)
    runtime = resolve_runtime(settings, requested_runtime, out, runtimes)
    try:
        runtime.check_available()
    except RuntimeUnavailable as error:
        raise OperationFailed(f"{runtime.name} runtime unavailable: {error}") from None
    whole = make_plan(runtime)
    plan = make_plan(runtime, only)
    for note in lifecycle.unexpected_exit_notes(settings):
        say(f"WARNING: {note}")
    for name, reason in plan.skipped.items():
        say(f"{name}: skipped ({reason})")
    state = applied.read(settings)
    _refuse_versions_that_cannot_run(settings, runtime, whole)
    if problem := fan_out_queue.stranded_problem(settings, runtime):
        raise UsageError(problem)
    stopped_for_change: list[str] = []
    changed = ""
    if state is not None and any(runtime.state(name).running for name in components.NAMES):
        state = upgrade_if_wanted(settings, state, say)
        pending = applied.changes(state, settings)
        changed = ", ".join(change.name for change in pending)
        stopped_for_change = _apply_changes(settings, state, pending, say, runtimes, probes)
    try:
        return _bring_up(settings, runtime, whole, plan, state, say, out, probes)
    except StackkitError as error:
        if not stopped_for_change or state is None:
            raise
        _bring_back(settings, state, stopped_for_change, changed, error, say, runtimes, probes)
        raise  # _bring_back raises; this keeps type checkers sure


def _bring_back(
    settings: Settings,
    state: applied.AppliedState,
    stopped: list[str],
    changed: str,
    error: StackkitError,
    out: Printer,
    runtimes: RuntimeMaker,
    probes: Probes,
) -> None:
    """The changed settings failed to start: start again what the change stopped, with the settings it ran
    with (its record), so a failed change leaves the stack as it was; then fail, saying both."""
    before = applied.applied_settings(settings, state)
    out(f"applying the change of {changed} failed: {error}")
    out(f"bringing back what ran before with the previous settings: {', '.join(reversed(stopped))}")
    back = runtimes(before, state.runtime)
    whole = make_plan(back)
    for name in reversed(stopped):
        if back.state(name).running:
            back.stop(name)  # what the failed change left of it
    render(before, whole, secrets.ensure(before))
    failed: list[str] = []
    for name in reversed(stopped):
        try:
            lifecycle.start_and_wait(before, back, name, whole, out, probes)
        except StackkitError:
            failed.append(name)
            back.stop(name)  # its restart record goes with the stop: a failed start is not reported as a crash
    applied.record(before, lifecycle.running_plan(back, whole))
    if failed:
        raise OperationFailed(
            f"applying the change of {changed} failed ({error}), and bringing back the previous settings failed "
            f"too for {', '.join(failed)}: read `invoke logs --service {failed[0]}`"
        ) from None
    raise OperationFailed(
        f"applying the change of {changed} failed ({error}); the stack runs again with its previous settings "
        f"({', '.join(reversed(stopped))} started again). Fix {changed} (the log above says why it failed) and run "
        "`invoke up` again"
    ) from None


def _refuse_versions_that_cannot_run(settings: Settings, runtime: Runtime, whole: Plan) -> None:
    """A Collector version the native runtime cannot run (it runs the stack's own build) is bad input: refused
    before anything stops or starts."""
    if components.OTELCOL.name in whole.components and (problem := otelcol.version_problem(settings, runtime.name)):
        raise UsageError(problem)


def _bring_up(
    settings: Settings,
    runtime: Runtime,
    whole: Plan,
    plan: Plan,
    state: applied.AppliedState | None,
    say: Printer,
    out: Printer,
    probes: Probes,
) -> Plan:

    _secure_state_dir(settings, say)
    to_start = [name for name in plan.components if not probes.healthy(settings, runtime, name)]
    # One its supervisor is starting again (it exited) is waited for, not called broken.
    for name in [name for name in to_start if "starting" in runtime.state(name).detail]:
        probes.wait(settings, runtime, name, say)
    to_start = [name for name in to_start if not probes.healthy(settings, runtime, name)]
    if not to_start:
        applied.record(settings, lifecycle.running_plan(runtime, whole))
        _when_running(settings, runtime, to_start, say, probes)
        say("every component is already running and healthy; nothing changed")
        _print_urls(settings, lifecycle.running_plan(runtime, whole), out)
        _warn_exposure(settings, runtime, out)
        return plan
    broken = [name for name in to_start if runtime.state(name).running]
    if broken:
        raise OperationFailed(
            f"{', '.join(broken)} running but not healthy: see `invoke logs --service {broken[0]}`, "
            "then `invoke down` and `invoke up`"
        )
    _check_destinations(settings, runtime, whole, plan, probes)
    busy = ports.busy(settings.host_ports(), [components.get(name) for name in to_start])
    if busy:
        raise OperationFailed("host ports are busy; nothing was started:\n  " + "\n  ".join(busy))
    if components.PHOENIX.name in to_start and (problem := database.preflight_problem(settings, runtime.name)):
        raise OperationFailed(problem)

    first_time = state is None
    stored = _prepare_secrets(settings)
    if components.PHOENIX.name in whole.external:
        stored = phoenix.external_secrets(settings, stored, say)
    # Rendered for the whole stack, so a component started alone still sends where the others listen.
    written = render(settings, whole, stored)
    say(f"rendered {len(written)} files into {settings.rendered_dir}")
    runtime.prepare(plan)
    settings.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if state is None or state.stopped or state.runtime != runtime.name:
        # Recorded before anything starts, so `down` and `status` find what a failed or interrupted run left.
        applied.record(settings, Plan(runtime=runtime.name, components=(), skipped=whole.skipped))

    started: list[str] = []
    until_ready: tuple[Callable[[], None], ...] = ()
    try:
        for name in plan.components:
            if name not in to_start:
                say(f"{name}: already healthy")
                continue
            started.append(name)
            if components.get(name).sends_to_phoenix:
                # Waited for below, once all are started: they start while Phoenix's steps until ready run
                # (its price checked live).
                say(f"{name}: starting on {runtime.name}")
                runtime.start(name, plan)
                continue
            lifecycle.start_and_wait(settings, runtime, name, plan, say, probes)
            if name == components.PHOENIX.name:
                done = probes.phoenix_steps(settings, whole, stored, say)
                if done.secrets != stored:  # a key minted now: the others send with it
                    stored = done.secrets
                    render(settings, whole, stored)
                until_ready = done.until_ready
        for wait in until_ready:
            wait()
        for name in started:
            if components.get(name).sends_to_phoenix:
                probes.wait(settings, runtime, name, say)
    except (StackkitError, KeyboardInterrupt) as error:
        # No half-started stack: undo what this bring-up started, newest first.
        if isinstance(error, KeyboardInterrupt):
            say("interrupted (Ctrl-C): stopping what this run started")
        for name in reversed(started):
            runtime.stop(name)
            say(f"{name}: stopped (started by this run)")
        raise
    _when_running(settings, runtime, to_start, say, probes)
    running = lifecycle.running_plan(runtime, whole)
    applied.record(settings, running)
    for component in fan_out_queue.fan_outs():
        if component.name in started:  # it sends what it queued: the last `down`'s measure is history
            fan_out_queue.forget(settings, component.name)
    _print_urls(settings, running, out)
    _warn_exposure(settings, runtime, out)
    if first_time:
        _print_next_steps(settings, plan, out)
    return plan


def _when_running(settings: Settings, runtime: Runtime, started: list[str], out: Printer, probes: Probes) -> None:
    """A healthy Phoenix this run did not start keeps its UI admin secured (auth on)."""
    name = components.PHOENIX.name
    if name not in started and probes.healthy(settings, runtime, name):
        phoenix.secure_admin(settings, out)


def _secure_state_dir(settings: Settings, out: Printer) -> None:
    """A state folder written before the stack kept it private (phoenix.db was 0644) is made private."""
    settings.state_dir.mkdir(mode=file_modes.PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    changed = file_modes.tighten(settings.state_dir)
    if changed:
        out(f"made {len(changed)} files and folders in {settings.state_dir} private (0600/0700)")


def _warn_exposure(settings: Settings, runtime: Runtime, out: Printer) -> None:
    if warning := exposure.open_without_auth(settings, runtime.name):
        out(f"WARNING: {warning}")


def _apply_changes(
    settings: Settings,
    state: applied.AppliedState,
    pending: list[applied.Change],
    out: Printer,
    runtimes: RuntimeMaker,
    probes: Probes,
) -> list[str]:
    """Stop what the changed settings affect, with the settings it runs with (draining Phoenix first); the
    bring-up that follows starts it again with the new ones. The names stopped, newest first."""
    if not pending:
        return []
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
    if components.PHOENIX.name in affected:
        affected |= {sender.name for sender in components.senders()}
    before = applied.applied_settings(settings, state)
    runtime = runtimes(before, state.runtime)
    if problem := fan_out_queue.running_switch_problem(settings, before, runtime, out, probes.queued):
        raise UsageError(problem)
    leaving = fan_out_queue.leaving(settings, runtime)
    stopped = []
    for component in reversed(components.ALL):
        if component.name in affected and runtime.state(component.name).running:
            if component in leaving:  # what the demo flushed into it as it stopped, sent before it goes
                probes.queued(before, runtime, component, out)
            lifecycle.stop(before, runtime, component.name, out, probes=probes)
            out(f"{component.name}: stopped to apply the change")
            stopped.append(component.name)
    return stopped


def _check_destinations(settings: Settings, runtime: Runtime, whole: Plan, plan: Plan, probes: Probes) -> None:
    """A component started without the one it sends to needs that one running, or its spans go nowhere."""
    if components.PHOENIX.name in whole.external and (problem := phoenix.external_problem(settings)):
        summary, fix = problem
        raise OperationFailed(f"{components.PHOENIX.external_url_setting}: {summary}\nfix: {fix}")
    for name in plan.components:
        destination = components.get(name).destination(whole)
        if destination and destination not in plan.components and not probes.healthy(settings, runtime, destination):
            raise OperationFailed(
                f"{name} sends its spans to {destination}, which is not running and healthy: run `invoke up` "
                f"(or add {destination} to --only)"
            )


def _print_urls(settings: Settings, plan: Plan, out: Printer) -> None:
    out(f"Phoenix UI:        {settings.phoenix_url}")
    for line in app_send.how_to_send_lines(settings, plan):
        out(line)
    if components.AI_DEMO.name in plan.components:
        out(f"AI demo:           {settings.ai_demo_url} (POST /chat)")


def _print_next_steps(settings: Settings, plan: Plan, out: Printer) -> None:
    out("")
    out("Next:")
    out(f"  1. open the Phoenix UI:   {settings.phoenix_url}")
    if components.AI_DEMO.name in plan.components:
        out("  2. send demo traffic:     .venv/bin/invoke traffic --requests 20 --sessions 3")
    out("  3. prove traces land:     .venv/bin/invoke verify")
