"""What a component is (`Component`) and what a bring-up runs (`Plan`).

The entries themselves live in each component's own module (stackkit.components.phoenix, ...) and are
listed, in bring-up order, by the registry stackkit.components.registry. This module imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackkit.core.output import Printer
from stackkit.core.setting_values import FAN_OUTS
from stackkit.core.settings import Settings

Secrets = Mapping[str, str]
# Where a container finds PHOENIX_CA_BUNDLE (mounted read-only by the compose override).
CA_BUNDLE_IN_CONTAINER = "/etc/stackkit/phoenix-ca.pem"


@dataclass(frozen=True)
class Plan:
    """What a bring-up runs: the runtime and the components, with the reason for any skipped one."""

    runtime: str
    components: tuple[str, ...]
    skipped: Mapping[str, str]
    # Components the user runs elsewhere (not started, also listed in skipped), by name, with their base URL.
    external: Mapping[str, str] = field(default_factory=dict)

    @property
    def fan_out(self) -> str | None:
        """The component apps send to, between them and Phoenix: the stack's Alloy or Collector
        (STACK_COLLECTOR), or an Alloy the user runs; None when they send straight to Phoenix."""
        for name in FAN_OUTS:
            if name in self.components or name in self.external:
                return name
        return None

    @property
    def via_fan_out(self) -> bool:
        """Spans go through a fan-out (Alloy or the Collector): the stack's own or an Alloy the user runs."""
        return self.fan_out is not None


def ca_bundle_path(settings: Settings, runtime: str) -> str:
    """The path a component reads the private CA from: the file itself natively, its mount in a container."""
    if not settings.phoenix_ca_bundle:
        return ""
    return CA_BUNDLE_IN_CONTAINER if runtime == "docker" else settings.phoenix_ca_bundle


def _none(*_: object) -> None:
    return None


def _no_files(settings: Settings, plan: Plan) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Component:
    """What differs between components, each field with more than one user. What Phoenix alone does, as the
    store the spans end up in (its steps once healthy, its drain, its database), the procedures that need it
    call by name: stackkit.components.phoenix."""

    name: str
    health_path: str
    url_port_setting: str  # the host port of its health/UI URL
    port_settings: tuple[str, ...]  # every host port it holds
    version_setting: str | None  # None: built from this repository
    image_setting: str
    compose_dir: str  # folder of its docker-compose.yml, relative to the repository
    compose_project: str
    compose_service: str
    sends_to_phoenix: bool  # stopped before Phoenix stops, so its queued spans drain into Phoenix
    optional: bool  # may be skipped where it cannot run (the stack then works without it)
    native_command: Callable[[Settings], list[str]]  # how the native runtime runs it
    # Its rendered environment (env/<name>.env, and its service's in the compose override).
    environment: Callable[[Settings, Plan, Secrets], dict[str, str]]
    # Where the other components reach it: on docker its container address, else the host's URL.
    container_endpoint: str = ""
    host_endpoint: Callable[[Settings], str] | None = None
    native_modules: tuple[str, ...] = ()  # the Python modules the native runtime needs in this Python
    # The setting naming one the user already runs (base URL): when set, the stack uses it and starts none.
    external_url_setting: str | None = None
    # The setting that, when set, makes the others reach it at host_endpoint even from containers.
    external_endpoint_setting: str | None = None
    data_folder: str | None = None  # its folder in settings.data_dir (native runtime), deleted by `down -v`
    # Files it reads, relative to the rendered folder, with their text (e.g. Alloy's configuration).
    rendered_files: Callable[[Settings, Plan], dict[str, str]] = _no_files
    # Builds its image where no registry serves it (settings, docker client, progress printer) -> image name;
    # the docker runtime builds one made from this repository (no version_setting) before each start.
    build_image: Callable[[Settings, Any, Printer], str] | None = None
    # The component it sends its spans to in this plan (None: it sends nothing).
    destination: Callable[[Plan], str | None] = _none
    # The version its native process runs (None: its version setting, or "local").
    native_version: Callable[[Settings], str] | None = None
    # A fan-out's bytes in its sending queue, from its own metrics (raises requests.RequestException when they do
    # not answer); None for a component without one. `down` drains it; changing STACK_COLLECTOR checks it.
    queued_bytes: Callable[[Settings], float] | None = None
    # Why the settings leave it out of this stack (another fan-out chosen by STACK_COLLECTOR); None: in it.
    not_chosen: Callable[[Settings], str | None] = _none
    # Why the native runtime cannot run it (a program missing from PATH, a build not made); None: it can.
    native_missing: Callable[[Settings], str | None] = _none
    # What `invoke render --print NAME` prints for one the user runs: (NAME, settings -> text) pairs.
    printable_pieces: tuple[tuple[str, Callable[[Settings], str]], ...] = ()
    # What an exit nobody asked for (killed, crashed, out of memory) loses: said by status, up, down, verify.
    exit_consequence: str = "what it held in memory is lost"

    @property
    def compose_file(self) -> str:
        return f"{self.compose_dir}/docker-compose.yml"

    def external_url(self, settings: Settings) -> str:
        """The base URL of the one the user runs; "" when the stack runs its own."""
        if not self.external_url_setting:
            return ""
        return str(settings.value_of(self.external_url_setting) or "").rstrip("/")

    def reached_at(self, settings: Settings, runtime: str) -> str:
        """How the other components reach it: its container on docker, loopback natively, and the URL the
        user gave (from the host and from containers alike) for one they run."""
        external = settings.value_of(self.external_endpoint_setting) if self.external_endpoint_setting else ""
        if runtime == "docker" and not external and self.container_endpoint:
            return self.container_endpoint
        return self.host_endpoint(settings) if self.host_endpoint else ""

    def data_path(self, settings: Settings) -> Path | None:
        return settings.data_dir / self.data_folder if self.data_folder else None
