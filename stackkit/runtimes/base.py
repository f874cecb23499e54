"""What every runtime (docker, native) offers the bring-up, status, logs and down tasks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from stackkit.components.component import Plan
from stackkit.core.errors import OperationFailed
from stackkit.core.settings import Settings


class RuntimeUnavailable(OperationFailed):
    """The runtime cannot run here; the message says why and what to do."""


class ComponentStartError(OperationFailed):
    """A component could not be started (compose failed, an image could not be built); says why."""


@dataclass(frozen=True)
class ComponentState:
    running: bool
    detail: str  # "pid 1234", "container abc (running)", "not started", ...


class Runtime(Protocol):
    name: str
    settings: Settings

    def check_available(self) -> None:
        """Raise RuntimeUnavailable naming what is missing and how to get it."""

    def component_available(self, component: str) -> str | None:
        """None when the component can run here, otherwise why it is skipped (e.g. no alloy binary)."""

    def prepare(self, plan: Plan) -> None:
        """Create what components share (docker network, state folders)."""

    def start(self, component: str, plan: Plan) -> None:
        """Start one component detached, so it outlives the invoke process."""

    def stop(self, component: str, remove_data: bool = False) -> bool:
        """Stop exactly what this stack started for the component; True when something was stopped."""

    def remove_network(self) -> bool:
        """Remove what components shared once nothing uses it (the docker network); True when removed."""

    def state(self, component: str) -> ComponentState: ...

    def logs(self, component: str, tail: int = 100, follow: bool = False) -> Iterator[str]:
        """The component's log lines, oldest first; with follow, keep yielding new ones."""
