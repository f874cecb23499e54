"""Static checks: the shipped configuration passes, and each way of breaking it is caught by its check.

Every test works on a copy of the repository's stacks/ (and the demo's files) in tmp_path, with settings
whose repo_root points at the copy, breaks one thing, and checks that exactly the matching check changes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stackkit.render import Plan, render
from stackkit.settings import Settings, load_settings
from stackkit.verify import CheckResult, format_lines, has_failures, run_checks, to_json
from stackkit.verify.files import PLACEHOLDER_SECRETS, FileLocations
from stackkit.verify.registry import registered_checks

REPO = Path(__file__).resolve().parents[3]
STATIC_IDS = [
    "alloy.syntax",
    "alloy.receiver-bind",
    "alloy.exporter-protocol",
    "alloy.exporter-endpoint",
    "alloy.pipeline",
    "alloy.listen-addr",
    "phoenix.volume",
    "phoenix.auth-config",
    "sdk.exporter",
]
DOCKER_PLAN = Plan(runtime="docker", components=("phoenix", "alloy", "ai-demo"), skipped={})
TELEMETRY_WITH_PROTOCOL = (
    "from phoenix.otel import register\n\n"
    "def setup(config):\n"
    '    return register(endpoint=config.traces_endpoint, protocol="http/protobuf", batch=True)\n'
)
# `encoding` is an argument of the exporter itself (otelcol.exporter.otlphttp.md), not of client { }.
ENCODING_AT_EXPORTER = '  encoding = "proto"\n\n'
CLIENT_OPENING = "  client {\n"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


class RepoCopy:
    """A copy of the repository's configuration and a scratch state folder, with settings pointing at both."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.root = tmp_path / "repo"
        shutil.copytree(REPO / "stacks", self.root / "stacks")
        demo = self.root / "services" / "ai-demo"
        (demo / "ai_demo").mkdir(parents=True)
        shutil.copy(REPO / "services" / "ai-demo" / "docker-compose.yml", demo / "docker-compose.yml")
        shipped_telemetry = REPO / "services" / "ai-demo" / "ai_demo" / "telemetry.py"
        if shipped_telemetry.exists():
            shutil.copy(shipped_telemetry, demo / "ai_demo" / "telemetry.py")
        else:  # being written by a colleague: stand in with the one line the check looks for
            (demo / "ai_demo" / "telemetry.py").write_text(TELEMETRY_WITH_PROTOCOL)
        self.env_file = tmp_path / "empty.env"
        self.env_file.touch()

    def alloy(self, name: str) -> Path:
        return self.root / "stacks" / "grafana-alloy" / name

    @property
    def telemetry(self) -> Path:
        return self.root / "services" / "ai-demo" / "ai_demo" / "telemetry.py"

    def settings(self, **overrides: str) -> Settings:
        environ = {
            "STACK_ENV_FILE": str(self.env_file),
            "STACK_STATE_DIR": str(self.tmp_path / "state"),
            "STACK_RUNTIME": "docker",
            **overrides,
        }
        return load_settings(environ=environ, repo_root=self.root)

    def results(self, **overrides: str) -> dict[str, CheckResult]:
        return {result.id: result for result in run_checks(self.settings(**overrides), static_only=True)}

    def render(self, secrets: dict[str, str] | None = None, **overrides: str) -> Settings:
        settings = self.settings(**overrides)
        render(settings, DOCKER_PLAN, PLACEHOLDER_SECRETS if secrets is None else secrets)
        return settings

    def rendered_env(self, name: str) -> Path:
        return self.tmp_path / "state" / "rendered" / "env" / f"{name}.env"

    def put_encoding_inside_client(self) -> None:
        template = self.alloy("phoenix-exporter.alloy.j2")
        edit(template, ENCODING_AT_EXPORTER, "")
        edit(template, CLIENT_OPENING, CLIENT_OPENING + '    encoding = "proto"\n')


