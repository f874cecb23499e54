"""An in-process runtime that records what a task starts and stops, for ordering and rollback logic only (what
runs for real is tested with the real programs): its components are running or not, nothing more."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from stackkit.runtimes.base import ComponentState
from stackkit.settings import Settings
from stackkit.stack.component import Plan


@dataclass
class FakeRuntime:
    settings: Settings
    name: str = "native"
    running: set[str] = field(default_factory=set)
    missing: dict[str, str] = field(default_factory=dict)  # component -> why it cannot run here
    events: list[str] = field(default_factory=list)  # "start phoenix", "stop ai-demo", ...

    def check_available(self) -> None:
        return None

    def component_available(self, component: str) -> str | None:
        return self.missing.get(component)

    def prepare(self, plan: Plan) -> None:
        return None

    def start(self, component: str, plan: Plan) -> None:
        self.events.append(f"start {component}")
        self.running.add(component)

    def stop(self, component: str, remove_data: bool = False) -> bool:
        if component not in self.running:
            return False
        self.events.append(f"stop {component}")
        self.running.discard(component)
        return True

    def remove_network(self) -> bool:
        return False

    def state(self, component: str) -> ComponentState:
        up = component in self.running
        return ComponentState(running=up, detail="fake, running" if up else "not started")

    def logs(self, component: str, tail: int = 100, follow: bool = False) -> Iterator[str]:
        return iter(())
