"""stackkit/verify/checks/phoenix_health.py on a real Phoenix: a flood past a small PHOENIX_MAX_SPANS_QUEUE_SIZE
makes `phoenix.ingest` fail with the number of rejected requests, counted by Phoenix itself."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from isolation import invoke, isolated_environ
from reliability_helpers import invoke_ok, post, raw_batch

from stackkit.core import ports
from stackkit.core.settings import load_settings
from stackkit.phoenix import metrics as phoenix_metrics


def verify_result(environ: dict[str, str], check_id: str) -> dict[str, str]:
    result = invoke(environ, "verify", "--json")
    return next(item for item in json.loads(result.stdout) if item["id"] == check_id)


def test_a_flood_past_phoenix_queue_fails_phoenix_ingest_with_the_rejections(
    tmp_path: Path, metrics_port_turn: None
) -> None:
    environ = isolated_environ(tmp_path / "state", PHOENIX_MAX_SPANS_QUEUE_SIZE="50", STACK_PHOENIX_METRICS="true")
    port_was_free = ports.is_free(phoenix_metrics.METRICS_PORT)
    try:
        invoke_ok(environ, "up", "--only", "phoenix")
        settings = load_settings(environ=environ)
        if not port_was_free:
            # Someone else's server holds 9090: the stack must leave metrics off and say why.
            result = verify_result(environ, "phoenix.ingest")
            assert result["status"] == "skip" and "port 9090" in result["summary"], result
            pytest.skip(f"port 9090 is held by {ports.holder(9090)}: the flood needs Phoenix's metrics")
        assert "Phoenix's metrics on, port 9090" in (settings.logs_dir / "phoenix.log").read_text()

        url = f"{settings.phoenix_url}/v1/traces"
        bodies = [raw_batch(100) for _ in range(120)]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=12) as pool:
            codes = list(pool.map(lambda body: post(url, body), bodies))
        rejected = codes.count(503)
        print(f"flood: {len(codes)} requests of 100 spans in {time.monotonic() - started:.1f}s, {rejected} got 503")
        assert rejected > 0 and set(codes) <= {200, 503}, codes

        deadline = time.monotonic() + 120  # Phoenix writes what it accepted before the check reads its queue
        while True:
            metrics = phoenix_metrics.scrape(settings, "native")
            assert not isinstance(metrics, str), metrics
            if not metrics.get(phoenix_metrics.SPAN_QUEUE_SIZE) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        result = verify_result(environ, "phoenix.ingest")
        print(result)
        assert result["status"] == "fail", result
        assert f"{rejected} export requests rejected at Phoenix" in result["summary"]
        assert "PHOENIX_MAX_SPANS_QUEUE_SIZE" in result["fix"]
    finally:
        invoke(environ, "down")


def test_phoenix_ingest_passes_on_a_quiet_phoenix(tmp_path: Path, metrics_port_turn: None) -> None:
    if not ports.is_free(phoenix_metrics.METRICS_PORT):
        pytest.skip(f"port 9090 is held by {ports.holder(9090)}")
    environ = isolated_environ(tmp_path / "state", STACK_PHOENIX_METRICS="true")
    try:
        invoke_ok(environ, "up", "--only", "phoenix")
        result = verify_result(environ, "phoenix.ingest")
        assert result["status"] == "pass", result
        assert "no span rejected or failed at Phoenix since it started" in result["summary"]
    finally:
        invoke(environ, "down")
