"""stackkit/verify/checks/alloy_exporter.py: each way of breaking the exporter to Phoenix is caught by its check,
and only by it."""

from __future__ import annotations

from verify_helpers import (
    RepoCopy,
    assert_only_check_changed,
    edit,
)

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
        "traces  = [otelcol.exporter.otlphttp.phoenix.input, otelcol.processor.batch.llm.input]",
        "traces  = [otelcol.exporter.otlphttp.phoenix.input, otelcol.processor.batch.llm.input, "
        "otelcol.exporter.otlp.phoenix_grpc.input]",
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
