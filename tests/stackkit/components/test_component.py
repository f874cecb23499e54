"""A component entry answers for itself: how others reach it, its compose files, its data folder."""

from __future__ import annotations

from pathlib import Path

from isolation import isolated_settings

from stackkit.components import registry as components
from stackkit.components.component import CA_BUNDLE_IN_CONTAINER, Plan, ca_bundle_path
from stackkit.core.settings import REPO_ROOT, Settings
from stackkit.runtimes.docker import DockerRuntime


def test_containers_reach_a_component_by_its_service_and_the_host_by_loopback(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state")
    assert components.PHOENIX.reached_at(settings, "docker") == "http://phoenix:6006"
    assert components.PHOENIX.reached_at(settings, "native") == f"http://127.0.0.1:{settings.phoenix_ui_port}"
    assert components.ALLOY.reached_at(settings, "docker") == "http://alloy:4318"
    assert components.ALLOY.reached_at(settings, "native") == f"http://127.0.0.1:{settings.alloy_otlp_http_port}"


def test_one_the_user_runs_is_reached_at_the_url_they_gave_from_containers_too(tmp_path: Path) -> None:
    settings = isolated_settings(
        tmp_path / "state",
        PHOENIX_EXTERNAL_URL="https://phoenix.example.test/prefix/",
        ALLOY_EXTERNAL_URL="http://alloy.example.test:12345",
        ALLOY_EXTERNAL_OTLP_URL="http://alloy.example.test:4318",
    )
    assert components.PHOENIX.reached_at(settings, "docker") == "https://phoenix.example.test/prefix"
    assert components.ALLOY.reached_at(settings, "docker") == "http://alloy.example.test:4318"
    assert components.external_urls(settings) == {
        "phoenix": "https://phoenix.example.test/prefix",
        "alloy": "http://alloy.example.test:12345",
    }


def test_phoenix_adds_the_postgres_compose_file_only_with_postgres(tmp_path: Path) -> None:
    sqlite = isolated_settings(tmp_path / "sqlite", STACK_RUNTIME="docker")
    postgres = isolated_settings(tmp_path / "postgres", STACK_RUNTIME="docker", PHOENIX_DB="postgres")

    def compose_files(settings: Settings, component: str) -> list[str]:
        arguments = DockerRuntime(settings)._file_arguments(component)
        return [arguments[i + 1] for i, argument in enumerate(arguments) if argument == "-f"]

    phoenix_folder = REPO_ROOT / components.PHOENIX.compose_dir
    assert compose_files(sqlite, "phoenix")[:-1] == [str(phoenix_folder / "docker-compose.yml")]
    files = compose_files(postgres, "phoenix")[:-1]  # the last: the rendered override
    assert files == [str(phoenix_folder / "docker-compose.yml"), str(phoenix_folder / "docker-compose.postgres.yml")]
    assert all(Path(name).is_file() for name in files)
    assert compose_files(postgres, "alloy")[:-1] == [str(REPO_ROOT / components.ALLOY.compose_file)]


def test_data_folders_are_in_the_state_folder_and_the_demo_has_none(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state")
    assert components.PHOENIX.data_path(settings) == settings.data_dir / "phoenix"
    assert components.ALLOY.data_path(settings) == settings.data_dir / "alloy"
    assert components.AI_DEMO.data_path(settings) is None


def test_the_demo_sends_to_alloy_when_spans_go_through_one_else_to_phoenix() -> None:
    via_fan_out = Plan(runtime="native", components=components.NAMES, skipped={})
    without = Plan(runtime="native", components=("phoenix", "ai-demo"), skipped={"alloy": "no binary"})
    assert components.AI_DEMO.destination(via_fan_out) == "alloy"
    assert components.AI_DEMO.destination(without) == "phoenix"
    assert components.ALLOY.destination(without) == "phoenix"
    assert components.PHOENIX.destination(via_fan_out) is None
    assert components.PHOENIX.sends_to_phoenix is False


def test_a_private_ca_is_read_from_its_mount_in_a_container(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")  # content not checked here
    settings = isolated_settings(
        tmp_path / "state", PHOENIX_EXTERNAL_URL="https://p.example.test", PHOENIX_CA_BUNDLE=str(ca)
    )
    assert ca_bundle_path(settings, "docker") == CA_BUNDLE_IN_CONTAINER
    assert ca_bundle_path(settings, "native") == str(ca)
    assert ca_bundle_path(isolated_settings(tmp_path / "plain"), "docker") == ""
