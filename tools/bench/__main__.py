"""`python -m tools.bench [--quick | --bringup-only]` (what `nox -s bench` runs): every benchmark on the
native runtime, then bench/results/latest.json, latest.md and ingestion-10k.png (--quick: quick.json, quick.md
and quick-ingestion-1k.png, not meant to be committed; --bringup-only: Phoenix alone against cold `invoke up`,
and the memory figures, three times, into bringup.json and bringup.md)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from stackkit.core.setting_values import OTELCOL_NAME, PHOENIX_NAME
from stackkit.core.settings import REPO_ROOT, load_settings
from tools import local_postgres
from tools.smoke import invoke

from . import bringup, collector, ingestion, memory, overhead
from .plot import ingestion_plot
from .report import load_average, machine_info, markdown


@dataclass(frozen=True)
class Plan:
    """How much of everything: the full run must stay well under 15 minutes on a 2-core machine."""

    prefix: str
    bringup_repetitions: int
    memory_variant_runs: int
    scenarios: tuple[ingestion.Scenario, ...]
    overhead_rounds: int
    overhead_requests: int


# 1k at 100/s: below Phoenix's ingest ceiling (~150-200 spans/s on SQLite), so it measures the latency of a
# stack that keeps up. 10k at 500/s: above it, so it measures the ceiling and shows a backlog building and
# draining. The 1k runs go first: after a 10k backlog Phoenix is slower for a while, which would blur them.
FULL = Plan("latest", 3, 1, (ingestion.Scenario(1_000, 100, 3), ingestion.Scenario(10_000, 500, 1)), 3, 40)
# Three bring-ups even when quick: the cold up / Phoenix alone ratio is a median of three pairs.
QUICK = Plan("quick", 3, 1, (ingestion.Scenario(1_000, 100, 1),), 1, 30)
BRINGUP_ONLY = Plan("bringup", 3, 0, (), 0, 0)
# On PostgreSQL only the app's path runs: a 10k run takes 1-1.5 min here, and what pipeline/direct measures
# (the Alloy hop, or natively the noise) is the database's business only through Phoenix's ceiling.
POSTGRES_PATHS = ("pipeline",)


class _Log:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self, line: str) -> None:
        print(f"[bench {time.monotonic() - self.start:6.0f}s] {line}", flush=True)


def start_postgres() -> tuple[Any, str]:
    """A throwaway PostgreSQL (initdb + pg_ctl on a free loopback port) and a fresh database in it;
    (None, why not) when that is not possible here."""
    try:
        server = local_postgres.start_postgres()
    except (local_postgres.PostgresUnavailable, RuntimeError) as error:
        return None, str(error).splitlines()[0]
    return server, server.create_database()


def ingestion_on_postgres(plan: Plan, log: _Log) -> dict[str, Any]:
    server, url = start_postgres()
    if server is None:
        return {"skipped": url}
    env = bringup.new_stack_env(PHOENIX_DB="postgres", PHOENIX_SQL_DATABASE_URL=url)
    try:
        # No demo: nothing else should compete with Phoenix for the two cores.
        invoke(env, "up", "--only", "phoenix,alloy")
        return ingestion.suite(load_settings(environ=env), "postgres", list(plan.scenarios), log, POSTGRES_PATHS)
    finally:
        bringup.tear_down(env)
        server.stop()


def collector_overload(seconds: float, out: Path) -> int:
    """bench/results/collector.json and .md (collector-quick.* for a run shorter than the full one)."""
    log = _Log()
    prefix = "collector" if seconds >= collector.FULL_SECONDS else "collector-quick"
    env = bringup.new_stack_env(STACK_COLLECTOR=OTELCOL_NAME)
    try:
        # No demo: nothing else should compete with Phoenix and the Collector for the cores.
        invoke(env, "up", "--only", f"{PHOENIX_NAME},{OTELCOL_NAME}")
        results: dict[str, Any] = {
            "command": f"python -m tools.bench --collector --seconds {seconds:g}",
            "machine": machine_info(),
            "load_average": {"start": load_average()},
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        results |= collector.run(load_settings(environ=env), seconds, log)
        results["load_average"]["end"] = load_average()
    finally:
        bringup.tear_down(env)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{prefix}.json").write_text(json.dumps(results, indent=1) + "\n")
    table = collector.markdown(results)
    (out / f"{prefix}.md").write_text(table)
    log(f"wrote {out}/{prefix}.json and {prefix}.md")
    print(table)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, 1k spans only")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--bringup-only", action="store_true", help="Phoenix alone vs cold `invoke up` and the memory figures, n=3"
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results")
    parser.add_argument(
        "--collector",
        action="store_true",
        help="only the overload benchmark: 2 x Phoenix's ceiling through the Collector versus straight to Phoenix",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=collector.FULL_SECONDS,
        help=f"with --collector: seconds of offer per path (default {collector.FULL_SECONDS})",
    )
    args = parser.parse_args(argv)
    if args.collector:
        return collector_overload(args.seconds, args.out)
    plan = BRINGUP_ONLY if args.bringup_only else QUICK if args.quick else FULL
    log = _Log()
    can_plot = importlib.util.find_spec("matplotlib") is not None
    if not can_plot:
        log("matplotlib is not installed: the JSON and the table will be written, the PNG will not")
    results: dict[str, Any] = {
        "mode": plan.prefix if plan is not FULL else "full",
        "command": " ".join(["python -m tools.bench", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine_info(),
        "load_average": {"start": load_average()},
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }

    log("bring-up: Phoenix alone, then cold up, warm up, verify, in fresh state folders")
    results["bringup"], sqlite_env = bringup.run(plan.bringup_repetitions, log, keep_last=plan is not BRINGUP_ONLY)
    if plan is BRINGUP_ONLY:
        return finish(results, plan, args.out, log, can_plot=False)
    if sqlite_env is None:
        raise SystemExit("no bring-up succeeded: nothing to measure ingestion on (see the lines above)")
    results["ingestion"] = {}
    try:
        # The last bring-up's stack (SQLite, the default) is reused: a fresh Phoenix costs 10-40 s here.
        settings = load_settings(environ=sqlite_env)
        log("ingestion on SQLite")
        results["ingestion"]["sqlite"] = ingestion.suite(settings, "sqlite", list(plan.scenarios), log)
        log("demo overhead: tracing off / Batch / Simple")
        results["overhead"] = overhead.run(settings, plan.overhead_rounds, plan.overhead_requests, log)
    finally:
        bringup.tear_down(sqlite_env)
    if args.no_postgres:
        results["ingestion"]["postgres"] = {"skipped": "--no-postgres"}
    else:
        log("ingestion on PostgreSQL")
        results["ingestion"]["postgres"] = ingestion_on_postgres(plan, log)
    log(f"memory: idle Phoenix with {memory.PHOENIX_DEFAULT_FEATURES}")
    baseline = [run["phoenix_idle_rss_mb"] for run in results["bringup"]["runs"]]
    baseline += [data["idle_rss_mb"] for data in results["ingestion"].values() if "idle_rss_mb" in data]
    results["memory_variant"] = memory.idle_with(
        memory.PHOENIX_DEFAULT_FEATURES, plan.memory_variant_runs, baseline, log
    )
    return finish(results, plan, args.out, log, can_plot)


def finish(results: dict[str, Any], plan: Plan, out: Path, log: _Log, can_plot: bool) -> int:
    results["load_average"]["end"] = load_average()
    results["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results["duration_s"] = round(time.monotonic() - log.start, 1)
    write(results, plan, out, can_plot)
    log(f"wrote {out}/{plan.prefix}.json, {plan.prefix}.md" + (" and the plot" if can_plot else ""))
    print(markdown(results))
    return 0


def write(results: dict[str, Any], plan: Plan, out: Path, can_plot: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{plan.prefix}.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / f"{plan.prefix}.md").write_text(markdown(results))
    if not can_plot:
        return
    largest = max(scenario.spans for scenario in plan.scenarios)
    runs = {
        f"{database} ({run['path']} {run['scenario']})": run
        for database, data in results["ingestion"].items()
        for run in data.get("runs", [])
        if run["spans"] == largest and run["repetition"] == 1 and run["path"] == "pipeline"
    }
    name = "ingestion-10k.png" if plan is FULL else f"{plan.prefix}-ingestion-{largest // 1000}k.png"
    rate = next(scenario.rate for scenario in plan.scenarios if scenario.spans == largest)
    title = f"{largest:,} spans offered at {rate:g}/s to the app-facing entry point, until queryable in Phoenix"
    ingestion_plot(runs, title, out / name)


if __name__ == "__main__":
    sys.exit(main())
