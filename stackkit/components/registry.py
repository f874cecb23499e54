"""The registry of the stack's components, in bring-up order: everything that lists components reads it.

A component is one `stackkit.components.component.Component`, declared in its own module, which holds what
differs between components (its environment builder, data folder, container endpoint, compose files, image
build, what an exit nobody asked for loses). Phoenix is the store the spans end up in: what it alone does, the
procedures that need it call by name (stackkit.components.phoenix).

Adding a component (e.g. `otelcol`):
1. its own module `stackkit/components/<name>.py` defining the entry (`Component(...)`) and its
   environment builder, native command and what else differs (see the fields of `Component`);
2. its templates and compose folder (`stacks/<folder>/docker-compose.yml`, any `*.j2` it renders);
3. its entry in `ALL` below, in bring-up order (and its settings as fields of `stackkit.core.settings.Settings`,
   with `restarts=` naming it);
4. its tests (`tests/stackkit/components/test_<name>_*.py`) and docs (docs/runtimes.md and docs/settings.md's table,
   DEVELOPERS.md).
"""

from __future__ import annotations

from stackkit.components.alloy import ALLOY
from stackkit.components.component import Component
from stackkit.components.demo import AI_DEMO
from stackkit.components.otelcol import OTELCOL
from stackkit.components.phoenix import PHOENIX
from stackkit.core.errors import UsageError
from stackkit.core.settings import Settings

__all__ = ["AI_DEMO", "ALL", "ALLOY", "BY_NAME", "NAMES", "OTELCOL", "PHOENIX", "Component", "get"]

# Bring-up order; tear-down runs it backwards so senders drain into a still-running Phoenix.
ALL: tuple[Component, ...] = (PHOENIX, ALLOY, OTELCOL, AI_DEMO)
NAMES: tuple[str, ...] = tuple(component.name for component in ALL)
BY_NAME = {component.name: component for component in ALL}


def get(name: str) -> Component:
    """The component called `name`; UsageError naming the choices otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise UsageError(f"unknown component {name!r}: choose from {', '.join(NAMES)}") from None


def external_urls(settings: Settings) -> dict[str, str]:
    """The components the user already runs elsewhere, by name, with their base URL."""
    return {component.name: url for component in ALL if (url := component.external_url(settings))}


def senders() -> tuple[Component, ...]:
    return tuple(component for component in ALL if component.sends_to_phoenix)
