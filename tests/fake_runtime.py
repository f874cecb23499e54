"""An in-process runtime that records what a task starts and stops, for ordering, rollback and Ctrl-C logic only
(what runs for real is tested with the real programs): its components are running or not, healthy when
running, nothing more. `probes()` answers the health, drain and Phoenix's-steps questions a task asks
(stackkit.stack.lifecycle.Probes), recording each; a failure or a KeyboardInterrupt is injected at a chosen step.

    runtime = FakeRuntime(settings, fail={"wait ai-demo": KeyboardInterrupt()})
    up(settings, runtimes=runtime.maker, probes=runtime.probes())
    runtime.events  # ["start phoenix", "wait phoenix", "steps phoenix", "start ai-demo", ...]

Steps: "start X" (raised after X started: it runs and must be undone), "wait X" (its health awaited),
"steps phoenix" (Phoenix's steps once healthy), "ready phoenix" (the wait its steps asked for before the stack is
ready),
"drain phoenix" (Phoenix's drain before it stops), "queue X" (a running fan-out's queue sent into Phoenix before
it stops), "stop X".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from stackkit.components.component import Component, Plan
from stackkit.components.phoenix import StepsDone
from stackkit.core.errors import OperationFailed
from stackkit.core.settings import Settings
from stackkit.runtimes.base import ComponentState, Runtime
from stackkit.stack.fan_out_queue import Queued
from stackkit.stack.lifecycle import Printer, Probes


@dataclass
class FakeRuntime:
    settings: Settings
    name: str = "native"
    running: set[str] = field(default_factory=set)
    missing: dict[str, str] = field(default_factory=dict)  # component -> why it cannot run here
    events: list[str] = field(default_factory=list)  # "start phoenix", "stop ai-demo", ...
    # step -> what is raised there: OperationFailed("...") as a failure, KeyboardInterrupt() as a Ctrl-C.
    fail: dict[str, BaseException] = field(default_factory=dict)
    drains: bool = True  # whether Phoenix's drain confirms every span is written
    drained_with: list[Settings] = field(default_factory=list)  # the settings each drain reached Phoenix with
    queued: dict[str, int] = field(default_factory=dict)  # fan-out -> bytes its queue keeps (none: it empties)

    def _step(self, step: str) -> None:
        self.events.append(step)
        if step in self.fail:
            raise self.fail.pop(step)

    def maker(self, settings: Settings, name: str) -> Runtime:
        """For a task's `runtimes=`: this runtime, whatever name it is asked for, with the settings given (as a
        real runtime is made with the settings it acts with)."""
        self.settings = settings
        return self

    # --- stackkit.runtimes.base.Runtime --------------------------------------------------------------------

    def check_available(self) -> None:
        return None

    def component_available(self, component: str) -> str | None:
        return self.missing.get(component)

    def prepare(self, plan: Plan) -> None:
        return None

    def start(self, component: str, plan: Plan) -> None:
        self.running.add(component)
        self._step(f"start {component}")

    def stop(self, component: str, remove_data: bool = False) -> bool:
        if component not in self.running:
            return False
        self.running.discard(component)
        self._step(f"stop {component}")
        return True

    def remove_network(self) -> bool:
        return False

    def state(self, component: str) -> ComponentState:
        up = component in self.running
        return ComponentState(running=up, detail="fake, running" if up else "not started")

    def logs(self, component: str, tail: int = 100, follow: bool = False) -> Iterator[str]:
        return iter(())

    # --- stackkit.stack.lifecycle.Probes -------------------------------------------------------------------

    def probes(self) -> Probes:
        return Probes(
            healthy=self._healthy,
            wait=self._wait,
            drain=self._drain,
            queued=self._queued,
            phoenix_steps=self._phoenix_steps,
        )

    def _healthy(self, settings: Settings, runtime: Runtime, component: str) -> bool:
        return component in self.running

    def _wait(self, settings: Settings, runtime: Runtime, component: str, out: Printer) -> None:
        self._step(f"wait {component}")
        if component not in self.running:
            raise OperationFailed(f"{component} did not become healthy (fake: not running)")
        out(f"{component}: healthy (fake)")

    def _drain(self, settings: Settings, runtime: Runtime, out: Printer) -> bool:
        if "phoenix" not in self.running:
            return True
        self.drained_with.append(settings)
        self._step("drain phoenix")
        return self.drains

    def _queued(self, settings: Settings, runtime: Runtime, component: Component, out: Printer) -> Queued | None:
        self._step(f"queue {component.name}")
        return Queued(self.queued.get(component.name, 0), "fake")

    def _phoenix_steps(self, settings: Settings, whole: Plan, stored: dict[str, str], out: Printer) -> StepsDone:
        self._step("steps phoenix")
        # As Phoenix's own steps do (the price live): a wait run once the others have started.
        return StepsDone(stored, (lambda: self._step("ready phoenix"),))
