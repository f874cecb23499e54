"""The spans the ingestion benchmark sends, the pairing of its runs, and one small run into a real Phoenix."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tools.bench import ingestion


def test_an_export_request_holds_traces_of_a_root_and_its_children() -> None:
    trace_ids = [bytes([number]) * 16 for number in range(10)]
    request = ExportTraceServiceRequest.FromString(ingestion.export_request("bench-x", trace_ids, 10**18))
    [resource_spans] = request.resource_spans
    resource = {kv.key: kv.value.string_value for kv in resource_spans.resource.attributes}
    assert resource["openinference.project.name"] == "bench-x"
    spans = resource_spans.scope_spans[0].spans
    assert len(spans) == 10 * ingestion.SPANS_PER_TRACE == 50
    for trace_id in trace_ids:
        in_trace = [span for span in spans if span.trace_id == trace_id]
        [root] = [span for span in in_trace if not span.parent_span_id]
        assert len(in_trace) == ingestion.SPANS_PER_TRACE
        assert {span.parent_span_id for span in in_trace if span is not root} == {root.span_id}
    assert len({span.span_id for span in spans}) == 50


def _run(scenario: str, path: str, repetition: int, throughput: float, p50: float) -> dict:
    return {
        "scenario": scenario,
        "path": path,
        "repetition": repetition,
        "throughput": throughput,
        "loss": 0,
        "latency_p50_s": p50,
        "latency_p95_s": p50 * 2,
        "peak_backlog": 100,
        "peak_rss_mb": 450.0,
    }


def test_pipeline_is_divided_by_the_direct_run_of_the_same_repetition() -> None:
    # Listed out of order, as the suite swaps pipeline and direct every repetition.
    runs = [
        _run("1k@100/s", "direct", 2, 50.0, 1.0),
        _run("1k@100/s", "pipeline", 1, 90.0, 0.5),
        _run("1k@100/s", "direct", 1, 100.0, 0.25),
        _run("1k@100/s", "pipeline", 2, 60.0, 1.5),
    ]
    summary = ingestion.summarize(runs)["1k@100/s"]
    assert summary["pipeline"]["throughput"] == {"median": 75.0, "min": 60.0, "max": 90.0, "n": 2}
    ratios = summary["pipeline_over_direct"]
    # Paired: 90/100 and 60/50, not the ratio of the medians (75/75).
    assert ratios["throughput"] == {"median": pytest.approx(1.05), "min": 0.9, "max": 1.2, "n": 2}
    assert ratios["latency_p50_s"]["min"] == 1.5 and ratios["latency_p50_s"]["max"] == 2.0


@pytest.mark.phoenix
def test_a_small_run_is_read_back_completely_from_a_real_phoenix(phoenix, phoenix_settings) -> None:
    url = phoenix_settings.phoenix_url
    result = ingestion.run(f"{url}/v1/traces", url, "bench-test", spans=200, rate=400, phoenix_pid=None)
    assert (result["sent"], result["accepted"], result["read_back"], result["loss"]) == (200, 200, 200, 0)
    assert result["latency_found"] == result["latency_samples"] == 4  # one per export request
    assert result["latency_p50_s"] > 0
    assert result["series"][-1]["backlog"] == 0
    assert result["throughput"] > 0


def test_a_single_path_has_no_ratio() -> None:
    runs = [_run("10k@500/s", "pipeline", 1, 150.0, 20.0)]
    summary = ingestion.summarize(runs)["10k@500/s"]
    assert summary["pipeline_over_direct"] is None
    assert set(summary) == {"pipeline", "pipeline_over_direct"}