@pytest.fixture
def copy(tmp_path: Path) -> RepoCopy:
    return RepoCopy(tmp_path)


def assert_only_check_changed(
    before: dict[str, CheckResult],
    after: dict[str, CheckResult],
    check_id: str,
    status: str,
    *mentions: str,
    also_changed: dict[str, str] | None = None,
) -> CheckResult:
    """check_id now has `status` and mentions each text; every other check is as it was (or as listed)."""
    result = after[check_id]
    assert result.status == status, result
    for text in mentions:
        assert text in result.summary, f"{text!r} not in {result.summary!r}"
    if status in ("warn", "fail"):
        assert result.fix, result
    also_changed = also_changed or {}
    for other, expected in also_changed.items():
        assert after[other].status == expected, after[other]
    unexpected = {
        other: after[other]
        for other in before
        if other != check_id and other not in also_changed and after[other].status != before[other].status
    }
    assert not unexpected, unexpected
    return result


# ---------------------------------------------------------------------------------------------------
# The shipped configuration


def test_shipped_config_passes_every_static_check(tmp_path: Path) -> None:
    env_file = tmp_path / "empty.env"
    env_file.touch()
    settings = load_settings(
        # docker: a native state folder under /tmp would rightly warn in phoenix.volume.
        environ={
            "STACK_ENV_FILE": str(env_file),
            "STACK_STATE_DIR": str(tmp_path / "state"),
            "STACK_RUNTIME": "docker",
        },
        repo_root=REPO,
    )
    results = run_checks(settings, static_only=True)
    assert [result.id for result in results] == STATIC_IDS
    assert {result.id: result.status for result in results if result.status != "pass"} == {}


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"PHOENIX_ENABLE_AUTH": "true"},
        {"PROMETHEUS_REMOTE_WRITE_URL": "http://mimir:9009/api/v1/push"},
        {"PHOENIX_DB": "postgres"},
        {"PHOENIX_WORKING_DIR": "/srv/phoenix"},
    ],
)
def test_shipped_config_passes_every_static_check_in_every_configuration(
    copy: RepoCopy, overrides: dict[str, str]
) -> None:
    results = copy.results(**overrides)
    assert list(results) == STATIC_IDS
    assert {check_id: result.summary for check_id, result in results.items() if result.status != "pass"} == {}


def test_rendered_files_are_checked_like_the_templates(copy: RepoCopy) -> None:
    copy.render(PHOENIX_ENABLE_AUTH="true")
    results = copy.results(PHOENIX_ENABLE_AUTH="true")
    assert all(result.status == "pass" for result in results.values()), results
    assert "rendered/env/alloy.env" in results["phoenix.auth-config"].summary


# ---------------------------------------------------------------------------------------------------
# alloy.syntax


def test_a_syntax_error_names_the_file_and_line(copy: RepoCopy) -> None:
    before = copy.results()
    edit(
        copy.alloy("config.alloy"),
        'otelcol.processor.batch "traces" {',
        'otelcol.processor.batch "traces"\n{',
    )
    result = assert_only_check_changed(
        before,
        copy.results(),
        "alloy.syntax",
        "fail",
        "stacks/grafana-alloy/config.alloy:28 column",
        "same line as its name",
        # The receiver is defined in the file that no longer parses: those checks cannot run.
        also_changed={"alloy.receiver-bind": "skip", "alloy.pipeline": "skip"},
    )
    assert "stacks/grafana-alloy/config.alloy" in result.fix


def test_a_reference_to_an_undefined_component_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(
        copy.alloy("config.alloy"),
        "otelcol.exporter.otlphttp.phoenix.input",
        "otelcol.exporter.otlphttp.phoenx.input",
    )
    assert_only_check_changed(
        before,
        copy.results(),
        "alloy.syntax",
        "fail",
        "config.alloy:34",
        "otelcol.exporter.otlphttp.phoenx.input matches no component",
        "defined labels for that component: phoenix",
        also_changed={"alloy.pipeline": "fail"},
    )


