"""`python -m tools.bench.first_trace [--runs N]`: a newcomer's first minutes, timed.

Each run: `git clone` of this repository into a temporary folder -> `python3 bootstrap.py` (environment ready)
-> `.venv/bin/invoke up` (stack healthy) -> one POST /chat to the demo -> that trace queryable through Phoenix's
REST API. It runs with Debian's own python3 first on a stock PATH (no uv on it), empty uv and pip caches, a
fresh state folder and free ports, on the native runtime; every run is torn down (`invoke down --volumes --yes`)
and its folder removed. Writes bench/results/first-trace.json and first-trace.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

from stackkit.core.ports import free_ports
from stackkit.core.settings import HOST_PORT_SETTINGS, REPO_ROOT, load_settings
from stackkit.phoenix.api import PhoenixClient, PhoenixError

from .report import fmt, load_average, machine_info
from .stats import summary

# A stock Debian/Ubuntu PATH, with the system python3 and without uv: the newcomer's machine.
NEWCOMER_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"
STEPS = {
    "clone": "`git clone`",
    "bootstrap": "`python3 bootstrap.py` (environment ready, empty caches)",
    "up": "`.venv/bin/invoke up` (stack healthy)",
    "chat": "one POST /chat to the demo",
    "queryable": "that trace queryable in Phoenix (REST, all its spans)",
}
# The demo's chain: the request, two LLM calls and the tool call (tools/smoke.py waits for the same).
SPANS_PER_CHAT = 4
TRACE_TIMEOUT_S = 60


class StepFailed(Exception):
    pass


def newcomer_environment(folder: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH", "UV")}
    env_file = folder / "empty.env"
    env_file.write_text("")  # not the developer's .env
    env |= {
        "PATH": NEWCOMER_PATH,
        "UV_CACHE_DIR": str(folder / "uv-cache"),
        "PIP_NO_CACHE_DIR": "1",
        "STACK_ENV_FILE": str(env_file),
        "STACK_STATE_DIR": str(folder / "state"),
        # auto would pick docker whenever a neighbour's engine runs; the newcomer here has none.
        "STACK_RUNTIME": "native",
    }
    env |= dict(zip(HOST_PORT_SETTINGS, map(str, free_ports(len(HOST_PORT_SETTINGS))), strict=True))
    return env


def run_step(command: list[str], env: dict[str, str], cwd: Path, what: str) -> None:
    print(f"\n$ {' '.join(command)}", flush=True)
    result = subprocess.run(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise StepFailed(f"{what}: `{' '.join(command)}` exited {result.returncode}")


def first_chat(env: dict[str, str]) -> str:
    settings = load_settings(environ=env)
    body = {"message": "What's the weather in Lisbon today?", "session_id": f"first-trace-{uuid.uuid4().hex[:8]}"}
    try:
        answer = requests.post(f"{settings.ai_demo_url}/chat", json=body, timeout=30)
        answer.raise_for_status()
        trace_id = answer.json()["trace_id"]
    except (requests.RequestException, ValueError, KeyError) as error:
        raise StepFailed(f"POST /chat: {type(error).__name__}: {str(error)[:160]}") from None
    return trace_id


def wait_queryable(env: dict[str, str], trace_id: str) -> int:
    settings = load_settings(environ=env)
    client = PhoenixClient(settings.phoenix_url)
    try:
        spans = client.wait_for_traces(
            settings.phoenix_project_name, [trace_id], timeout=TRACE_TIMEOUT_S, min_spans_per_trace=SPANS_PER_CHAT
        )[trace_id]
    except (requests.RequestException, PhoenixError) as error:
        raise StepFailed(f"reading the trace from Phoenix: {type(error).__name__}: {str(error)[:160]}") from None
    if len(spans) < SPANS_PER_CHAT:
        raise StepFailed(f"trace {trace_id}: {len(spans)} spans in Phoenix after {TRACE_TIMEOUT_S} s")
    return len(spans)


def one_run(source: Path) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="stackkit-first-trace-"))
    clone = folder / "stackkit"
    env = newcomer_environment(folder)
    seconds: dict[str, float] = {}
    result: dict[str, Any] = {"seconds": seconds}

    def timed(step: str, action):
        started = time.monotonic()
        value = action()
        seconds[step] = round(time.monotonic() - started, 2)
        print(f"[first-trace] {step}: {seconds[step]:.1f} s", flush=True)
        return value

    try:
        timed("clone", lambda: run_step(["git", "clone", "-q", str(source), str(clone)], env, folder, "clone"))
        timed("bootstrap", lambda: run_step(["python3", "bootstrap.py"], env, clone, "bootstrap"))
        timed("up", lambda: run_step([".venv/bin/invoke", "up"], env, clone, "invoke up"))
        trace_id = timed("chat", lambda: first_chat(env))
        result["spans"] = timed("queryable", lambda: wait_queryable(env, trace_id))
        result["total_s"] = round(sum(seconds.values()), 2)
        result["uv_from"] = "PATH" if shutil.which("uv", path=env["PATH"]) else "pip, into .venv"
    except (StepFailed, OSError) as failure:
        result["error"] = str(failure)
    finally:
        if (clone / ".venv" / "bin" / "invoke").exists():
            subprocess.run(
                [".venv/bin/invoke", "down", "--volumes", "--yes"], env=env, cwd=clone, stdin=subprocess.DEVNULL
            )
        shutil.rmtree(folder, ignore_errors=True)
    return result


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median, min and max of each step and of the total, over the runs that completed."""
    complete = [run for run in runs if "error" not in run]
    steps = {step: summary([run["seconds"][step] for run in complete]) for step in STEPS}
    return steps | {"total": summary([run["total_s"] for run in complete])}


