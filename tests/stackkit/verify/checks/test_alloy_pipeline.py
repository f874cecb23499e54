"""stackkit/verify/checks/alloy_pipeline.py: a broken trace route is caught by alloy.pipeline, and only by it."""

from __future__ import annotations

from verify_helpers import (
    RepoCopy,
    assert_only_check_changed,
    edit,
)

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
