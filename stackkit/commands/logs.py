"""`invoke logs`: a component's log lines, from the runtime it runs on."""

from __future__ import annotations

from collections.abc import Iterator

from stackkit.components import registry as components
from stackkit.core.errors import OperationFailed, UsageError
from stackkit.core.settings import Settings
from stackkit.stack.lifecycle import recorded_runtime, require_applied


def logs(settings: Settings, component: str, tail: int = 100, follow: bool = False) -> Iterator[str]:
    name = components.get(component).name
    if tail < 0:
        raise UsageError(f"--tail {tail}: expected a number of lines of at least 0")
    state = require_applied(settings)
    if name in state.skipped:
        raise OperationFailed(f"{name} is not part of this stack ({state.skipped[name]}): it has no logs")
    return recorded_runtime(settings).logs(name, tail=tail, follow=follow)
