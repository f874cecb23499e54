"""The configuration files `invoke verify` inspects, read and parsed once for every check.

Alloy runs a folder: the versioned `stacks/grafana-alloy/config.alloy` plus the pieces rendered from
the `*.alloy.j2` templates into `<state>/rendered/grafana-alloy/`. When nothing is rendered yet, the
pieces are rendered into a temporary folder (placeholder secrets) so the checks still see them. The
environment Alloy and the demo get comes from the rendered env files, else from what render.py would
write. Compose files are parsed with PyYAML, keeping the nodes to name lines.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from stackkit.alloy.schema import DEFAULT_STABILITY_LEVEL
from stackkit.alloy.syntax import AlloyFile, AlloySyntaxError, Block, parse_file
from stackkit.components import alloy as alloy_component
from stackkit.components import demo as demo_component
from stackkit.components import phoenix as phoenix_component
from stackkit.components import registry as components
from stackkit.components.component import Plan
from stackkit.core import envfile
from stackkit.core.settings import Settings
from stackkit.runtimes import render
from stackkit.verify.report import Location

# What the checks render and evaluate when the state folder has no rendered files yet.
DEFAULT_PLAN = Plan(runtime="docker", components=components.NAMES, skipped={})
NATIVE_PLAN = Plan(runtime="native", components=components.NAMES, skipped={})
PLACEHOLDER_SECRETS = {
    name: "placeholder0not0a0secret0for0verify"
    for name in ("PHOENIX_SECRET", "PHOENIX_ADMIN_SECRET", "PHOENIX_API_KEY", "POSTGRES_PASSWORD")
}

COMPOSE_FILES = {component.name: component.compose_file for component in components.ALL} | {
    f"{components.PHOENIX.name}-postgres": f"{components.PHOENIX.compose_dir}/{phoenix_component.POSTGRES_OVERRIDE}"
}
DEMO_TELEMETRY = "services/ai-demo/ai_demo/telemetry.py"
ALLOY_CONFIG = "config.alloy"


@dataclass(frozen=True)
class FileLocations:
    """Where the files live; tests point this at a copy of the repository and a scratch state folder."""

    repo_root: Path
    rendered_dir: Path
    # The user's own Alloy files (`invoke verify --static --alloy-config PATH`): checked instead of the stack's.
    user_alloy: tuple[Path, ...] = ()
    # The --stability.level their Alloy runs with (`--alloy-stability-level`): what alloy.stability holds them to.
    user_alloy_stability: str = DEFAULT_STABILITY_LEVEL

    @classmethod
    def for_settings(cls, settings: Settings) -> FileLocations:
        return cls(repo_root=settings.repo_root, rendered_dir=settings.rendered_dir)

    @property
    def alloy_stack_dir(self) -> Path:
        return self.repo_root / "stacks" / alloy_component.ALLOY_DIR

    @property
    def alloy_config(self) -> Path:
        return self.alloy_stack_dir / ALLOY_CONFIG

    @property
    def rendered_alloy_dir(self) -> Path:
        return self.rendered_dir / alloy_component.ALLOY_DIR

    @property
    def rendered_env_dir(self) -> Path:
        return self.rendered_dir / render.ENV_DIR

    @property
    def demo_telemetry(self) -> Path:
        return self.repo_root / DEMO_TELEMETRY

    def compose_file(self, name: str) -> Path:
        return self.repo_root / COMPOSE_FILES[name]

    def shown(self, path: Path) -> str:
        """A path as reports print it: relative to the repository when inside it."""
        try:
            return str(path.relative_to(self.repo_root))
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class AlloySource:
    """One Alloy file of the folder Alloy runs: parsed, or the error that stops Alloy from loading it."""

    shown: str  # how reports name the file
    template: str  # the template to change when the file is rendered from one, else ""
    parsed: AlloyFile | None
    error: AlloySyntaxError | None = None
    rendered_now: bool = False  # rendered into a scratch folder: the state folder has no pieces yet

    @property
    def edit_target(self) -> str:
        """The versioned file a fix changes."""
        return self.template or self.shown

    def where(self, line: int) -> Location:
        if not self.template:
            return Location(self.shown, line)
        return Location(self.shown, line, note=f"rendered {'now ' if self.rendered_now else ''}from {self.template}")

    def fix_in(self, change: str) -> str:
        then = ", then `invoke render`" if self.template else ""
        return f"in {self.edit_target}, {change}{then}"


@dataclass(frozen=True)
class AlloyComponent:
    """A top-level Alloy block, such as the otelcol.exporter.otlphttp labelled phoenix, with the file it is in."""

    block: Block
    source: AlloySource

    @property
    def id(self) -> str:
        return self.block.component_id

    def where(self, line: int | None = None) -> Location:
        return self.source.where(self.block.line if line is None else line)


@dataclass(frozen=True)
class AlloyConfig:
    """All Alloy files of the folder, which Alloy runs as one configuration."""

    sources: tuple[AlloySource, ...]
    components: tuple[AlloyComponent, ...]

    @property
    def complete(self) -> bool:
        """False when a file does not parse: what it defines is then missing here."""
        return all(source.parsed is not None for source in self.sources)

    def named(self, dotted_name: str) -> list[AlloyComponent]:
        return [component for component in self.components if component.block.dotted_name == dotted_name]

    def resolve(self, chain: tuple[str, ...]) -> AlloyComponent | None:
        """The component a reference such as otelcol.processor.batch.traces.input points into."""
        for component in self.components:
            name, label = component.block.name, component.block.label
            if label and chain[: len(name)] == name and len(chain) > len(name) and chain[len(name)] == label:
                return component
        return None

    def labels_of(self, chain: tuple[str, ...]) -> list[str]:
        """Labels defined for the component name a reference starts with (to suggest the right one)."""
        return [
            component.block.label or ""
            for component in self.components
            if chain[: len(component.block.name)] == component.block.name
        ]


@dataclass(frozen=True)
class EnvSource:
    """An environment a component gets, and how reports name where it comes from."""

    values: Mapping[str, str] = field(repr=False)  # may hold secrets: never print
    shown: str
    rendered: bool


@dataclass(frozen=True)
class ComposeSource:
    shown: str
    data: dict[str, Any] | None
    root: yaml.Node | None = field(default=None, repr=False)
    error: str = ""

    def line_of(self, *keys: str | int) -> int | None:
        """1-based line of the deepest key found: ("services", <service>, "command") -> the `command:` line."""
        node = self.root
        line = None
        for key in keys:
            if isinstance(node, yaml.MappingNode):
                pair = next(((name, value) for name, value in node.value if name.value == key), None)
                if pair is None:
                    break
                line = pair[0].start_mark.line + 1
                node = pair[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
                line = node.start_mark.line + 1
            else:
                break
        return line

    def where(self, *keys: str | int) -> Location:
        return Location(self.shown, self.line_of(*keys))


@dataclass(frozen=True)
class ConfigFiles:
    locations: FileLocations
    rendered: bool  # whether the Alloy pieces come from the state folder (else a temporary render)
    alloy: AlloyConfig
    alloy_env: EnvSource
    ai_demo_env: EnvSource
    compose: Mapping[str, ComposeSource]
    demo_telemetry: str | None  # the demo's telemetry.py source, None when the file is missing


def _parse_alloy(path: Path, shown: str, template: str, rendered_now: bool = False) -> AlloySource:
    try:
        parsed = parse_file(path)
    except AlloySyntaxError as error:
        failure = AlloySyntaxError(shown, error.line, error.col, error.message)
        return AlloySource(shown, template, None, failure, rendered_now)
    return AlloySource(shown, template, parsed, None, rendered_now)


def _template_of(piece: Path, locations: FileLocations) -> str:
    return locations.shown(locations.alloy_stack_dir / f"{piece.name}.j2")


def _rendered_pieces(folder: Path) -> list[Path]:
    return sorted(path for path in folder.glob("*.alloy") if path.name != ALLOY_CONFIG)


def _load_pieces(settings: Settings, locations: FileLocations) -> tuple[bool, list[AlloySource]]:
    """The rendered Alloy pieces: from the state folder, else rendered now into a scratch folder."""
    pieces = _rendered_pieces(locations.rendered_alloy_dir)
    if pieces:
        return True, [_parse_alloy(path, locations.shown(path), _template_of(path, locations)) for path in pieces]
    with tempfile.TemporaryDirectory(prefix="stackkit-verify-") as scratch:
        scratch_settings = dataclasses.replace(settings, repo_root=locations.repo_root, stack_state_dir=scratch)
        try:
            render.render(scratch_settings, DEFAULT_PLAN, PLACEHOLDER_SECRETS)
        except jinja2.TemplateError as error:
            return False, [_template_failure(error, locations)]
        return False, [
            _parse_alloy(path, path.name, _template_of(path, locations), rendered_now=True)
            for path in _rendered_pieces(scratch_settings.rendered_dir / alloy_component.ALLOY_DIR)
        ]


def _template_failure(error: jinja2.TemplateError, locations: FileLocations) -> AlloySource:
    name = getattr(error, "name", None)
    shown = locations.shown(locations.alloy_stack_dir / (name or "*.alloy.j2"))
    failure = AlloySyntaxError(shown, getattr(error, "lineno", None) or 1, 1, f"does not render: {error}")
    return AlloySource(shown, "", None, failure)  # the template itself is the file to change


def _load_env(name: str, locations: FileLocations, would_be: Callable[[], dict[str, str]]) -> EnvSource:
    path = locations.rendered_env_dir / f"{name}.env"
    if path.exists():
        values = envfile.read(path)
        return EnvSource(values, locations.shown(path), rendered=True)
    shown = f"the {name}.env stackkit/runtimes/render.py would write (none rendered yet)"
    return EnvSource(would_be(), shown, rendered=False)


def _load_compose(path: Path, shown: str) -> ComposeSource:
    if not path.exists():
        return ComposeSource(shown, None, error=f"{shown}: no such file")
    text = path.read_text()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}" if mark else shown
        return ComposeSource(shown, None, error=f"{where}: not valid YAML ({getattr(error, 'problem', error)})")
    if not isinstance(data, dict):
        return ComposeSource(shown, None, error=f"{shown}: expected a mapping at the top")
    return ComposeSource(shown, data, root)


def user_alloy_files(paths: list[Path]) -> tuple[Path, ...]:
    """The files Alloy would run for each path given: a file, or a folder's *.alloy files (as `alloy run`)."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.alloy")) if path.is_dir() else [path]
    return tuple(dict.fromkeys(files))


