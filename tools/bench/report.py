"""The machine's details, and the short markdown table written next to the JSON."""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from stackkit.core.setting_values import PHOENIX_NAME


def machine_info() -> dict[str, Any]:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    try:
        phoenix = version("arize-phoenix")
    except PackageNotFoundError:
        phoenix = "not installed"
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(int(meminfo["MemTotal"].split()[0]) / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        PHOENIX_NAME: phoenix,
    }


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: on a shared 2-core machine, how busy the neighbours were."""
    return [round(value, 2) for value in os.getloadavg()]


def fmt(stat: dict[str, Any] | None, digits: int = 1, unit: str = "") -> str:
    """'12.3 (11.0-14.1)' for a median and its range; just '12.3' when all agree (or n=1); 'n/a' for none."""
    if stat is None:
        return "n/a"
    median, low, high = (f"{stat[key]:.{digits}f}" for key in ("median", "min", "max"))
    if low == high:  # as shown: 451.7 and 451.8 MB are both "452"
        return median + unit
    return f"{median}{unit} ({low}-{high})"


def ratio(stat: dict[str, Any] | None) -> str:
    return "n/a" if stat is None else "x" + fmt(stat, 2)


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        f"# stackkit benchmarks ({results['mode']})",
        "",
        f"`{results['command']}`, {results['finished_at']}, {results['duration_s'] / 60:.1f} min. "
        f"Native runtime. {machine['cores']} cores ({machine['cpu_model']}), {machine['memory_gb']} GB RAM, "
        f"{machine['os']}, Python {machine['python']}, Phoenix {machine['phoenix']}. "
        f"Load average (1/5/15 min) at start {results['load_average']['start']}, "
        f"at end {results['load_average']['end']}: a shared machine.",
        "",
        "Median (min-max) over the repetitions; a ratio is computed per pair measured back to back, "
        "then summarized the same way.",
        "",
    ]
    lines += _bringup(results["bringup"])
    lines += _memory(results)
    if "ingestion" in results:  # not with --bringup-only
        lines += _ingestion(results["ingestion"])
        lines += _overhead(results["overhead"])
    return "\n".join(lines) + "\n"


def _bringup(bringup: dict[str, Any]) -> list[str]:
    verify = fmt(bringup["verify_s"]) if bringup["verify_available"] else "not available"
    failed_verify = sorted({run["verify"] for run in bringup["runs"] if run["verify"] not in ("ok", "not available")})
    note = f" ({'; '.join(failed_verify)})" if failed_verify else ""
    n = len(bringup["runs"])
    alone_env = " ".join(f"{key}={value}" for key, value in bringup.get("phoenix_alone_env", {}).items())
    return [
        "## Bring-up (seconds)",
        "",
        "| Command | Seconds | n |",
        "| --- | --- | --- |",
        f"| Phoenix alone (`{alone_env} phoenix serve`, fresh working dir, until /healthz answers) "
        f"| {fmt(bringup.get('phoenix_alone_s'))} | {n} |",
        f"| cold `invoke up` (fresh state folder, until all healthy and the demo's model priced) "
        f"| {fmt(bringup['cold_up_s'])} | {n} |",
        f"| **cold `invoke up` / Phoenix alone** (each pair back to back) "
        f"| **{ratio(bringup.get('cold_up_over_phoenix_alone'))}** | {n} |",
        f"| warm `invoke up` (already healthy: no-op) | {fmt(bringup['warm_up_s'])} | {n} |",
        f"| `invoke verify` | {verify}{note} | {n} |",
        "",
    ]


def _memory(results: dict[str, Any]) -> list[str]:
    lines = [
        "## Memory (VmRSS, MB)",
        "",
        "| When | MB |",
        "| --- | --- |",
        f"| Phoenix alone, idle | {fmt(results['bringup'].get('phoenix_alone_idle_rss_mb'), 0)} |",
        f"| idle after cold `invoke up` | {fmt(results['bringup']['phoenix_idle_rss_mb'], 0)} |",
    ]
    for name, stat in results["bringup"].get("stack_idle_rss_mb", {}).items():
        label = "the whole stack (every component)" if name == "total" else name
        lines.append(f"| stack idle after cold `invoke up`: {label} | {fmt(stat, 0)} |")
    for database, data in results.get("ingestion", {}).items():
        if "skipped" in data:
            continue
        lines.append(f"| {database}: idle before ingestion | {fmt(_one(data['idle_rss_mb']), 0)} |")
        first_10k = next((run for run in data["runs"] if run["spans"] == 10_000), None)
        if first_10k:
            stored = first_10k["stored_before"] + first_10k["read_back"]
            lines += [
                f"| {database}: before the first 10k-span run ({first_10k['stored_before']} spans stored) "
                f"| {first_10k['rss_before_mb']:.0f} |",
                f"| {database}: peak while ingesting those 10k spans | {first_10k['peak_rss_mb']:.0f} |",
                f"| {database}: right after they are all queryable ({stored} spans stored) "
                f"| {first_10k['rss_after_mb']:.0f} |",
            ]
        last = data["runs"][-1]
        total = last["stored_before"] + last["read_back"]
        lines.append(f"| {database}: after all runs ({total} spans stored) | {last['rss_after_mb']:.0f} |")
    variant = results.get("memory_variant")
    if variant:
        settings = " ".join(f"{key}={value}" for key, value in variant["variant"].items())
        lines.append(
            f"| idle, with {settings} | {fmt(variant['variant_idle_mb'], 0)}: "
            f"{ratio(variant['variant_over_baseline'])} of the idle rows above "
            f"({fmt(variant['baseline_idle_mb'], 0)}) |"
        )
    return [*lines, ""]


def _one(value: float | None) -> dict[str, Any] | None:
    return None if value is None else {"median": value, "min": value, "max": value, "n": 1}


def _ingestion(ingestion: dict[str, Any]) -> list[str]:
    lines = [
        "## Ingestion (spans through the app-facing entry point until queryable in Phoenix)",
        "",
    ]
    for database, data in ingestion.items():
        if "skipped" in data:
            lines += [f"{database}: skipped ({data['skipped']}).", ""]
    lines += [
        "Throughput: spans read back / (moment the last became queryable - first export). Lost: sent - read "
        "back once the count stopped growing. Latency: export of a sampled trace until the REST API returns "
        "all 5 of its spans (polled every 0.2 s). Backlog: accepted - queryable, every 0.5 s.",
        "",
        "| DB | Spans @ offered rate | Path | Queryable spans/s | Lost | Export→queryable p50 (s) "
        "| p95 (s) | Peak backlog | n |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    ratio_lines = []
    for database, data in ingestion.items():
        if "skipped" in data:
            continue
        for scenario, paths in data["summary"].items():
            for path in data["paths"]:
                stats = paths[path]
                lines.append(
                    f"| {database} | {scenario} | {path} | {fmt(stats['throughput'], 0)} | {fmt(stats['loss'], 0)} "
                    f"| {fmt(stats['latency_p50_s'], 2)} | {fmt(stats['latency_p95_s'], 2)} "
                    f"| {fmt(stats['peak_backlog'], 0)} | {stats['throughput']['n'] if stats['throughput'] else 0} |"
                )
            ratios = paths["pipeline_over_direct"]
            if ratios is None:
                ratio_lines.append(f"| {database} | {scenario} | only {', '.join(data['paths'])} ran | | |")
                continue
            ratio_lines.append(
                f"| {database} | {scenario} | {ratio(ratios['throughput'])} | {ratio(ratios['latency_p50_s'])} "
                f"| {ratio(ratios['latency_p95_s'])} |"
            )
    same_path = all(
        data["entry"]["pipeline"] == data["entry"]["direct"] for data in ingestion.values() if "entry" in data
    )
    lines += [
        "",
        "Pipeline / direct (same spans, back to back"
        + (
            "; natively without an `alloy` binary both are Phoenix's /v1/traces, so this ratio is run-to-run noise):"
            if same_path
            else "; pipeline = Alloy's OTLP/HTTP receiver, direct = Phoenix's /v1/traces):"
        ),
        "",
        "| DB | Scenario | Throughput | p50 | p95 |",
        "| --- | --- | --- | --- | --- |",
        *ratio_lines,
        "",
    ]
    return lines


def _overhead(overhead: dict[str, Any]) -> list[str]:
    labels = {"off": "tracing off", "batch": "tracing on, Batch processor", "simple": "tracing on, Simple processor"}
    lines = [
        f"## Demo `/chat` latency (offline provider, {overhead['requests_per_round']} sequential requests per "
        f"round, {len(overhead['rounds'])} rounds, spans to {overhead['exported_to']})",
        "",
        "| Demo | p50 (ms) | p95 (ms) |",
        "| --- | --- | --- |",
    ]
    for name, label in labels.items():
        lines.append(f"| {label} | {fmt(overhead[f'{name}_p50_ms'], 0)} | {fmt(overhead[f'{name}_p95_ms'], 0)} |")
    lines += [
        "",
        "| Ratio | p50 | p95 |",
        "| --- | --- | --- |",
        f"| Batch / off | {ratio(overhead['batch_over_off_p50'])} | {ratio(overhead['batch_over_off_p95'])} |",
        f"| Simple / Batch | {ratio(overhead['simple_over_batch_p50'])} | {ratio(overhead['simple_over_batch_p95'])} |",
        "",
    ]
    return lines
