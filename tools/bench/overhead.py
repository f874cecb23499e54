"""Tracing overhead of the demo: /chat latency with tracing off, on with the Batch processor, on with the
Simple processor. The three demos run side by side (uvicorn on free ports, the command and environment
the native runtime gives the stack's demo, same offline provider) and are driven one at a time,
sequentially (concurrency 1, so latency is not queueing), in a rotating order every round."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from stackkit.commands.traffic import run_traffic
from stackkit.core.health import wait_healthy
from stackkit.core.ports import free_ports
from stackkit.core.processes import ManagedProcess
from stackkit.core.setting_values import AI_DEMO_NAME
from stackkit.core.settings import Settings
from stackkit.runtimes.native import NativeRuntime

from .stats import paired_ratios, summary

CONFIGS = {
    "off": {"AI_DEMO_TRACING": "false"},
    "batch": {"AI_DEMO_TRACING": "true", "AI_DEMO_SPAN_PROCESSOR": "batch"},
    "simple": {"AI_DEMO_TRACING": "true", "AI_DEMO_SPAN_PROCESSOR": "simple"},
}
WARMUP_REQUESTS = 10  # first requests pay for lazy imports and new connections


def _has_pid(process: ManagedProcess) -> bool:
    return process.pid() is not None


def run(settings: Settings, rounds: int, requests_per_round: int, out: Callable[[str], None]) -> dict[str, Any]:
    """`settings` are those of a running stack: its rendered demo environment says where spans go (Alloy
    when it runs, else Phoenix), and the demos send there, into a project of their own."""
    workdir = Path(tempfile.mkdtemp(prefix="stackkit-bench-demo-"))
    stack_runtime = NativeRuntime(settings)
    base_env = stack_runtime.environment(AI_DEMO_NAME)
    demos: dict[str, tuple[ManagedProcess, str]] = {}
    try:
        for (name, extra), port in zip(CONFIGS.items(), free_ports(len(CONFIGS)), strict=True):
            process = ManagedProcess(f"demo-{name}", workdir / f"{name}.pid", workdir / f"{name}.log")
            command = NativeRuntime(dataclasses.replace(settings, ai_demo_port=port)).command(AI_DEMO_NAME)
            # Metrics off for all three: only the cost of tracing is compared.
            env = base_env | extra | {"AI_DEMO_PROJECT_NAME": "bench-overhead", "AI_DEMO_EXPORT_METRICS": "false"}
            process.start(command, env, cwd=workdir)
            demos[name] = (process, f"http://127.0.0.1:{port}")
        for name, (process, url) in demos.items():
            probe = wait_healthy(f"{url}/healthz", 180, still_running=partial(_has_pid, process))
            if not probe.ok:
                log = (workdir / f"{name}.log").read_text()[-2000:]
                raise RuntimeError(f"demo with tracing {name} did not start: {probe.detail}\n{log}")
            run_traffic(url, requests=WARMUP_REQUESTS, sessions=1, concurrency=1, progress=False)

        names = list(CONFIGS)
        per_round: list[dict[str, dict[str, float | None]]] = []
        for number in range(rounds):
            order = names[number % len(names) :] + names[: number % len(names)]
            measured = {}
            for name in order:
                report = run_traffic(
                    demos[name][1], requests=requests_per_round, sessions=1, concurrency=1, progress=False
                )
                measured[name] = {"p50_ms": report.p50_ms, "p95_ms": report.p95_ms, "failed": report.failed}
            per_round.append(measured)
            out(f"overhead round {number + 1}/{rounds}: {measured}")
    finally:
        for process, _ in demos.values():
            process.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    def column(name: str, key: str) -> list[float | None]:
        return [measured[name][key] for measured in per_round]

    return {
        "rounds": per_round,
        "requests_per_round": requests_per_round,
        "exported_to": base_env.get("AI_DEMO_OTLP_ENDPOINT", ""),
        **{f"{name}_{key}": summary(column(name, key)) for name in names for key in ("p50_ms", "p95_ms")},
        "batch_over_off_p50": summary(paired_ratios(column("batch", "p50_ms"), column("off", "p50_ms"))),
        "batch_over_off_p95": summary(paired_ratios(column("batch", "p95_ms"), column("off", "p95_ms"))),
        "simple_over_batch_p50": summary(paired_ratios(column("simple", "p50_ms"), column("batch", "p50_ms"))),
        "simple_over_batch_p95": summary(paired_ratios(column("simple", "p95_ms"), column("batch", "p95_ms"))),
    }