def test_a_component_defined_in_two_files_fails(copy: RepoCopy) -> None:
    before = copy.results()
    config = copy.alloy("config.alloy")
    config.write_text(config.read_text() + '\notelcol.processor.batch "metrics" {\n  output {}\n}\n')
    assert_only_check_changed(
        before, copy.results(), "alloy.syntax", "fail", "otelcol.processor.batch.metrics is defined twice"
    )


def test_deprecated_functions_warn_with_their_replacement(copy: RepoCopy) -> None:
    before = copy.results()
    edit(
        copy.alloy("phoenix-exporter.alloy.j2"),
        'sys.env("PHOENIX_OTLP_ENDPOINT")',
        'env("PHOENIX_OTLP_ENDPOINT")',
    )
    result = assert_only_check_changed(
        before, copy.results(), "alloy.syntax", "warn", "env() is deprecated", "phoenix-exporter.alloy.j2"
    )
    assert "sys.env(...) instead of env(...)" in result.fix


def test_a_template_that_does_not_render_fails(copy: RepoCopy) -> None:
    edit(copy.alloy("metrics.alloy.j2"), "{%- else %}", "{%- else %}{% if %}")
    result = copy.results()["alloy.syntax"]
    assert result.status == "fail"
    assert "does not render" in result.summary


# ---------------------------------------------------------------------------------------------------
# alloy.receiver-bind


def test_a_receiver_bound_to_loopback_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(
        copy.alloy("config.alloy"),
        'endpoint = "0.0.0.0:" + coalesce(sys.env("ALLOY_OTLP_GRPC',
        'endpoint = "127.0.0.1:" + coalesce(sys.env("ALLOY_OTLP_GRPC',
    )
    assert_only_check_changed(
        before,
        copy.results(),
        "alloy.receiver-bind",
        "fail",
        "config.alloy:15",
        "'127.0.0.1:4317'",
        "listener",
    )


def test_a_receiver_bound_to_host_docker_internal_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(
        copy.alloy("config.alloy"),
        'endpoint = "0.0.0.0:" + coalesce(sys.env("ALLOY_OTLP_HTTP',
        'endpoint = "host.docker.internal:" + coalesce(sys.env("ALLOY_OTLP_HTTP',
    )
    assert_only_check_changed(
        before,
        copy.results(),
        "alloy.receiver-bind",
        "fail",
        "host.docker.internal",
        "destination to send to",
    )


def test_a_receiver_without_its_http_block_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(
        copy.alloy("config.alloy"),
        '  http {\n    endpoint = "0.0.0.0:" + coalesce(sys.env("ALLOY_OTLP_HTTP_LISTEN_PORT"), "4318")\n  }\n',
        "",
    )
    assert_only_check_changed(
        before, copy.results(), "alloy.receiver-bind", "fail", "has no http block", "never starts"
    )


# ---------------------------------------------------------------------------------------------------
# alloy.exporter-protocol


GRPC_EXPORTER_TO_PHOENIX = """
otelcol.exporter.otlp "phoenix_grpc" {
  client {
    endpoint = sys.env("PHOENIX_OTLP_ENDPOINT")
  }
}
"""


def test_a_grpc_exporter_aimed_at_phoenix_http_fails(copy: RepoCopy) -> None:
    before = copy.results()
    config = copy.alloy("config.alloy")
    edit(
        config,
        "traces = [otelcol.exporter.otlphttp.phoenix.input]",
        "traces = [otelcol.exporter.otlphttp.phoenix.input, otelcol.exporter.otlp.phoenix_grpc.input]",
    )
    config.write_text(config.read_text() + GRPC_EXPORTER_TO_PHOENIX)
    assert_only_check_changed(
        before,
        copy.results(),
        "alloy.exporter-protocol",
        "fail",
        "otelcol.exporter.otlp.phoenix_grpc speaks OTLP/gRPC",
        "PHOENIX_OTLP_ENDPOINT",
    )