def _user_sources(locations: FileLocations) -> list[AlloySource]:
    sources = []
    for path in locations.user_alloy:
        shown = str(path)
        if path.is_file():
            sources.append(_parse_alloy(path, shown, ""))
        else:
            sources.append(AlloySource(shown, "", None, AlloySyntaxError(shown, 1, 1, "no such file")))
    return sources


def load_files(settings: Settings, locations: FileLocations | None = None) -> ConfigFiles:
    locations = locations or FileLocations.for_settings(settings)
    if locations.user_alloy:
        # Their Alloy reads its own environment, unknown here: sys.env(...) is read as the stack would set it.
        rendered, sources = True, tuple(_user_sources(locations))
    else:
        config_path = locations.alloy_config
        if config_path.exists():
            config_source = _parse_alloy(config_path, locations.shown(config_path), "")
        else:
            shown = locations.shown(config_path)
            config_source = AlloySource(shown, "", None, AlloySyntaxError(shown, 1, 1, "no such file"))
        rendered, pieces = _load_pieces(settings, locations)
        sources = (config_source, *pieces)
    components = tuple(
        AlloyComponent(block, source) for source in sources if source.parsed for block in source.parsed.blocks
    )
    telemetry = locations.demo_telemetry
    return ConfigFiles(
        locations=locations,
        rendered=rendered,
        alloy=AlloyConfig(sources, components),
        alloy_env=_load_env(
            alloy_component.ALLOY.name,
            locations,
            lambda: alloy_component.environment(settings, DEFAULT_PLAN, PLACEHOLDER_SECRETS),
        ),
        ai_demo_env=_load_env(
            demo_component.AI_DEMO.name,
            locations,
            lambda: demo_component.environment(settings, DEFAULT_PLAN, PLACEHOLDER_SECRETS),
        ),
        compose={
            name: _load_compose(locations.compose_file(name), locations.shown(locations.compose_file(name)))
            for name in COMPOSE_FILES
        },
        demo_telemetry=telemetry.read_text() if telemetry.exists() else None,
    )


# ---------------------------------------------------------------------------------------------------
# Compose helpers


def compose_service(compose: ComposeSource, service: str) -> dict[str, Any] | None:
    services = (compose.data or {}).get("services") or {}
    found = services.get(service)
    return found if isinstance(found, dict) else None


_VARIABLE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR:+alt}, $VAR and $$."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3) or ""
        value = variables.get(name)
        is_set, is_non_empty = value is not None, bool(value)
        present = is_non_empty if operator and operator.startswith(":") else is_set
        if operator in (":-", "-"):
            return value if present else argument  # type: ignore[return-value]
        if operator in (":+", "+"):
            return argument if present else ""
        return value or ""

    return _VARIABLE.sub(replace, text)
