"""stackkit/verify/checks/alloy_pipeline.py: a broken trace route is caught by alloy.pipeline, and only by it."""

from __future__ import annotations

from verify_helpers import (
    RepoCopy,
    assert_only_check_changed,
    edit,
)

# ---------------------------------------------------------------------------------------------------
# alloy.pipeline


RECEIVER_TRACES = "    traces  = [otelcol.exporter.otlphttp.phoenix.input, otelcol.processor.batch.llm.input]\n"


def add_batch_processor(copy: RepoCopy, traces_to: str) -> None:
    """Put an otelcol.processor.batch between the receiver and `traces_to`."""
    config = copy.alloy("config.alloy")
    in_front = "    traces  = [otelcol.processor.batch.traces.input, otelcol.processor.batch.llm.input]\n"
    edit(config, RECEIVER_TRACES, in_front)
    config.write_text(
        config.read_text()
        + f'\notelcol.processor.batch "traces" {{\n  output {{\n    traces = [{traces_to}]\n  }}\n}}\n'
    )


def test_a_processor_with_an_empty_traces_output_fails(copy: RepoCopy) -> None:
    before = copy.results()
    add_batch_processor(copy, "")
    assert_only_check_changed(
        before,
        copy.results(),
        "alloy.pipeline",
        "fail",
        "otelcol.processor.batch.traces is on the traces path",
        "drops every span",
    )


def test_a_batch_processor_in_front_of_the_queue_warns_because_a_full_queue_would_answer_200(
    copy: RepoCopy,
) -> None:
    before = copy.results()
    add_batch_processor(copy, "otelcol.exporter.otlphttp.phoenix.input")
    result = assert_only_check_changed(
        before,
        copy.results(),
        "alloy.pipeline",
        "warn",
        "otelcol.processor.batch.traces is on the traces path to otelcol.exporter.otlphttp.phoenix",
        "the senders are answered 200 and the spans are dropped",
    )
    assert "batch in its sending_queue's batch block" in result.fix


def test_a_receiver_without_a_traces_output_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy("config.alloy"), RECEIVER_TRACES, "")
    assert_only_check_changed(
        before, copy.results(), "alloy.pipeline", "fail", "the traces output of otelcol.receiver.otlp.default"
    )