def test_a_grpc_exporter_through_an_https_tunnel_fails(copy: RepoCopy) -> None:
    before = copy.results()
    config = copy.alloy("config.alloy")
    tunnel = 'otelcol.exporter.otlp "tunnel" {\n  client {\n    endpoint = "https://x.trycloudflare.com"\n  }\n}\n'
    config.write_text(config.read_text() + "\n" + tunnel)
    assert_only_check_changed(before, copy.results(), "alloy.exporter-protocol", "fail", "403 or 502")


def test_phoenix_exporter_replaced_by_grpc_fails(copy: RepoCopy) -> None:
    edit(
        copy.alloy("phoenix-exporter.alloy.j2"),
        'otelcol.exporter.otlphttp "phoenix"',
        'otelcol.exporter.otlp "phoenix"',
    )
    edit(
        copy.alloy("config.alloy"),
        "otelcol.exporter.otlphttp.phoenix.input",
        "otelcol.exporter.otlp.phoenix.input",
    )
    result = copy.results()["alloy.exporter-protocol"]
    assert result.status == "fail"
    assert "no otelcol.exporter.otlphttp sends to Phoenix" in result.summary
    assert "gRPC against Phoenix's HTTP port" in result.summary


# ---------------------------------------------------------------------------------------------------
# alloy.exporter-endpoint


def test_encoding_inside_client_fails(copy: RepoCopy) -> None:
    before = copy.results()
    copy.put_encoding_inside_client()
    after = copy.results()
    assert_only_check_changed(before, after, "alloy.exporter-endpoint", "fail", "encoding is set inside client")
    assert "phoenix-exporter.alloy" in after["alloy.exporter-endpoint"].summary


def test_an_endpoint_ending_in_v1_traces_fails(copy: RepoCopy) -> None:
    copy.render()
    before = copy.results()
    edit(
        copy.rendered_env("alloy"),
        "PHOENIX_OTLP_ENDPOINT=http://phoenix:6006",
        "PHOENIX_OTLP_ENDPOINT=http://phoenix:6006/v1/traces",
    )
    assert_only_check_changed(
        before,
        copy.results(),
        "alloy.exporter-endpoint",
        "fail",
        "/v1/traces/v1/traces",
        "404",
        "rendered/env/alloy.env",
    )


def test_json_encoding_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy("phoenix-exporter.alloy.j2"), 'encoding = "proto"', 'encoding = "json"')
    assert_only_check_changed(before, copy.results(), "alloy.exporter-endpoint", "fail", "'json'", "415")


def test_a_compression_phoenix_cannot_decode_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy("phoenix-exporter.alloy.j2"), 'compression = "gzip"', 'compression = "zstd"')
    assert_only_check_changed(before, copy.results(), "alloy.exporter-endpoint", "fail", "'zstd'")


def test_an_https_endpoint_with_tls_disabled_warns(copy: RepoCopy) -> None:
    copy.render()  # rendered for plain http: tls { insecure = true }
    before = copy.results()
    edit(copy.rendered_env("alloy"), "http://phoenix:6006", "https://phoenix.example.com")
    assert_only_check_changed(before, copy.results(), "alloy.exporter-endpoint", "warn", "insecure = true")


def test_an_empty_endpoint_fails(copy: RepoCopy) -> None:
    copy.render()
    before = copy.results()
    edit(copy.rendered_env("alloy"), "PHOENIX_OTLP_ENDPOINT=http://phoenix:6006", "PHOENIX_OTLP_ENDPOINT=")
    assert_only_check_changed(before, copy.results(), "alloy.exporter-endpoint", "fail", "the client endpoint is empty")


# ---------------------------------------------------------------------------------------------------
# alloy.pipeline


