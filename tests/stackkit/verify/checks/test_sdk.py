"""stackkit/verify/checks/sdk.py: how the demo's SDK exports."""

from __future__ import annotations

from verify_helpers import (
    TELEMETRY_WITH_PROTOCOL,
    RepoCopy,
    assert_only_check_changed,
    edit,
)

# ---------------------------------------------------------------------------------------------------
# sdk.exporter


def test_the_demo_sending_to_a_grpc_port_fails(copy: RepoCopy) -> None:
    copy.render()
    before = copy.results()
    edit(
        copy.rendered_env("ai-demo"),
        "AI_DEMO_OTLP_ENDPOINT='http://alloy:4318'",
        "AI_DEMO_OTLP_ENDPOINT='http://alloy:4317'",
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