def system_python_version() -> str:
    answer = subprocess.run(["python3", "--version"], env={"PATH": NEWCOMER_PATH}, capture_output=True, text=True)
    return answer.stdout.strip()


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    runs = [run for run in results["runs"] if "error" not in run]
    lines = [
        "# First trace: fresh clone to the first demo trace in Phoenix",
        "",
        f"`{results['command']}`, {results['finished_at']}, {len(runs)} of {len(results['runs'])} runs complete. "
        f"{machine['cores']} cores ({machine['cpu_model']}), {machine['memory_gb']} GB RAM, "
        f"{results['system_python']} on PATH={NEWCOMER_PATH} (uv from {results['uv_from']}), empty uv and pip "
        f"caches, native runtime. Load average (1/5/15 min) at start {results['load_average']['start']}, at end "
        f"{results['load_average']['end']}.",
        "",
        "| Step | Seconds, median (min-max) |",
        "| --- | --- |",
    ]
    for step, label in STEPS.items():
        lines.append(f"| {label} | {fmt(results['summary'][step])} |")
    lines.append(f"| **total** | **{fmt(results['summary']['total'])}** |")
    for run in results["runs"]:
        if "error" in run:
            lines += ["", f"Failed run: {run['error']}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--source", type=Path, default=REPO_ROOT, help="repository to clone (default: this one)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    if args.runs < 1:
        print("first-trace: --runs must be at least 1", file=sys.stderr)
        return 2
    if shutil.which("python3", path=NEWCOMER_PATH) is None:
        print(f"first-trace: no python3 on {NEWCOMER_PATH}", file=sys.stderr)
        return 2
    results: dict[str, Any] = {
        "command": " ".join(["python -m tools.bench.first_trace", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine_info(),
        "system_python": system_python_version(),
        "path": NEWCOMER_PATH,
        "load_average": {"start": load_average()},
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "runs": [],
    }
    for number in range(1, args.runs + 1):
        print(f"\n[first-trace] run {number}/{args.runs}", flush=True)
        results["runs"].append(one_run(args.source.resolve()))
        run = results["runs"][-1]
        outcome = run["error"] if "error" in run else f"{run['total_s']:.1f} s in all"
        print(f"[first-trace] run {number}: {outcome}", flush=True)
    complete = [run for run in results["runs"] if "error" not in run]
    results["uv_from"] = complete[0]["uv_from"] if complete else "n/a"
    results["summary"] = summarize(results["runs"])
    results["load_average"]["end"] = load_average()
    results["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "first-trace.json").write_text(json.dumps(results, indent=1) + "\n")
    table = markdown(results)
    (args.out / "first-trace.md").write_text(table)
    print("\n" + table, flush=True)
    return 0 if len(complete) == len(results["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
