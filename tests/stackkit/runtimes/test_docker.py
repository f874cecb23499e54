"""The docker runtime: compose arguments and environment first, then real containers (marked docker).

The real tests build the images locally (stackkit.docker.images), run Phoenix and the demo as compose projects
with a test prefix on a network of their own and on free ports, then remove all of it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from isolation import isolated_settings
from system import unavailable

from stackkit.components.component import Plan
from stackkit.core.health import wait_healthy
from stackkit.docker import images
from stackkit.phoenix.api import PhoenixClient
from stackkit.phoenix.canary import STACK_PROJECT, send_canary
from stackkit.runtimes.base import RuntimeUnavailable
from stackkit.runtimes.docker import DockerRuntime
from stackkit.runtimes.render import render

PHOENIX_IMAGE = "stackkit/phoenix:20.26.1"
ALLOY_SKIPPED = "not part of this test"


def test_compose_reads_the_versioned_files_with_the_postgres_override(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state", STACK_RUNTIME="docker", PHOENIX_DB="postgres")
    phoenix_dir = settings.repo_root / "stacks/arize-phoenix"
    assert DockerRuntime(settings)._file_arguments("phoenix") == [
        "-f",
        str(phoenix_dir / "docker-compose.yml"),
        "-f",
        str(phoenix_dir / "docker-compose.postgres.yml"),
        "-f",
        str(settings.rendered_dir / "compose" / "arize-phoenix.yml"),
        "--project-directory",
        str(phoenix_dir),
    ]
    demo_dir = settings.repo_root / "services/ai-demo"
    assert DockerRuntime(settings)._file_arguments("ai-demo") == [
        "-f",
        str(demo_dir / "docker-compose.yml"),
        "-f",
        str(settings.rendered_dir / "compose" / "ai-demo.yml"),
        "--project-directory",
        str(demo_dir),
    ]


def test_compose_gets_no_stack_settings_from_the_shell(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PHOENIX_SECRET", "from-the-shell-0123456789abcdefghijkl")
    monkeypatch.setenv("AI_DEMO_PORT", "1")
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", "someone-elses")
    settings = isolated_settings(tmp_path / "state", STACK_RUNTIME="docker")
    environment = DockerRuntime(settings).environment()
    assert "PHOENIX_SECRET" not in environment
    assert "COMPOSE_PROJECT_NAME" not in environment
    assert environment["AI_DEMO_PORT"] == str(settings.ai_demo_port)
    assert environment["STACK_RENDERED_DIR"] == str(settings.rendered_dir)


# --- real containers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docker_runtime(tmp_path_factory: pytest.TempPathFactory, docker_engine: object) -> Iterator[DockerRuntime]:
    run_id = uuid.uuid4().hex[:8]
    settings = isolated_settings(
        tmp_path_factory.mktemp("docker") / "state",
        STACK_RUNTIME="docker",
        STACK_NETWORK=f"stackkit-test-{run_id}",
        PHOENIX_IMAGE=PHOENIX_IMAGE,
        AI_DEMO_BASE_IMAGE=images.LOCAL_BASE_IMAGE,
        AI_DEMO_IMAGE="stackkit/ai-demo:test",
    )
    runtime = DockerRuntime(settings, project_prefix=f"stackkit-test-{run_id}-")
    try:
        runtime.check_available()
        images.ensure_phoenix_image(settings, runtime.client, progress=print)
        # Always rebuilt: the demo's code changes; the layer cache keeps an unchanged build quick.
        started = time.monotonic()
        build_args = {"BASE_IMAGE": settings.ai_demo_base_image}
        images.build_image(runtime.client, images.AI_DEMO_CONTEXT, settings.ai_demo_image, build_args)
        print(f"ai-demo image rebuilt in {time.monotonic() - started:.1f}s")
        plan = Plan(runtime="docker", components=("phoenix", "ai-demo"), skipped={"alloy": ALLOY_SKIPPED})
        render(settings, plan, secrets={})
        runtime.prepare(plan)
        yield runtime
    except RuntimeUnavailable as error:
        unavailable(f"docker runtime unavailable: {error}")
    finally:
        for component in ("ai-demo", "phoenix"):
            runtime.stop(component, remove_data=True)
        runtime.remove_network()
        runtime.client.close()


def _plan() -> Plan:
    return Plan(runtime="docker", components=("phoenix", "ai-demo"), skipped={"alloy": ALLOY_SKIPPED})


def _start_healthy(runtime: DockerRuntime, component: str, url: str) -> float:
    """Start the component unless it runs; return the seconds from `compose up` to a 200 from the host."""
    started = time.monotonic()
    if not runtime.state(component).running:
        runtime.start(component, _plan())
    health = wait_healthy(url, timeout=120, still_running=lambda: runtime.state(component).running)
    if not health.ok:
        log = "\n".join(runtime.logs(component, tail=30))
        pytest.fail(f"{component} did not turn healthy: {health.detail}\n{log}")
    seconds = time.monotonic() - started
    print(f"{component}: compose up to healthy in {seconds:.1f}s")
    return seconds


@pytest.mark.docker
def test_phoenix_keeps_traces_across_a_new_container(docker_runtime: DockerRuntime) -> None:
    settings = docker_runtime.settings
    _start_healthy(docker_runtime, "phoenix", f"{settings.phoenix_url}/healthz")
    state = docker_runtime.state("phoenix")
    assert state.running
    assert docker_runtime.project("phoenix") in state.detail

    canary = send_canary(f"{settings.phoenix_url}/v1/traces")
    assert canary.status_code == 200, canary.body
    phoenix = PhoenixClient(settings.phoenix_url)
    assert phoenix.wait_for_traces(STACK_PROJECT, [canary.trace_id], timeout=30)[canary.trace_id]
    before = len(phoenix.spans(STACK_PROJECT))

    # `compose down` then `up`: a new container, the same named volume.
    assert docker_runtime.stop("phoenix")
    assert not docker_runtime.state("phoenix").running
    _start_healthy(docker_runtime, "phoenix", f"{settings.phoenix_url}/healthz")
    assert len(phoenix.spans(STACK_PROJECT)) == before

    assert any("Uvicorn running" in line for line in docker_runtime.logs("phoenix", tail=200))
    assert len(list(docker_runtime.logs("phoenix", tail=3))) == 3


@pytest.mark.docker
def test_demo_traces_reach_phoenix_over_the_shared_network(docker_runtime: DockerRuntime) -> None:
    settings = docker_runtime.settings
    _start_healthy(docker_runtime, "phoenix", f"{settings.phoenix_url}/healthz")
    _start_healthy(docker_runtime, "ai-demo", f"{settings.ai_demo_url}/healthz")

    response = requests.post(
        f"{settings.ai_demo_url}/chat", json={"message": "What is the weather in Paris?"}, timeout=30
    )
    assert response.status_code == 200, response.text
    trace_id = response.json()["trace_id"]
    phoenix = PhoenixClient(settings.phoenix_url)
    project = settings.phoenix_project_name
    spans = phoenix.wait_for_traces(project, [trace_id], timeout=30)[trace_id]
    assert spans, "the demo's trace never reached Phoenix (http://phoenix:6006 on the shared network)"

    docker_runtime.stop("phoenix")
    _start_healthy(docker_runtime, "phoenix", f"{settings.phoenix_url}/healthz")
    assert len(phoenix.spans(project, trace_ids=[trace_id])) == len(spans)
    assert any("/chat" in line for line in docker_runtime.logs("ai-demo", tail=200))


@pytest.mark.docker
def test_stop_with_data_removes_containers_and_volumes(docker_runtime: DockerRuntime) -> None:
    settings = docker_runtime.settings
    _start_healthy(docker_runtime, "phoenix", f"{settings.phoenix_url}/healthz")
    assert docker_runtime._volumes("phoenix")

    assert docker_runtime.stop("phoenix", remove_data=True)
    assert docker_runtime.containers("phoenix", every_service=True) == []
    assert docker_runtime._volumes("phoenix") == []
    assert docker_runtime.stop("phoenix") is False  # nothing left to stop
    assert list(docker_runtime.logs("phoenix")) == []


AWKWARD_SECRET = "pa${HOME}ss $HOME #1 \"q\" 'q' back\\slash \\"


@pytest.mark.needs("docker-compose")  # no engine: Compose's `config` only
def test_compose_reads_back_exactly_what_render_wrote(tmp_path: Path) -> None:
    """The environment a container gets, as the real Compose reads the rendered override: verbatim."""
    import subprocess

    import yaml

    from stackkit.components.component import Plan
    from stackkit.runtimes.render import render

    settings = isolated_settings(
        tmp_path / "state", STACK_RUNTIME="docker", PHOENIX_ENABLE_AUTH="true", PHOENIX_DB="postgres"
    )
    secrets = {
        "PHOENIX_SECRET": "s3cret" + AWKWARD_SECRET + "0123456789abcdefghij",
        "PHOENIX_ADMIN_SECRET": "adm1n" + AWKWARD_SECRET + "0123456789abcdefghij",
        "POSTGRES_PASSWORD": AWKWARD_SECRET,
    }
    render(settings, Plan(runtime="docker", components=("phoenix", "alloy", "ai-demo"), skipped={}), secrets)
    runtime = DockerRuntime(settings)
    config = yaml.safe_load(
        subprocess.run(
            [*runtime.compose_command(), "-p", "arize-phoenix", *runtime._file_arguments("phoenix"), "config"],
            env=runtime.environment(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )

    def as_container_sees(value: str) -> str:
        # `config` prints a compose file again, so it escapes each $ as $$ once more.
        return value.replace("$$", "$")

    phoenix_env = config["services"]["phoenix"]["environment"]
    assert as_container_sees(phoenix_env["PHOENIX_SECRET"]) == secrets["PHOENIX_SECRET"]
    assert as_container_sees(phoenix_env["PHOENIX_ADMIN_SECRET"]) == secrets["PHOENIX_ADMIN_SECRET"]
    postgres_env = config["services"]["postgres"]["environment"]
    assert as_container_sees(postgres_env["POSTGRES_PASSWORD"]) == AWKWARD_SECRET
