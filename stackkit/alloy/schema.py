"""What each Alloy component accepts, at the pinned Alloy release: its attributes and blocks (required or
optional, their types), its exports and its stability level.

The data is derived from grafana/alloy's source at a release tag by `tools/alloy_schema` (a go/ast
reader of the components' `alloy:"name,attr|block|enum,optional"` struct tags and their Registration) and
kept in `stackkit/alloy/schemas/<tag>.json`; a test keeps that tag equal to the pinned ALLOY_VERSION.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
# `alloy run --stability.level`, lowest first (grafana/alloy internal/featuregate/featuregate.go).
STABILITY_LEVELS = ("experimental", "public-preview", "generally-available")
DEFAULT_STABILITY_LEVEL = "generally-available"
# Components registered with Community: true load only with --feature.community-components.enabled.
COMMUNITY = "community"
STABILITY_FLAG = "stability.level"


@dataclass(frozen=True)
class AttributeSpec:
    type: str  # string, number, bool, duration, secret, optional_secret, list(T), map(T), capsule(Name), any
    required: bool


@dataclass(frozen=True)
class BlockSpec:
    kind: str  # "block", or "enum" (one of a list of alternatives, written name.kind)
    required: bool
    repeatable: bool
    body: str = ""  # key into AlloySchema.bodies; "" when not a struct the schema could read


@dataclass(frozen=True)
class BodySpec:
    attributes: Mapping[str, AttributeSpec]
    blocks: Mapping[str, BlockSpec]
    label: bool = False  # written `name "label" { ... }` (a struct field tagged `alloy:",label"`)

    def names(self) -> list[str]:
        return [*self.attributes, *self.blocks]


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    stability: str
    arguments: str
    exports: Mapping[str, str]


@dataclass(frozen=True)
class AlloySchema:
    alloy_version: str
    components: Mapping[str, ComponentSpec]
    bodies: Mapping[str, BodySpec]

    def body(self, key: str) -> BodySpec | None:
        return self.bodies.get(key) if key else None

    @functools.cached_property
    def namespaces(self) -> frozenset[str]:
        """First name segments of registered components (otelcol, prometheus, loki, ...)."""
        return frozenset(name.split(".")[0] for name in self.components)


def _body(data: Mapping[str, dict]) -> BodySpec:
    return BodySpec(
        attributes={name: AttributeSpec(**spec) for name, spec in data["attributes"].items()},
        blocks={name: BlockSpec(**spec) for name, spec in data["blocks"].items()},
        label=bool(data.get("label", False)),
    )


def schema_files() -> list[Path]:
    return sorted(SCHEMA_DIR.glob("v*.json"))


@functools.lru_cache(maxsize=4)
def load(path: Path) -> AlloySchema:
    data = json.loads(path.read_text())
    return AlloySchema(
        alloy_version=data["alloy_version"],
        components={
            name: ComponentSpec(name, spec["stability"], spec["arguments"], spec["exports"])
            for name, spec in data["components"].items()
        },
        bodies={key: _body(body) for key, body in data["bodies"].items()},
    )


def for_version(version: str) -> AlloySchema:
    """The schema of that Alloy release, else of the newest one derived (which messages then name)."""
    exact = SCHEMA_DIR / f"{version}.json"
    files = schema_files()
    return load(exact if exact.exists() else files[-1])


def stability_rank(level: str) -> int:
    return STABILITY_LEVELS.index(level)


def closest(name: str, candidates: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


_DURATION_PART = re.compile(r"(\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def is_go_duration(text: str) -> bool:
    """Whether Go's time.ParseDuration, which Alloy decodes durations with, accepts the text."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return True
    if not body:
        return False
    position = 0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        if match is None:
            return False
        position = match.end()
    return True


def element_type(type_name: str) -> str | None:
    """T for list(T) or map(T)."""
    match = re.fullmatch(r"(?:list|map)\((.*)\)", type_name)
    return match.group(1) if match else None
