"""The procedures every task that changes the stack shares, each written once: which runtime runs the stack,
what a bring-up plans, start-and-wait, and the senders paused (Phoenix drained) around a Phoenix change.

Used by the commands above it (stackkit.commands): `up`, `restart`, `down`, `rotate-key`, `upgrade`,
`backup`/`restore`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import docker

from stackkit.components import phoenix
from stackkit.components import registry as components
from stackkit.components.component import Plan
from stackkit.core.errors import OperationFailed, StackkitError, UsageError
from stackkit.core.health import probe, wait_healthy
from stackkit.core.output import Printer
from stackkit.core.settings import Settings
from stackkit.phoenix import database
from stackkit.runtimes.base import Runtime
from stackkit.runtimes.docker import DockerRuntime
from stackkit.runtimes.native import NativeRuntime
from stackkit.runtimes.supervision import START_SECONDS
from stackkit.stack import applied, fan_out_queue

RuntimeMaker = Callable[[Settings, str], Runtime]  # the runtime of a name ("docker", "native") for settings
RUNTIMES = ("docker", "native")


def print_line(line: str) -> None:
    print(line, flush=True)


class Clock:
    """Prefixes progress lines with the seconds since the task began."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def line(self, text: str) -> str:
        return f"[{time.monotonic() - self.start:6.1f}s] {text}"

    def printer(self, out: Printer) -> Printer:
        return lambda text: out(self.line(text))


def health_url(settings: Settings, component: str) -> str:
    declared = components.get(component)
    if external := declared.external_url(settings):
        return f"{external}{declared.health_path}"
    return f"http://127.0.0.1:{settings.value_of(declared.url_port_setting)}{declared.health_path}"


def is_healthy(settings: Settings, runtime: Runtime, component: str) -> bool:
    url = health_url(settings, component)
    if components.get(component).external_url(settings):
        return probe(url, verify=settings.phoenix_tls_verify).ok
    return runtime.state(component).running and probe(url).ok


# --- Which runtime ---------------------------------------------------------------------------------------


def docker_engine_answers() -> bool:
    try:
        client = docker.from_env(timeout=3)
        client.ping()
        client.close()
        return True
    except Exception:  # any failure means "no engine here"
        return False


def make_runtime(settings: Settings, name: str) -> Runtime:
    if name == "docker":
        return DockerRuntime(settings)
    return NativeRuntime(settings)


def resolve_runtime(
    settings: Settings, requested: str | None, out: Printer = print_line, make: RuntimeMaker = make_runtime
) -> Runtime:
    """The runtime a running stack already uses, else the requested one, else auto-detected."""
    recorded = applied.running_runtime(settings) or ""
    choice = requested or settings.stack_runtime
    if choice not in ("auto", *RUNTIMES):
        raise UsageError(f"--runtime {choice}: choose auto, docker or native")
    if recorded and (choice in ("auto", recorded)):
        return make(settings, recorded)
    if recorded and any(make(settings, recorded).state(name).running for name in components.NAMES):
        raise UsageError(
            f"the stack in {settings.state_dir} runs on the {recorded} runtime; "
            f"run `invoke down` before switching to {choice}"
        )
    if choice == "auto":
        choice = "docker" if docker_engine_answers() else "native"
        reason = "a Docker engine answers" if choice == "docker" else "no Docker engine answers"
        out(f"runtime: {choice} ({reason}; set STACK_RUNTIME or --runtime to choose)")
    return make(settings, choice)


def recorded_runtime(settings: Settings, make: RuntimeMaker = make_runtime) -> Runtime:
    """The runtime the stack was brought up with (native when nothing was ever brought up)."""
    return make(settings, applied.running_runtime(settings) or "native")


def require_applied(settings: Settings) -> applied.AppliedState:
    """The applied-state record; a clear error when nothing was ever brought up in this state folder."""
    state = applied.read(settings)
    if state is None:
        raise OperationFailed(f"no stack has been brought up in {settings.state_dir}: run `invoke up` first")
    return state


# --- What a bring-up runs -------------------------------------------------------------------------------


