"""stackkit/components/otelcol.py: the Collector's rendered config.yaml, from the same settings as Alloy's
pieces, judged by the real binary's `validate` (the stack's own build from the committed manifest)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml
from collector_helpers import collector_binary, validate
from isolation import isolated_settings
from proxy_helpers import make_tls

from stackkit.components import otelcol
from stackkit.components.component import Plan
from stackkit.core import envfile
from stackkit.core.settings import Settings
from stackkit.runtimes.render import render

SECRETS = {
    "PHOENIX_SECRET": "s3cret-for-signing-tokens-0123456789",
    "PHOENIX_ADMIN_SECRET": "adm1n-secret-for-the-system-admin-0123",
    "PHOENIX_API_KEY": "ingest-key-not-for-the-config-file-42",
}


def rendered(settings: Settings, runtime: str = "native") -> tuple[Path, dict, dict[str, str]]:
    plan = Plan(runtime=runtime, components=("phoenix", "otelcol", "ai-demo"), skipped={})
    render(settings, plan, SECRETS)
    config = settings.rendered_dir / otelcol.STACK_DIR / otelcol.CONFIG_NAME
    env = envfile.read(settings.rendered_dir / "env" / "otelcol.env")
    return config, yaml.safe_load(config.read_text()), env


def assert_valid(config: Path, env: dict[str, str]) -> None:
    result = validate(config, env)
    assert result.returncode == 0, f"{config} is invalid:\n{result.stdout}{result.stderr}"


def test_the_default_config_is_valid_listens_everywhere_and_queues_on_disk(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state")
    config, parsed, env = rendered(settings)
    assert_valid(config, env)
    protocols = parsed["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == f"0.0.0.0:{settings.alloy_otlp_grpc_port}"
    assert protocols["http"]["endpoint"] == f"0.0.0.0:{settings.alloy_otlp_http_port}"
    exporter = parsed["exporters"][otelcol.EXPORTER_ID]
    assert exporter["endpoint"] == "${env:PHOENIX_OTLP_ENDPOINT}"
    assert env["PHOENIX_OTLP_ENDPOINT"] == settings.phoenix_url  # a base URL: the exporter adds /v1/traces
    assert "headers" not in exporter and "tls" not in exporter
    queue = exporter["sending_queue"]
    assert queue["sizer"] == "bytes" and queue["queue_size"] == settings.alloy_queue_mib * 1024 * 1024
    assert queue["storage"] == otelcol.STORAGE_ID
    assert exporter["retry_on_failure"]["max_elapsed_time"] == "0s"
    storage = parsed["extensions"][otelcol.STORAGE_ID]
    queue_dir = str(settings.data_dir / "otelcol" / "queue")
    assert storage["directory"] == queue_dir and storage["compaction"]["directory"] == queue_dir
    assert storage["create_directory"] is True and storage["directory_permissions"] == "0700"
    assert parsed["extensions"]["health_check"]["endpoint"] == f"127.0.0.1:{settings.otelcol_health_port}"
    reader = parsed["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]
    assert reader == {"host": "127.0.0.1", "port": settings.otelcol_metrics_port}
    # No remote-write URL: metrics are taken (no errors for the demo) and dropped.
    assert parsed["service"]["pipelines"]["metrics"]["exporters"] == ["nop"]
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_traces_go_straight_to_the_queue_which_batches_in_bytes_within_its_size(tmp_path: Path) -> None:
    """No batch processor before the exporter (it would answer the receiver 200 before the queue is tried, so a
    full queue would drop spans silently): the queue batches, in bytes, never above its own size."""
    for mib, min_size, max_size in ((1, 512 * 1024, 1024 * 1024), (256, 8 * 1024 * 1024, 16 * 1024 * 1024)):
        config, parsed, env = rendered(isolated_settings(tmp_path / f"state-{mib}", ALLOY_QUEUE_MIB=str(mib)))
        assert_valid(config, env)
        traces = parsed["service"]["pipelines"]["traces"]
        assert traces == {"receivers": ["otlp"], "exporters": [otelcol.EXPORTER_ID]}, traces
        assert not any(name.startswith("batch/traces") for name in parsed["processors"])
        queue = parsed["exporters"][otelcol.EXPORTER_ID]["sending_queue"]
        assert queue["block_on_overflow"] is False  # refuse at once (503): the sender's SDK retries
        batch = {"flush_timeout": "200ms", "sizer": "bytes", "min_size": min_size, "max_size": max_size}
        assert queue["batch"] == batch
        assert queue["batch"]["min_size"] <= queue["queue_size"]
        assert parsed["extensions"][otelcol.STORAGE_ID]["fsync"] is True


def test_auth_and_remote_write_are_valid_and_the_key_stays_out_of_the_file(tmp_path: Path) -> None:
    settings = isolated_settings(
        tmp_path / "state",
        PHOENIX_ENABLE_AUTH="true",
        PROMETHEUS_REMOTE_WRITE_URL="http://127.0.0.1:9/api/v1/write",
    )
    config, parsed, env = rendered(settings)
    assert_valid(config, env)
    exporter = parsed["exporters"][otelcol.EXPORTER_ID]
    assert exporter["headers"] == {"authorization": "Bearer ${env:PHOENIX_API_KEY}"}
    assert env["PHOENIX_API_KEY"] == SECRETS["PHOENIX_API_KEY"]
    assert SECRETS["PHOENIX_API_KEY"] not in config.read_text()
    assert parsed["exporters"]["prometheus_remote_write"]["endpoint"] == "${env:PROMETHEUS_REMOTE_WRITE_URL}"
    assert parsed["service"]["pipelines"]["metrics"]["exporters"] == ["prometheus_remote_write"]


def test_an_https_phoenix_behind_a_private_ca_is_trusted_with_the_bundle(tmp_path: Path) -> None:
    bundle = make_tls(tmp_path / "tls").ca  # PHOENIX_CA_BUNDLE must hold a real certificate
    settings = isolated_settings(
        tmp_path / "state", PHOENIX_EXTERNAL_URL="https://phoenix.example:8443/phoenix", PHOENIX_CA_BUNDLE=str(bundle)
    )
    config, parsed, env = rendered(settings)
    assert parsed["exporters"][otelcol.EXPORTER_ID]["tls"] == {"ca_file": "${env:PHOENIX_CA_FILE}"}
    assert env["PHOENIX_CA_FILE"] == str(bundle)
    assert env["PHOENIX_OTLP_ENDPOINT"] == "https://phoenix.example:8443/phoenix"
    assert_valid(config, env)


def test_in_a_container_it_listens_on_the_image_ports_and_queues_in_its_volume(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state", PROMETHEUS_REMOTE_WRITE_URL="http://prometheus:9090/api/v1/write")
    config, parsed, env = rendered(settings, runtime="docker")
    assert parsed["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "0.0.0.0:4318"
    assert parsed["extensions"]["health_check"]["endpoint"] == "0.0.0.0:13133"
    assert parsed["extensions"][otelcol.STORAGE_ID]["directory"] == otelcol.CONTAINER_QUEUE_DIR
    assert env["PHOENIX_OTLP_ENDPOINT"] == "http://phoenix:6006"
    assert "prometheus/phoenix" in parsed["receivers"]  # Phoenix's metrics are on the compose network
    # The container's queue folder does not exist here, and validate does not create it: the config is still valid.
    assert_valid(config, env)


def test_validate_fails_a_config_the_collector_would_refuse(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state")
    _, parsed, env = rendered(settings)
    parsed["exporters"][otelcol.EXPORTER_ID]["sending_queue"]["sizer"] = "parcels"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(parsed))
    result = validate(broken, env)
    assert result.returncode != 0
    assert "sizer" in result.stdout + result.stderr


def test_the_build_is_found_where_the_native_runtime_looks() -> None:
    assert otelcol.binary() == str(collector_binary())


@pytest.mark.parametrize("name", ["otelcol-stackkit"])
def test_the_manifest_names_the_binary_and_holds_only_what_the_config_uses(name: str) -> None:
    manifest = yaml.safe_load(otelcol.MANIFEST.read_text())
    assert manifest["dist"]["name"] == name == otelcol.BINARY_NAME
    modules = [
        entry["gomod"].split()[0].rsplit("/", 1)[-1] for kind in manifest if kind != "dist" for entry in manifest[kind]
    ]
    assert sorted(modules) == sorted(
        [
            "otlpreceiver",
            "prometheusreceiver",
            "batchprocessor",
            "deltatocumulativeprocessor",
            "spanmetricsconnector",
            "signaltometricsconnector",
            "otlphttpexporter",
            "prometheusremotewriteexporter",
            "nopexporter",
            "filestorage",
            "healthcheckextension",
            "envprovider",
            "fileprovider",
        ]
    )
