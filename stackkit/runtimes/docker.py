"""The docker runtime: each component is its own compose project, all on one shared external network.

Compose v2 (`docker compose`) is preferred; Compose v1 (`docker-compose` 1.29, the only one Debian ships)
works too: the compose files carry no top-level `name:` (v1 rejects it), and the project name is passed
with `-p` on both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import docker
from docker.errors import DockerException, NotFound
from docker.models.containers import Container
from requests import RequestException

from stackkit.components import phoenix
from stackkit.components import registry as components
from stackkit.components.component import Plan
from stackkit.core.output import Printer
from stackkit.core.settings import SPECS_BY_NAME, Settings
from stackkit.docker import images
from stackkit.runtimes.base import ComponentStartError, ComponentState, RuntimeUnavailable
from stackkit.runtimes.render import compose_environment, compose_override_path

# Variables of ours that must not leak from the invoking shell into compose's interpolation.
_FOREIGN_PREFIXES = ("PHOENIX_", "AI_DEMO_", "OTEL_", "ALLOY_", "POSTGRES_", "COMPOSE_")


def find_compose() -> list[str] | None:
    """`docker compose` (v2) when it answers, else a `docker-compose` binary (v1 or v2), else None."""
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        if subprocess.run([*command, "version"], capture_output=True, timeout=30).returncode == 0:
            return command
    return None


class ComposeError(ComponentStartError):
    """A compose command failed; the message holds the command (no secrets on it) and its output."""


class DockerRuntime:
    name = "docker"

    def __init__(self, settings: Settings, project_prefix: str = "", out: Printer = print):
        """`project_prefix` keeps tests' compose projects apart from a developer's running stack."""
        self.settings = settings
        self.project_prefix = project_prefix
        self.out = out
        self._client: docker.DockerClient | None = None
        self._compose: list[str] | None = None
        self._pullable: dict[str, bool] = {}  # image -> a registry serves it (asked once per runtime)

    # --- what is there -------------------------------------------------------------------------------

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = images.docker_client()
        return self._client

    def compose_command(self) -> list[str]:
        if self._compose is None:
            self._compose = find_compose()
            if self._compose is None:
                raise RuntimeUnavailable(
                    "no Compose: neither `docker compose` (v2) nor `docker-compose` answers; "
                    "install the compose plugin, or `apt-get install docker-compose` (v1)"
                )
        return self._compose

    def project(self, component: str) -> str:
        return self.project_prefix + components.get(component).compose_project

    def check_available(self) -> None:
        try:
            self.client.ping()
        except (DockerException, RequestException) as error:
            self._client = None
            raise RuntimeUnavailable(
                f"no Docker engine answers ({type(error).__name__}): start Docker, "
                "or use the native runtime with STACK_RUNTIME=native"
            ) from None
        self.compose_command()

    def component_available(self, component: str) -> str | None:
        if not components.get(component).optional:
            return None  # Phoenix cannot be skipped; the demo is built here when its image is missing.
        image = self.settings.value_of(components.get(component).image_setting)
        try:
            if images.image_exists(self.client, image):
                return None
        except (DockerException, RequestException):
            return None  # no engine: check_available() says so, better than a skip reason would
        if image not in self._pullable:
            # Asks the registry for the manifest through the engine; a short timeout, as it may hang.
            probe = images.docker_client(timeout=15)
            try:
                probe.api.inspect_distribution(image)
                self._pullable[image] = True
            except (DockerException, RequestException):
                self._pullable[image] = False
            finally:
                probe.close()
        if self._pullable[image]:
            return None
        return (
            f"{component}'s image {image} is not present locally and no registry is reachable; "
            f"skipping {component}, the demo exports straight to Phoenix"
        )

    # --- bring-up and tear-down -----------------------------------------------------------------------

    def prepare(self, plan: Plan) -> None:
        if not self._networks_named(self.settings.stack_network):
            self.client.networks.create(self.settings.stack_network, driver="bridge")
            self.out(f"created docker network {self.settings.stack_network}")

    def remove_network(self) -> bool:
        """Remove the shared network when it exists and no container uses it; True when removed."""
        for network in self._networks_named(self.settings.stack_network):
            network.reload()
            if network.attrs.get("Containers"):
                return False
            network.remove()
            return True
        return False

    def start(self, component: str, plan: Plan) -> None:
        declared = components.get(component)
        if declared.version_setting is None and declared.build_image:  # made from this repository: no registry has it
            declared.build_image(self.settings, self.client, images.ElapsedPrinter(self.out))
        # --no-build: an image built here was just built above, with the host network and CA bundle.
        self.compose(component, "up", "-d", "--no-build")

    def stop(self, component: str, remove_data: bool = False) -> bool:
        existed = bool(self.containers(component, every_service=True))
        if not existed and not (remove_data and self._volumes(component)):
            return False  # nothing to do; also spares compose a missing rendered env file
        self.compose(component, "down", "--remove-orphans", *(["-v"] if remove_data else []))
        return existed

    def compose(self, component: str, *arguments: str) -> str:
        """Run one compose command for the component's project; raise ComposeError with its output."""
        command = [*self.compose_command(), "-p", self.project(component), *self._file_arguments(component), *arguments]
        result = subprocess.run(
            command, env=self.environment(), capture_output=True, text=True, cwd=self.settings.repo_root
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()
            raise ComposeError(f"`{' '.join(command)}` failed (exit {result.returncode}):\n" + "\n".join(output[-30:]))
        return result.stdout + result.stderr

    def environment(self) -> dict[str, str]:
        """This process's environment minus stack settings, plus what the compose files interpolate."""
        base = {
            key: value
            for key, value in os.environ.items()
            if key not in SPECS_BY_NAME and not key.startswith(_FOREIGN_PREFIXES)
        }
        return base | compose_environment(self.settings)

    def _file_arguments(self, component: str) -> list[str]:
        declared = components.get(component)
        project_dir = self.settings.repo_root / declared.compose_dir
        files = [self.settings.repo_root / declared.compose_file]
        if declared is components.PHOENIX:  # its PostgreSQL (PHOENIX_DB=postgres)
            files += [project_dir / name for name in phoenix.compose_overrides(self.settings)]
        files.append(compose_override_path(self.settings, component))
        arguments = [argument for path in files for argument in ("-f", str(path))]
        # Relative paths (the demo's build context) stay relative to the versioned folder.
        return [*arguments, "--project-directory", str(project_dir)]

    # --- state and logs -------------------------------------------------------------------------------

    def containers(self, component: str, every_service: bool = False) -> list[Container]:
        labels = [f"com.docker.compose.project={self.project(component)}"]
        if not every_service:
            labels.append(f"com.docker.compose.service={components.get(component).compose_service}")
        return self.client.containers.list(all=True, filters={"label": labels})

    def state(self, component: str) -> ComponentState:
        try:
            found = self.containers(component)
        except (DockerException, RequestException) as error:
            return ComponentState(False, f"docker engine not answering ({type(error).__name__})")
        if not found:
            return ComponentState(False, "not started")
        container = found[0]
        status = container.status  # created, running, restarting, exited, ...
        health = container.attrs["State"].get("Health", {}).get("Status")
        shown = f"{status}, {health}" if health else status
        return ComponentState(status == "running", f"container {container.name} ({shown})")

    def logs(self, component: str, tail: int = 100, follow: bool = False) -> Iterator[str]:
        found = self.containers(component)
        if not found:
            return
        container = found[0]
        if not follow:
            text = container.logs(stdout=True, stderr=True, tail=tail).decode(errors="replace")
            yield from text.splitlines()
            return
        # The stream yields chunks as the engine has them, not lines: cut lines ourselves.
        pending = ""
        for chunk in container.logs(stdout=True, stderr=True, tail=tail, stream=True, follow=True):
            pending += chunk.decode(errors="replace")
            *lines, pending = pending.split("\n")
            yield from lines
        if pending:
            yield pending

    def _networks_named(self, name: str) -> list[docker.models.networks.Network]:
        # The engine's name filter matches substrings: keep exact matches only.
        return [network for network in self.client.networks.list(names=[name]) if network.name == name]

    def _volumes(self, component: str) -> list[docker.models.volumes.Volume]:
        label = f"com.docker.compose.project={self.project(component)}"
        try:
            return self.client.volumes.list(filters={"label": label})
        except NotFound:
            return []
