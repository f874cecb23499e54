"""stackkit/verify/checks/alloy.py: each way of breaking Alloy's files is caught by its check, and only by it."""

from __future__ import annotations

from verify_helpers import (
    RepoCopy,
    assert_only_check_changed,
    edit,
)

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
    assert_only_check_changed(
        before,
        after,
        "alloy.exporter-endpoint",
        "fail",
        "encoding is set inside client",
        also_changed={"alloy.schema": "fail"},  # Alloy itself refuses it: client has no such attribute
    )
    assert "phoenix-exporter.alloy" in after["alloy.exporter-endpoint"].summary
    schema = after["alloy.schema"]
    assert "client: unknown attribute `encoding`: it belongs to the enclosing otelcol.exporter.otlphttp.phoenix" in (
        schema.summary
    )
    assert "move `encoding` out of `client`" in schema.fix


def test_an_endpoint_ending_in_v1_traces_fails(copy: RepoCopy) -> None:
    copy.render()
    before = copy.results()
    edit(
        copy.rendered_env("alloy"),
        "PHOENIX_OTLP_ENDPOINT='http://phoenix:6006'",
        "PHOENIX_OTLP_ENDPOINT='http://phoenix:6006/v1/traces'",
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
    edit(copy.rendered_env("alloy"), "PHOENIX_OTLP_ENDPOINT='http://phoenix:6006'", "PHOENIX_OTLP_ENDPOINT=''")
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