def test_a_processor_with_an_empty_traces_output_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy("config.alloy"), "traces = [otelcol.exporter.otlphttp.phoenix.input]", "traces = []")
    assert_only_check_changed(
        before,
        copy.results(),
        "alloy.pipeline",
        "fail",
        "otelcol.processor.batch.traces is on the traces path",
        "drops every span",
    )


def test_a_receiver_without_a_traces_output_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy("config.alloy"), "    traces  = [otelcol.processor.batch.traces.input]\n", "")
    assert_only_check_changed(
        before, copy.results(), "alloy.pipeline", "fail", "the traces output of otelcol.receiver.otlp.default"
    )


# ---------------------------------------------------------------------------------------------------
# alloy.listen-addr


def test_alloy_without_listen_addr_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy("docker-compose.yml"), "      - --server.http.listen-addr=0.0.0.0:12345\n", "")
    result = assert_only_check_changed(
        before,
        copy.results(),
        "alloy.listen-addr",
        "fail",
        "stacks/grafana-alloy/docker-compose.yml:11",
        "127.0.0.1:12345",
    )
    assert "--server.http.listen-addr=0.0.0.0:12345" in result.fix


def test_alloy_listening_on_loopback_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy("docker-compose.yml"), "listen-addr=0.0.0.0:12345", "listen-addr=127.0.0.1:12345")
    assert_only_check_changed(before, copy.results(), "alloy.listen-addr", "fail", "only 0.0.0.0 is reachable")


def test_a_receiver_port_that_is_not_published_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(
        copy.alloy("docker-compose.yml"),
        '"${ALLOY_OTLP_GRPC_PORT:-4317}:4317"',
        '"${ALLOY_OTLP_GRPC_PORT:-4317}:14317"',
    )
    assert_only_check_changed(
        before,
        copy.results(),
        "alloy.listen-addr",
        "fail",
        "OTLP/grpc on container port 4317",
        "config.alloy:15",
    )


def test_running_only_config_alloy_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy("docker-compose.yml"), "      - /etc/alloy\n", "      - /etc/alloy/config.alloy\n")
    assert_only_check_changed(before, copy.results(), "alloy.listen-addr", "fail", "loads that one file")


# ---------------------------------------------------------------------------------------------------
# phoenix.volume


PHOENIX_COMPOSE = Path("stacks/arize-phoenix/docker-compose.yml")
PHOENIX_VOLUME_LINE = "      - phoenix-data:${PHOENIX_WORKING_DIR:-/mnt/data}\n"


def test_a_volume_mounted_beside_the_working_dir_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.root / PHOENIX_COMPOSE, PHOENIX_VOLUME_LINE, "      - phoenix-data:/data\n")
    result = assert_only_check_changed(
        before,
        copy.results(),
        "phoenix.volume",
        "fail",
        "stacks/arize-phoenix/docker-compose.yml:14",
        "no named volume is mounted at /mnt/data",
        "phoenix-data at /data",
        "every restart loses all traces",
    )
    assert "services.phoenix.volumes" in result.fix


def test_no_volume_at_all_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(
        copy.root / PHOENIX_COMPOSE,
        "    volumes:\n      # Without this volume every restart loses all traces.\n" + PHOENIX_VOLUME_LINE,
        "",
    )
    assert_only_check_changed(before, copy.results(), "phoenix.volume", "fail", "named volumes mounted: none")


def test_a_bind_mount_is_not_a_named_volume(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.root / PHOENIX_COMPOSE, PHOENIX_VOLUME_LINE, "      - ./data:${PHOENIX_WORKING_DIR:-/mnt/data}\n")
    assert_only_check_changed(before, copy.results(), "phoenix.volume", "fail", "no named volume is mounted")


def test_postgres_without_its_volume_fails(copy: RepoCopy) -> None:
    before = copy.results(PHOENIX_DB="postgres")
    edit(
        copy.root / "stacks/arize-phoenix/docker-compose.postgres.yml",
        "      - postgres-data:/var/lib/postgresql/data\n",
        "",
    )
    after = copy.results(PHOENIX_DB="postgres")
    assert_only_check_changed(before, after, "phoenix.volume", "fail", "/var/lib/postgresql/data")


