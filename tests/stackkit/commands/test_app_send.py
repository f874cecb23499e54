"""What `invoke up`, `invoke status` and `render --print app-env` tell an app's author, for each endpoint the stack
can give it (the client matrix, tests/stackkit/clients/, sends through each for real)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from isolation import invoke, isolated_environ, isolated_settings

from stackkit.commands import app_send
from stackkit.components.component import Plan

PHOENIX_ONLY = Plan(runtime="native", components=("phoenix",), skipped={})
THROUGH_COLLECTOR = Plan(runtime="native", components=("phoenix", "otelcol"), skipped={})


def test_straight_to_phoenix_names_protobuf_only_the_key_and_the_project(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state", PHOENIX_ENABLE_AUTH="true", PHOENIX_PROJECT_NAME="shop")
    text = "\n".join(app_send.how_to_send_lines(settings, PHOENIX_ONLY))
    assert f"{settings.phoenix_url}/v1/traces (HTTP, straight to Phoenix" in text
    assert "OTLP/JSON gets 415" in text and "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf" in text
    assert f"127.0.0.1:{settings.phoenix_grpc_host_port}" in text
    assert "authorization: Bearer <ingestion key>" in text
    assert 'openinference.project.name="shop"' in text and "x-project-name" in text


def test_through_the_fan_out_no_key_and_every_encoding(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state", PHOENIX_ENABLE_AUTH="true")
    text = "\n".join(app_send.how_to_send_lines(settings, THROUGH_COLLECTOR))
    assert f"{settings.alloy_otlp_http_url}/v1/traces (HTTP: protobuf or JSON)" in text
    assert f"127.0.0.1:{settings.alloy_otlp_grpc_port} (gRPC), through otelcol; no key needed" in text
    assert "authorization" not in text


def test_app_env_values_hold_the_key_only_when_shown(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state", PHOENIX_ENABLE_AUTH="true", PHOENIX_API_KEY="k3y/with+chars")
    target = app_send.endpoint(settings, PHOENIX_ONLY)
    hidden = app_send.app_env_values(settings, target, show=False, base=target.http_base)
    shown = app_send.app_env_values(settings, target, show=True, base=target.http_base)
    assert hidden["OTEL_EXPORTER_OTLP_HEADERS"] == "authorization=Bearer%20<ingestion-key>"
    # The W3C baggage format of OTEL_EXPORTER_OTLP_HEADERS: the value percent-encoded, as the SDKs decode it.
    assert shown["OTEL_EXPORTER_OTLP_HEADERS"] == "authorization=Bearer%20k3y%2Fwith%2Bchars"
    assert shown["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert shown["OTEL_METRICS_EXPORTER"] == "none"  # Phoenix refuses metrics (405)
    through = app_send.endpoint(settings, THROUGH_COLLECTOR)
    assert "OTEL_EXPORTER_OTLP_HEADERS" not in app_send.app_env_values(settings, through, True, through.http_base)


def test_app_env_text_sources_in_a_shell_compose_block_included(tmp_path: Path) -> None:
    """The text for Phoenix alone: bash takes all of it, the compose block included."""
    settings = isolated_settings(tmp_path / "state", PHOENIX_PROJECT_NAME="my.shop")
    text = app_send.env_text(settings, app_send.endpoint(settings, PHOENIX_ONLY), show=False)
    assert "environment:" in text and "OTEL_EXPORTER_OTLP_ENDPOINT: http://phoenix:6006" in text
    script = tmp_path / "env.sh"
    script.write_text(text)
    shell = f'set -eu; . {script}; echo "$OTEL_EXPORTER_OTLP_ENDPOINT|$OTEL_RESOURCE_ATTRIBUTES"'
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{settings.phoenix_url}|openinference.project.name=my.shop"


def test_show_is_for_app_env_only(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    refused = invoke(environ, "render", "--print", "otelcol-config", "--show")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "--show applies to `--print app-env` only" in refused.stderr
    unknown = invoke(environ, "render", "--print", "nope")
    assert unknown.returncode == 2 and "app-env" in unknown.stderr, unknown.stderr
    assert not (tmp_path / "state" / "rendered").exists()  # nothing written
    nothing_runs = invoke(environ, "render", "--print", "app-env")
    assert nothing_runs.returncode == 1 and "`invoke up` first" in nothing_runs.stderr, nothing_runs.stderr