def make_plan(runtime: Runtime, only: Iterable[str] | None = None) -> Plan:
    wanted = [components.get(name).name for name in only] if only else list(components.NAMES)
    external = components.external_urls(runtime.settings)
    skipped = {name: f"external at {url}" for name, url in external.items()}
    skipped |= {
        component.name: reason
        for component in components.ALL
        if component.name not in skipped and (reason := component.not_chosen(runtime.settings))
    }
    skipped |= {
        component.name: reason
        for component in components.ALL
        if component.optional
        and component.name not in skipped
        and (reason := runtime.component_available(component.name))
    }
    chosen = tuple(name for name in components.NAMES if name in wanted and name not in skipped)
    return Plan(runtime=runtime.name, components=chosen, skipped=skipped, external=external)


def running_plan(runtime: Runtime, whole: Plan) -> Plan:
    """The plan as it runs now: the components of `whole` that are running (and those the user runs elsewhere)."""
    running = tuple(name for name in whole.components if runtime.state(name).running)
    return Plan(runtime=whole.runtime, components=running, skipped=whole.skipped, external=whole.external)


# --- Start and wait ---------------------------------------------------------------------------------------


def start_and_wait(
    settings: Settings, runtime: Runtime, component: str, plan: Plan, out: Printer, probes: Probes | None = None
) -> None:
    """Start one component and wait for its health; on failure print its last log lines and raise."""
    out(f"{component}: starting on {runtime.name}")
    runtime.start(component, plan)
    (probes or LIVE).wait(settings, runtime, component, out)


def wait_or_fail(settings: Settings, runtime: Runtime, component: str, out: Printer) -> None:
    url = health_url(settings, component)
    result = wait_healthy(url, settings.stack_health_timeout, still_running=lambda: runtime.state(component).running)
    if result.ok:
        out(f"{component}: healthy ({url})")
        return
    detail = result.detail
    if (now := runtime.state(component)).detail not in ("not running", "") and not now.running:
        detail += f"; {now.detail}"  # e.g. given up by supervisord after N starts, and how it last ended
    out(f"{component}: FAILED: {detail}")
    out(f"--- last 30 log lines of {component} ---")
    for line in runtime.logs(component, tail=30):
        out(line)
    raise OperationFailed(
        f"{component} did not become healthy at {url} ({detail}). "
        f"Hint: read the log above; `invoke logs --service {component}` shows more; "
        "STACK_HEALTH_TIMEOUT raises the wait."
    )


# --- Senders paused around a Phoenix change -------------------------------------------------------------


DROPPED_AT_STOP = "it drops what it still queues 5 s after SIGTERM"


def running_settings(settings: Settings) -> Settings:
    """The settings the running stack was brought up with (its record and secrets), whatever the shell says
    now: a task that acts on what runs (down, restart) must reach it where it listens, with its auth. The
    settings given now when nothing was brought up."""
    state = applied.read(settings)
    if state is None:
        return settings
    return applied.applied_settings(settings, state)


def drain(settings: Settings, runtime: Runtime, out: Printer) -> bool:
    """Phoenix drops what it still queues 5 s after SIGTERM: with its senders stopped, let it write all.
    True when it has (or it is not running); False when that could not be confirmed (the caller decides)."""
    if runtime.state(components.PHOENIX.name).running:
        return database.wait_for_ingestion(settings, out)
    return True


def stop(
    settings: Settings,
    runtime: Runtime,
    component: str,
    out: Printer,
    drain_first: bool = True,
    probes: Probes | None = None,
) -> bool:
    """Stop one component; Phoenix is drained first (its senders are stopped by then)."""
    drained = (probes or LIVE).drain
    if drain_first and component == components.PHOENIX.name and not drained(settings, runtime, out):
        out(f"{component}: stopping it anyway ({DROPPED_AT_STOP})")
    return runtime.stop(component)


def pause_senders(settings: Settings, runtime: Runtime, out: Printer, probes: Probes | None = None) -> list[str]:
    """Stop what sends to Phoenix (newest first, each flushing on SIGTERM), then let Phoenix drain; returns
    the names stopped, for resume_senders."""
    stopped = []
    for sender in reversed(components.senders()):
        if runtime.state(sender.name).running:
            runtime.stop(sender.name)
            stopped.append(sender.name)
            out(f"{sender.name}: stopped (sends to {components.PHOENIX.name})")
    if not (probes or LIVE).drain(settings, runtime, out):
        out(f"{components.PHOENIX.name}: going on anyway ({DROPPED_AT_STOP})")
    return stopped


