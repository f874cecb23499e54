"""Secure by default, on the real Phoenix: no admin/admin, a private state folder, UIs on loopback.

Phoenix throttles /auth/login (12 a minute per client address, and an email is locked after 5 failures in
5 minutes): each test here stays far below both.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from isolation import invoke, isolated_environ, isolated_settings

from stackkit.components import registry as components
from stackkit.components.component import Plan
from stackkit.core import exposure, file_modes, secrets
from stackkit.core.health import wait_healthy
from stackkit.core.settings import Settings, SettingsError, load_settings
from stackkit.phoenix import admin
from stackkit.runtimes.docker import DockerRuntime
from stackkit.runtimes.native import NativeRuntime
from stackkit.runtimes.render import ENV_DIR, render

SECURITY_CHECKS = ("security.files", "security.default-admin", "security.exposure")


def login_status(settings: Settings, password: str) -> int:
    response = requests.post(
        f"{settings.phoenix_url}/auth/login", json={"email": admin.ADMIN_EMAIL, "password": password}, timeout=10
    )
    return response.status_code


def shown_password(environ: dict[str, str]) -> str:
    result = invoke(environ, "credentials", "--show")
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"^  password:  (\S+)$", result.stdout, flags=re.MULTILINE)
    assert match, result.stdout
    return match.group(1)


def verify_lines(environ: dict[str, str]) -> tuple[int, dict[str, str]]:
    result = invoke(environ, "verify")
    statuses = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("PASS", "WARN", "FAIL", "SKIP"):
            statuses[parts[1]] = parts[0]
    return result.returncode, statuses


def modes_under(state_dir: Path) -> dict[str, int]:
    """Every file and folder under the state folder (itself included) and its permission bits."""
    found = {".": stat.S_IMODE(state_dir.stat().st_mode)}
    for root, dirs, files in os.walk(state_dir):
        for name in (*dirs, *files):
            path = Path(root) / name
            if not path.is_symlink():
                found[str(path.relative_to(state_dir))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def not_private(state_dir: Path) -> dict[str, str]:
    wrong = {}
    for name, mode in modes_under(state_dir).items():
        wanted = 0o700 if (state_dir / name).is_dir() else 0o600
        if mode != wanted:
            wrong[name] = f"{mode:04o}"
    return wrong


# --- a fresh store with auth on ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Settings, str]]:
    environ = isolated_environ(tmp_path_factory.mktemp("secure") / "state", PHOENIX_ENABLE_AUTH="true")
    result = invoke(environ, "up")
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield environ, load_settings(environ=environ), result.stdout
    finally:
        invoke(environ, "down")


@pytest.mark.phoenix
def test_fresh_store_refuses_the_default_login_and_the_shown_password_logs_in(secured) -> None:
    environ, settings, up_output = secured
    password = shown_password(environ)
    assert password == secrets.load(settings)[secrets.ADMIN_PASSWORD]
    assert password not in up_output
    assert login_status(settings, "admin") == 401
    # The login the UI makes, and no forced "choose a new password" page after it.
    session = requests.Session()
    assert (
        session.post(
            f"{settings.phoenix_url}/auth/login", json={"email": admin.ADMIN_EMAIL, "password": password}, timeout=10
        ).status_code
        == 204
    )
    viewer = session.post(
        f"{settings.phoenix_url}/graphql", json={"query": "query { viewer { email passwordNeedsReset } }"}, timeout=10
    ).json()["data"]["viewer"]
    assert viewer == {"email": admin.ADMIN_EMAIL, "passwordNeedsReset": False}
    assert session.get(f"{settings.phoenix_url}/v1/projects", timeout=10).status_code == 200
    hidden = invoke(environ, "credentials")
    assert hidden.returncode == 0
    assert password not in hidden.stdout
    assert secrets.fingerprint(password) in hidden.stdout
    assert str(settings.secrets_file) in hidden.stdout
    assert secrets.fingerprint(secrets.load(settings)["PHOENIX_API_KEY"]) in hidden.stdout


@pytest.mark.phoenix
def test_verify_lists_the_security_checks_and_passes(secured) -> None:
    environ, _, _ = secured
    code, statuses = verify_lines(environ)
    assert code == 0, statuses
    assert {check: statuses.get(check) for check in SECURITY_CHECKS} == dict.fromkeys(SECURITY_CHECKS, "PASS")


@pytest.mark.phoenix
def test_exposure_reads_the_real_listening_sockets(secured) -> None:
    _, settings, _ = secured
    runtime = NativeRuntime(settings)
    pid = runtime.pid("phoenix")
    assert pid is not None
    listeners = {(listener.port, listener.loopback_only) for listener in exposure.process_listeners("phoenix", pid)}
    assert (settings.phoenix_ui_port, True) in listeners
    # Phoenix hard-codes its gRPC listener on every interface; the check must say so, not hide it.
    assert (settings.phoenix_grpc_host_port, False) in listeners


@pytest.mark.phoenix
def test_every_file_the_stack_writes_is_private(secured) -> None:
    environ, settings, _ = secured
    for arguments in (("traffic", "--requests", "3", "--sessions", "1"), ("backup",)):
        result = invoke(environ, *arguments)
        assert result.returncode == 0, result.stdout + result.stderr
    written = modes_under(settings.state_dir)
    expected = {
        "secrets.env",
        "applied.json",
        "data/phoenix/phoenix.db",
        "logs/phoenix.log",
        "logs/ai-demo.log",
        f"rendered/{ENV_DIR}/phoenix.env",
        "rendered/grafana-alloy/phoenix-exporter.alloy",
        "rendered/compose/arize-phoenix.yml",
        "backups",
    }
    assert expected <= written.keys()
    assert any(name.startswith("backups/phoenix-sqlite-") for name in written)
    assert not_private(settings.state_dir) == {}
    result = invoke(environ, "down")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not_private(settings.state_dir) == {}
    print(f"{len(modes_under(settings.state_dir))} files and folders under the state folder, all 0600/0700")


# --- a store created before the stack set the admin's password -----------------------------------------


@pytest.mark.phoenix
def test_old_store_with_the_default_password_is_detected_then_fixed(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state", PHOENIX_ENABLE_AUTH="true")
    settings = load_settings(environ=environ)
    # What an older stackkit did: auth on, secrets generated, no initial admin password given to Phoenix.
    old_secrets = {name: value for name, value in secrets.ensure(settings).items() if name != secrets.ADMIN_PASSWORD}
    secrets.save(settings, old_secrets)
    plan = Plan(runtime="native", components=("phoenix", "ai-demo"), skipped={"alloy": "not part of this test"})
    render(settings, plan, old_secrets)
    assert secrets.ADMIN_PASSWORD not in (settings.rendered_dir / ENV_DIR / "phoenix.env").read_text()
    runtime = NativeRuntime(settings)
    runtime.prepare(plan)
    runtime.start("phoenix", plan)
    try:
        health = wait_healthy(f"{settings.phoenix_url}/healthz", 120, lambda: runtime.state("phoenix").running)
        assert health.ok, "\n".join(runtime.logs("phoenix", tail=30))
        assert login_status(settings, "admin") == 204  # the old store really answers to admin/admin

        code, statuses = verify_lines(environ)
        assert code == 1
        assert statuses["security.default-admin"] == "FAIL"

        result = invoke(environ, "up")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "still had the default password" in result.stdout
        password = secrets.load(settings)[secrets.ADMIN_PASSWORD]
        assert password not in result.stdout
        assert login_status(settings, "admin") == 401
        assert login_status(settings, shown_password(environ)) == 204

        code, statuses = verify_lines(environ)
        assert statuses["security.default-admin"] == "PASS"
        again = invoke(environ, "up")
        assert "logs in with the generated password" in again.stdout
    finally:
        invoke(environ, "down")
        runtime.stop("phoenix")


# --- the state folder's modes, settings, the warning ---------------------------------------------------


def test_tighten_makes_an_old_state_folder_private(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    (state_dir / "data").mkdir(parents=True)
    # chmod, not mkdir's mode: the umask (077 once any task has run in this process) would narrow it.
    (state_dir / "data").chmod(0o755)
    database = state_dir / "data" / "phoenix.db"
    database.write_text("traces")
    database.chmod(0o644)
    state_dir.chmod(0o755)
    assert {path.name for path, _, _ in file_modes.too_open(state_dir)} == {"state", "data", "phoenix.db"}
    assert len(file_modes.tighten(state_dir)) == 3
    assert file_modes.too_open(state_dir) == []
    assert not_private(state_dir) == {}


def test_the_admin_password_is_set_by_the_stack_only(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD is set by the stack itself"):
        isolated_settings(tmp_path / "state", PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD="admin")
    with pytest.raises(SettingsError, match="STACK_UI_ADDRESS='everywhere'"):
        isolated_settings(tmp_path / "state", STACK_UI_ADDRESS="everywhere")


def test_generated_password_meets_phoenix_strong_policy() -> None:
    from phoenix.auth import STRONG_PASSWORD_REQUIREMENTS

    for _ in range(50):
        STRONG_PASSWORD_REQUIREMENTS.validate(secrets.generate_password())


def test_open_ui_without_auth_is_warned_about(tmp_path: Path) -> None:
    closed = isolated_settings(tmp_path / "state", STACK_RUNTIME="docker")
    assert exposure.open_without_auth(closed, "docker") is None
    opened = isolated_settings(tmp_path / "state", STACK_RUNTIME="docker", STACK_UI_ADDRESS="0.0.0.0")
    warning = exposure.open_without_auth(opened, "docker")
    assert warning and "PHOENIX_ENABLE_AUTH=false" in warning and "STACK_UI_ADDRESS=0.0.0.0" in warning
    secured = isolated_settings(
        tmp_path / "state", STACK_RUNTIME="docker", STACK_UI_ADDRESS="0.0.0.0", PHOENIX_ENABLE_AUTH="true"
    )
    assert exposure.open_without_auth(secured, "docker") is None


# --- what the compose files publish, as Compose itself reads them --------------------------------------


def published(config: dict[str, Any], service: str) -> dict[int, str]:
    """Container port -> host address, from `config` output (v1 prints short syntax, v2 long syntax)."""
    found = {}
    for entry in config["services"][service].get("ports", []):
        if isinstance(entry, dict):
            found[int(entry["target"])] = entry.get("host_ip", "0.0.0.0")
        else:
            address, _, container = str(entry).split("/")[0].rpartition(":")
            host_ip = address.rpartition(":")[0] if address.count(":") else "0.0.0.0"
            found[int(container)] = host_ip
    return found


def compose_config(settings: Settings, component: str) -> dict[str, Any]:
    render(settings, Plan(runtime="docker", components=components.NAMES, skipped={}), {})
    runtime = DockerRuntime(settings)
    result = subprocess.run(
        [*runtime.compose_command(), "-p", "lint", *runtime._file_arguments(component), "config"],
        env=runtime.environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.mark.needs("docker-compose")
def test_compose_publishes_the_uis_on_loopback_unless_opened(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state", STACK_RUNTIME="docker")
    assert published(compose_config(settings, "phoenix"), "phoenix") == {6006: "127.0.0.1", 4317: "127.0.0.1"}
    # OTLP stays reachable from app containers through host.docker.internal (the bridge gateway).
    assert published(compose_config(settings, "alloy"), "alloy") == {
        4317: "0.0.0.0",
        4318: "0.0.0.0",
        12345: "127.0.0.1",
    }
    assert published(compose_config(settings, "ai-demo"), "ai-demo") == {8000: "127.0.0.1"}

    opened = isolated_settings(
        tmp_path / "opened", STACK_RUNTIME="docker", STACK_UI_ADDRESS="0.0.0.0", ALLOY_OTLP_ADDRESS="127.0.0.1"
    )
    assert published(compose_config(opened, "phoenix"), "phoenix")[6006] == "0.0.0.0"
    assert published(compose_config(opened, "alloy"), "alloy") == {
        4317: "127.0.0.1",
        4318: "127.0.0.1",
        12345: "0.0.0.0",
    }


# --- a real app container outside the stack's network reaches Alloy's OTLP port -------------------------

# Alloy's image cannot be built here: a stand-in from the local base image listens on 4318 instead, published
# through the alloy compose file's own `ports:` (only image and command are replaced).
STAND_IN_OVERRIDE = """services:
  alloy:
    command: ["python3", "-m", "http.server", "4318"]
