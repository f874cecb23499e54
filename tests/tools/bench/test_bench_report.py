"""The markdown table written next to the JSON."""

from __future__ import annotations

from tools.bench.report import fmt, markdown, ratio


def stat(median: float, low: float, high: float, n: int = 3) -> dict:
    return {"median": median, "min": low, "max": high, "n": n}


def test_fmt_shows_the_range_only_when_there_is_one() -> None:
    assert fmt(stat(20.04, 18.0, 25.55)) == "20.0 (18.0-25.6)"
    assert fmt(stat(452.4, 452.4, 452.4, n=1), 0) == "452"
    assert fmt(stat(0, 0, 0), 0) == "0"  # three runs that agree
    assert fmt(None) == "n/a"
    assert ratio(stat(2.0, 1.5, 2.25)) == "x2.00 (1.50-2.25)"


def results() -> dict:
    paths = {
        path: {
            "throughput": stat(160.0, 150.0, 170.0),
            "loss": stat(0, 0, 0),
            "latency_p50_s": stat(0.5, 0.4, 0.6),
            "latency_p95_s": stat(1.0, 0.9, 1.2),
            "peak_backlog": stat(100, 50, 150),
            "peak_rss_mb": stat(455, 454, 456),
        }
        for path in ("pipeline", "direct")
    }
    ratios = {key: stat(1.0, 0.9, 1.1) for key in ("throughput", "latency_p50_s", "latency_p95_s")}
    runs = [
        {"spans": 1000, "read_back": 1000, "stored_before": 0, "rss_before_mb": 451.0, "rss_after_mb": 455.0},
        {"spans": 10_000, "read_back": 9990, "stored_before": 1000, "rss_before_mb": 455.0, "rss_after_mb": 470.0}
        | {"peak_rss_mb": 480.0},
    ]
    overhead = {
        f"{name}_{key}": stat(100.0, 90.0, 110.0) for name in ("off", "batch", "simple") for key in ("p50_ms", "p95_ms")
    }
    overhead |= {
        key: stat(2.0, 1.9, 2.1)
        for key in ("batch_over_off_p50", "batch_over_off_p95", "simple_over_batch_p50", "simple_over_batch_p95")
    }
    return {
        "mode": "full",
        "command": "python -m tools.bench",
        "finished_at": "2026-01-01T00:00:00+00:00",
        "duration_s": 600.0,
        "machine": {
            "cores": 2,
            "cpu_model": "CPU",
            "memory_gb": 8.0,
            "os": "Linux",
            "python": "3.11.7",
            "phoenix": "20.26.1",
        },
        "load_average": {"start": [1.0, 1.0, 1.0], "end": [2.0, 2.0, 2.0]},
        "bringup": {
            "runs": [{"verify": "`invoke verify` exited 1: phoenix.volume (fail)"}] * 3,
            "verify_available": True,
            "phoenix_alone_env": {"PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false"},
            "phoenix_alone_s": stat(10.0, 9.5, 11.0),
            "cold_up_s": stat(20.0, 18.0, 25.0),
            "cold_up_over_phoenix_alone": stat(1.08, 1.05, 1.3),
            "warm_up_s": stat(0.5, 0.4, 0.6),
            "verify_s": stat(0.8, 0.7, 0.9),
            "phoenix_idle_rss_mb": stat(450.0, 449.0, 452.0),
            "phoenix_alone_idle_rss_mb": stat(440.0, 439.0, 441.0),
            "stack_idle_rss_mb": {"phoenix": stat(450.0, 449.0, 452.0), "ai-demo": stat(95.0, 94.0, 96.0)}
            | {"total": stat(545.0, 543.0, 548.0)},
        },
        "ingestion": {
            "sqlite": {
                "entry": {"pipeline": "http://127.0.0.1:1/v1/traces", "direct": "http://127.0.0.1:1/v1/traces"},
                "paths": ["pipeline", "direct"],
                "idle_rss_mb": 451.0,
                "runs": runs,
                "summary": {"1k@100/s": {**paths, "pipeline_over_direct": ratios}},
            },
            "postgres": {"skipped": "no initdb here"},
        },
        "memory_variant": {
            "variant": {"PHOENIX_ENABLE_MCP_SERVER": "false"},
            "variant_idle_mb": stat(420.0, 420.0, 420.0, n=1),
            "baseline_idle_mb": stat(451.0, 450.0, 452.0, n=4),
            "variant_over_baseline": stat(420 / 451, 420 / 451, 420 / 451, n=1),
        },
        "overhead": {"requests_per_round": 60, "rounds": [{}, {}, {}], "exported_to": "http://127.0.0.1:1", **overhead},
    }


def test_markdown_has_a_row_per_measure_and_says_what_was_skipped() -> None:
    text = markdown(results())
    assert "| Phoenix alone (`PHOENIX_ALLOW_EXTERNAL_RESOURCES=false phoenix serve`, fresh working dir" in text
    assert "until /healthz answers) | 10.0 (9.5-11.0) | 3 |" in text
    assert "until all healthy and the demo's model priced) | 20.0 (18.0-25.0) | 3 |" in text
    assert "| **cold `invoke up` / Phoenix alone** (each pair back to back) | **x1.08 (1.05-1.30)** | 3 |" in text
    assert "| Phoenix alone, idle | 440 (439-441) |" in text
    assert "| stack idle after cold `invoke up`: ai-demo | 95 (94-96) |" in text
    assert "| stack idle after cold `invoke up`: the whole stack (every component) | 545 (543-548) |" in text
    assert "| `invoke verify` | 0.8 (0.7-0.9) (`invoke verify` exited 1: phoenix.volume (fail)) | 3 |" in text
    assert "| sqlite | 1k@100/s | pipeline | 160 (150-170) | 0 | 0.50 (0.40-0.60) |" in text
    assert "postgres: skipped (no initdb here)." in text
    assert "so this ratio is run-to-run noise" in text  # pipeline and direct were the same URL
    assert "| Simple / Batch | x2.00 (1.90-2.10) | x2.00 (1.90-2.10) |" in text
    assert "| sqlite: peak while ingesting those 10k spans | 480 |" in text
    assert "| sqlite: right after they are all queryable (10990 spans stored) | 470 |" in text
    assert "| sqlite: after all runs (10990 spans stored) | 470 |" in text
    assert "| idle, with PHOENIX_ENABLE_MCP_SERVER=false | 420: x0.93 of the idle rows above (451 (450-452)) |" in text


def test_bringup_only_results_have_no_ingestion_or_overhead_section() -> None:
    partial = {key: value for key, value in results().items() if key not in ("ingestion", "overhead")}
    text = markdown(partial | {"mode": "bringup"})
    assert "**cold `invoke up` / Phoenix alone**" in text and "| Phoenix alone, idle |" in text
    assert "## Ingestion" not in text and "## Demo" not in text