# --- Exits nobody asked for ----------------------------------------------------------------------------


def unexpected_exit_notes(settings: Settings) -> list[str]:
    """A line for each native component that exited without `invoke down` since its last start by a task (killed,
    crashed, out of memory), as supervisord measured it: how many times it was restarted and when, how it last
    ended, or that supervisord gave it up. The stack cannot save what was lost, but says so."""
    runtime = recorded_runtime(settings)
    if not isinstance(runtime, NativeRuntime):
        return []
    notes = []
    gone = runtime.supervisor.unexpected_exit()
    if gone is not None:
        notes.append(
            f"supervisord (which restarts the native components) exited without `invoke down`: {gone.describe()}; "
            "nothing restarts a component that exits now: `invoke down` then `invoke up` brings it back"
        )
    for component in components.ALL:
        found = runtime.supervised(component.name)
        if not found.restarts and not found.given_up:
            continue
        how = f"; last exit: {found.last_exit.how}, at {found.last_exit.at}" if found.last_exit else ""
        if found.given_up:
            outcome = (
                f"supervisord gave it up after {len(found.starts)} starts in a row that did not last "
                f"{START_SECONDS} s{how}; it is not running"
            )
        else:
            times = "time" if found.restarts == 1 else "times"
            outcome = (
                f"supervisord restarted it {found.restarts} {times}, last at {_local(found.starts[-1])}{how}; "
                f"now {found.state.lower()}" + (f" as pid {found.pid}" if found.pid else "")
            )
        notes.append(
            f"{component.name} exited without `invoke down`: {outcome}. {component.exit_consequence}. "
            f"`invoke logs --service {component.name}` may say why; this note stays until `invoke down`"
        )
    return notes


def _local(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def forget_unexpected_exits(settings: Settings) -> None:
    """After a planned `down`: each component's restart record went with its stop; supervisord's own exit goes."""
    runtime = recorded_runtime(settings)
    if isinstance(runtime, NativeRuntime):
        runtime.supervisor.forget_exit()


def resume_senders(
    settings: Settings, runtime: Runtime, plan: Plan, names: list[str], out: Printer, probes: Probes | None = None
) -> None:
    """Start again what pause_senders stopped, in bring-up order, each waited for; every one is tried, the
    first failure is raised after."""
    failure: StackkitError | None = None
    for name in reversed(names):
        try:
            start_and_wait(settings, runtime, name, plan, out, probes)
        except StackkitError as error:
            failure = failure or error
    if failure is not None:
        raise failure


@contextmanager
def senders_paused(
    settings: Settings, runtime: Runtime, plan: Plan, out: Printer, probes: Probes | None = None
) -> Iterator[list[str]]:
    """Around a change of Phoenix: its senders stopped and Phoenix drained before, the senders started again
    after whatever happened (they buffer and retry while it is down)."""
    stopped = pause_senders(settings, runtime, out, probes)
    try:
        yield stopped
    except BaseException:
        with suppress(StackkitError):  # the change's own failure is the one reported
            resume_senders(settings, runtime, plan, stopped, out, probes)
        raise
    resume_senders(settings, runtime, plan, stopped, out, probes)


# --- What a task asks of running components -------------------------------------------------------------


@dataclass(frozen=True)
class Probes:
    """What a task asks of the components it runs, beyond starting and stopping them (their runtime's job): are
    they healthy, wait until one is (OperationFailed when it does not become so), drain Phoenix, send a
    running fan-out's on-disk queue into Phoenix (what stays, measured; None when unread), run Phoenix's steps
    once it is healthy. LIVE asks the real components over HTTP; tests of the tasks' order pass those of
    an in-process fake runtime (tests/fake_runtime.py)."""

    healthy: Callable[[Settings, Runtime, str], bool]
    wait: Callable[[Settings, Runtime, str, Printer], None]
    drain: Callable[[Settings, Runtime, Printer], bool]
    queued: fan_out_queue.Drainer
    phoenix_steps: Callable[[Settings, Plan, dict[str, str], Printer], phoenix.StepsDone]


LIVE = Probes(
    healthy=is_healthy,
    wait=wait_or_fail,
    drain=drain,
    queued=fan_out_queue.drain,
    phoenix_steps=phoenix.steps_once_healthy,
)