def test_native_data_under_tmp_warns(copy: RepoCopy) -> None:
    # tmp_path is itself under the system's temporary folder, which is the point here.
    result = copy.results(STACK_RUNTIME="native")["phoenix.volume"]
    assert result.status == "warn"
    assert "every reboot loses all traces" in result.summary
    assert "STACK_STATE_DIR" in result.fix


def test_native_data_in_a_persistent_state_folder_passes(copy: RepoCopy) -> None:
    # Only the path is inspected: nothing is written to this folder.
    result = copy.results(STACK_RUNTIME="native", STACK_STATE_DIR="/srv/stackkit-state-never-created")
    assert result["phoenix.volume"].status == "pass", result["phoenix.volume"]
    assert not Path("/srv/stackkit-state-never-created").exists()


# ---------------------------------------------------------------------------------------------------
# phoenix.auth-config


AUTH_HEADER_TEMPLATE = """{%- if auth_enabled %}

    // PHOENIX_ENABLE_AUTH=true: without this header Phoenix answers 401 and drops every span.
    headers = {
      "authorization" = "Bearer " + sys.env("PHOENIX_API_KEY"),
    }
{%- endif %}"""


def test_auth_on_without_the_header_fails(copy: RepoCopy) -> None:
    before = copy.results(PHOENIX_ENABLE_AUTH="true")
    edit(copy.alloy("phoenix-exporter.alloy.j2"), AUTH_HEADER_TEMPLATE, "")
    assert_only_check_changed(
        before, copy.results(PHOENIX_ENABLE_AUTH="true"), "phoenix.auth-config", "fail", "answers 401"
    )


def test_auth_off_with_a_rendered_header_left_over_fails(copy: RepoCopy) -> None:
    copy.render(PHOENIX_ENABLE_AUTH="true", secrets={**PLACEHOLDER_SECRETS, "PHOENIX_API_KEY": "sk-left-over-1"})
    results = copy.results(PHOENIX_ENABLE_AUTH="false")
    result = results["phoenix.auth-config"]
    assert result.status == "fail"
    assert "dangling" in result.summary
    assert "sk-left-over-1" not in to_json(list(results.values()))


def test_auth_on_with_an_empty_key_fails_and_never_prints_keys(copy: RepoCopy) -> None:
    copy.render(PHOENIX_ENABLE_AUTH="true", secrets={**PLACEHOLDER_SECRETS, "PHOENIX_API_KEY": ""})
    result = copy.results(PHOENIX_ENABLE_AUTH="true")["phoenix.auth-config"]
    assert result.status == "fail"
    assert "PHOENIX_API_KEY is empty" in result.summary

    copy.render(PHOENIX_ENABLE_AUTH="true", secrets={**PLACEHOLDER_SECRETS, "PHOENIX_API_KEY": "sk-real-2"})
    results = copy.results(PHOENIX_ENABLE_AUTH="true")
    assert results["phoenix.auth-config"].status == "pass"
    printed = to_json(list(results.values())) + format_lines(list(results.values()))
    assert "sk-real-2" not in printed
    assert PLACEHOLDER_SECRETS["PHOENIX_SECRET"] not in printed


def test_a_key_written_into_the_config_fails(copy: RepoCopy) -> None:
    before = copy.results(PHOENIX_ENABLE_AUTH="true")
    edit(copy.alloy("phoenix-exporter.alloy.j2"), '"Bearer " + sys.env("PHOENIX_API_KEY")', '"Bearer abc"')
    assert_only_check_changed(
        before, copy.results(PHOENIX_ENABLE_AUTH="true"), "phoenix.auth-config", "fail", "not built from"
    )


# ---------------------------------------------------------------------------------------------------
# sdk.exporter