"""
APP_REQUEST = (
    "import sys, urllib.request\n"
    "try:\n"
    "    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)\n"
    "except OSError as error:\n"
    "    print(type(error).__name__, error)\n"
)


def reach_from_app_container(runtime: DockerRuntime, port: int) -> str:
    """What a container on the default bridge (not the stack's network) gets from host.docker.internal:port."""
    from stackkit.docker import images

    output = runtime.client.containers.run(
        images.LOCAL_BASE_IMAGE,
        ["python3", "-c", APP_REQUEST, f"http://host.docker.internal:{port}/"],
        extra_hosts={"host.docker.internal": "host-gateway"},
        remove=True,
    )
    return output.decode().strip()


@pytest.mark.docker
def test_an_app_container_reaches_alloys_otlp_port_through_host_docker_internal(
    tmp_path: Path, docker_engine: object
) -> None:
    import uuid

    from stackkit.docker import images

    run_id = uuid.uuid4().hex[:8]
    stand_in = tmp_path / "stand-in.yml"
    stand_in.write_text(STAND_IN_OVERRIDE)
    outcomes = {}
    for address in ("0.0.0.0", "127.0.0.1"):  # the default, then loopback only
        settings = isolated_settings(
            tmp_path / f"state-{address}",
            STACK_RUNTIME="docker",
            STACK_NETWORK=f"stackkit-test-{run_id}",
            ALLOY_IMAGE=images.LOCAL_BASE_IMAGE,
            ALLOY_OTLP_ADDRESS=address,
        )
        runtime = DockerRuntime(settings, project_prefix=f"stackkit-test-{run_id}-")
        runtime.check_available()
        images.ensure_base_image(runtime.client)
        plan = Plan(runtime="docker", components=components.NAMES, skipped={})
        render(settings, plan, {})
        runtime.prepare(plan)
        files = runtime._file_arguments("alloy")
        files[-2:-2] = ["-f", str(stand_in)]  # before --project-directory, after the rendered override
        command = [*runtime.compose_command(), "-p", runtime.project("alloy"), *files]
        try:
            subprocess.run([*command, "up", "-d"], env=runtime.environment(), check=True, capture_output=True)
            port = settings.alloy_otlp_http_port
            assert wait_healthy(f"http://127.0.0.1:{port}/", 60).ok
            outcomes[address] = reach_from_app_container(runtime, port)
            # security.exposure's view of the same container: what the engine actually published.
            (container,) = runtime.containers("alloy")
            published_on = {
                (listener.port, listener.address)
                for listener in exposure.published_listeners("alloy", container.attrs["NetworkSettings"]["Ports"])
            }
            assert (port, address) in published_on
            assert (settings.alloy_ui_port, "127.0.0.1") in published_on
        finally:
            subprocess.run([*command, "down", "-v"], env=runtime.environment(), capture_output=True)
            runtime.remove_network()
            runtime.client.close()
    print(f"host.docker.internal:4318 from an app container: {outcomes}")
    assert outcomes["0.0.0.0"] == "200"  # the default keeps the seed's app pattern working
    assert outcomes["127.0.0.1"] != "200"  # why the default cannot be loopback
