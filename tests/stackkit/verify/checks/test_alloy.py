"""stackkit/verify/checks/alloy.py: each way of breaking Alloy's files (syntax, receiver) is caught by its check,
and only by it."""

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
        'otelcol.receiver.otlp "default" {',
        'otelcol.receiver.otlp "default"\n{',
    )
    result = assert_only_check_changed(
        before,
        copy.results(),
        "alloy.syntax",
        "fail",
        "stacks/grafana-alloy/config.alloy:13 column",
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
        "config.alloy:26",
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
        "config.alloy:18",
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