def test_the_demo_sending_to_a_grpc_port_fails(copy: RepoCopy) -> None:
    copy.render()
    before = copy.results()
    edit(
        copy.rendered_env("ai-demo"),
        "AI_DEMO_OTLP_ENDPOINT=http://alloy:4318",
        "AI_DEMO_OTLP_ENDPOINT=http://alloy:4317",
    )
    assert_only_check_changed(
        before,
        copy.results(),
        "sdk.exporter",
        "fail",
        "port 4317 is an OTLP/gRPC port",
        "rendered/env/ai-demo.env",
    )


def test_the_demo_endpoint_ending_in_v1_traces_fails(copy: RepoCopy) -> None:
    copy.render()
    before = copy.results()
    edit(copy.rendered_env("ai-demo"), "http://alloy:4318", "http://alloy:4318/v1/traces")
    assert_only_check_changed(before, copy.results(), "sdk.exporter", "fail", "ends in /v1/traces")


def test_telemetry_without_an_explicit_protocol_fails(copy: RepoCopy) -> None:
    copy.telemetry.write_text(TELEMETRY_WITH_PROTOCOL)
    before = copy.results()
    copy.telemetry.write_text(TELEMETRY_WITH_PROTOCOL.replace(', protocol="http/protobuf"', ""))
    assert_only_check_changed(before, copy.results(), "sdk.exporter", "fail", "Arize-ai/phoenix#10730")


def test_missing_telemetry_fails_clearly(copy: RepoCopy) -> None:
    copy.telemetry.write_text(TELEMETRY_WITH_PROTOCOL)
    before = copy.results()
    copy.telemetry.unlink()
    assert_only_check_changed(
        before, copy.results(), "sdk.exporter", "fail", "services/ai-demo/ai_demo/telemetry.py does not exist"
    )


# ---------------------------------------------------------------------------------------------------
# Framework and report


def test_static_only_runs_exactly_the_static_checks() -> None:
    static = registered_checks(static_only=True)
    assert [registered.id for registered in static] == STATIC_IDS
    assert all(registered.static for registered in static)
    everything = registered_checks(static_only=False)
    assert [registered.id for registered in everything][: len(STATIC_IDS)] == STATIC_IDS


def test_locations_can_be_given_explicitly(copy: RepoCopy) -> None:
    settings = load_settings(
        environ={"STACK_ENV_FILE": str(copy.env_file), "STACK_STATE_DIR": str(copy.tmp_path / "state")},
        repo_root=REPO,
    )
    locations = FileLocations(repo_root=copy.root, rendered_dir=copy.tmp_path / "elsewhere")
    edit(copy.alloy("config.alloy"), "0.0.0.0:", "127.0.0.1:")
    results = {result.id: result for result in run_checks(settings, static_only=True, locations=locations)}
    assert results["alloy.receiver-bind"].status == "fail"


def test_format_lines_and_json() -> None:
    results = [
        CheckResult("alloy.syntax", "pass", "3 files parse"),
        CheckResult("phoenix.volume", "fail", "no volume", "mount one"),
        CheckResult("sdk.exporter", "warn", "odd", "look"),
        CheckResult("pipeline.canary", "skip", "not running"),
    ]
    lines = format_lines(results).splitlines()
    assert lines[0] == "PASS  alloy.syntax     3 files parse"
    assert lines[1] == "FAIL  phoenix.volume   no volume"
    assert lines[2] == "                       fix: mount one"
    assert lines[3].startswith("WARN  sdk.exporter     odd")
    assert lines[5] == "SKIP  pipeline.canary  not running"
    assert lines[-1] == "1 passed, 1 warned, 1 failed, 1 skipped"
    assert json.loads(to_json(results))[1] == {
        "id": "phoenix.volume",
        "status": "fail",
        "summary": "no volume",
        "fix": "mount one",
    }
    assert has_failures(results) and not has_failures(results[:1])
    with pytest.raises(ValueError):
        CheckResult("x", "ok", "")
