"""Bring-up: the user's commands (`invoke up`, `invoke up` again, `invoke verify`) timed as subprocesses,
each repetition in a fresh state folder on free ports (tools/smoke.py's isolation), right after
Phoenix alone (`phoenix serve` in a fresh working dir until /healthz answers): the ratio of each pair is what
the stack adds to Phoenix's own start, with the machine's load the same for both."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stackkit.core.health import wait_healthy
from stackkit.core.ports import free_ports
from stackkit.core.settings import REPO_ROOT, load_settings
from stackkit.phoenix import versions as phoenix_env
from tools.smoke import SmokeFailure, invoke, smoke_environment

from .memory import SETTLE_SECONDS, idle_rss_mb, rss_mb, stack_rss_mb
from .stats import paired_ratios, summary

# `invoke up`'s progress lines: "[  12.3s] phoenix: healthy (...)".
PROGRESS_LINE = re.compile(r"^\[\s*(\d+(?:\.\d+)?)s\] (.*)$")
# Phoenix alone gets what it needs to start offline and nothing else of the stack's: with external resources
# allowed it tries to download assets here, fails and starts slower, which would flatter the ratio.
PHOENIX_ALONE_ENV = {"PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false"}
PHOENIX_ALONE_TIMEOUT_S = 300.0


def has_task(name: str) -> bool:
    """Whether `invoke --list` offers the task (verify is being written while this bench is)."""
    listed = subprocess.run([sys.executable, "-m", "invoke", "--list"], cwd=REPO_ROOT, capture_output=True, text=True)
    return any(line.split()[:1] == [name] for line in listed.stdout.splitlines())


def phoenix_alone(version: str) -> dict[str, Any]:
    """`phoenix serve` of PHOENIX_VERSION's environment, in a fresh working dir on free loopback ports, until
    /healthz answers; then its idle RSS. No PHOENIX_* of the calling shell reaches it."""
    folder = Path(tempfile.mkdtemp(prefix="stackkit-bench-phoenix-"))
    http_port, grpc_port = free_ports(2)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PHOENIX_", "OTEL_"))}
    env |= PHOENIX_ALONE_ENV | {
        "PHOENIX_WORKING_DIR": str(folder),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(http_port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
    }
    phoenix = phoenix_env.server_program(version)
    started = time.monotonic()
    with open(folder / "phoenix.log", "wb") as log:
        process = subprocess.Popen([str(phoenix), "serve"], env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    try:
        probe = wait_healthy(
            f"http://127.0.0.1:{http_port}/healthz", PHOENIX_ALONE_TIMEOUT_S, lambda: process.poll() is None
        )
        healthy_s = time.monotonic() - started
        if not probe.ok:
            return {"healthz_s": None, "outcome": probe.detail, "idle_rss_mb": None}
        time.sleep(SETTLE_SECONDS)
        return {"healthz_s": round(healthy_s, 2), "outcome": "ok", "idle_rss_mb": rss_mb(process.pid)}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def timed_up(env: dict[str, str]) -> tuple[float, str, list[tuple[float, str]]]:
    """`invoke up` timed, its output shown as it comes, and its progress lines as (seconds, text)."""
    print("\n$ invoke up", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", "up"], env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    steps = []
    for line in process.stdout:
        print(line, end="", flush=True)
        if match := PROGRESS_LINE.match(line.rstrip("\n")):
            steps.append((float(match[1]), match[2]))
    returncode = process.wait()
    took = time.monotonic() - started
    return took, "ok" if returncode == 0 else f"`invoke up` exited {returncode}", steps


def timed_invoke(env: dict[str, str], *args: str) -> tuple[float, str]:
    """Seconds `invoke <args>` took, and "ok" or why it failed (a failed verify is timed all the same)."""
    started = time.monotonic()
    try:
        invoke(env, *args)
        outcome = "ok"
    except SmokeFailure as failure:
        outcome = str(failure)
    return time.monotonic() - started, outcome


def failed_checks(env: dict[str, str]) -> list[str]:
    """Ids of the checks `invoke verify` fails or warns on (asked again with --json, untimed: the timed run
    prints for people). In a bench state folder under /tmp, phoenix.volume fails by design: data there does
    not survive a reboot."""
    answer = subprocess.run(
        [sys.executable, "-m", "invoke", "verify", "--json"], env=env, cwd=REPO_ROOT, capture_output=True, text=True
    )
    try:
        checks = json.loads(answer.stdout)
    except ValueError:
        return [f"unreadable --json output (exit {answer.returncode})"]
    return [f"{check['id']} ({check['status']})" for check in checks if check["status"] in ("fail", "warn")]


def new_stack_env(runtime: str = "native", **extra: str) -> dict[str, str]:
    state_dir = Path(tempfile.mkdtemp(prefix="stackkit-bench-")) / "state"
    return smoke_environment(state_dir, runtime) | extra


def tear_down(env: dict[str, str]) -> None:
    """`invoke down`, then the temporary folder; never raises (it runs in `finally` blocks)."""
    subprocess.run([sys.executable, "-m", "invoke", "down"], env=env, cwd=REPO_ROOT, check=False)
    shutil.rmtree(Path(env["STACK_STATE_DIR"]).parent, ignore_errors=True)


def run(
    repetitions: int, out: Callable[[str], None], keep_last: bool = True
) -> tuple[dict[str, Any], dict[str, str] | None]:
    """`repetitions` times: Phoenix alone, then cold up, warm up and verify; the last stack is left running
    (and its environment returned) when keep_last, so the ingestion benchmark can reuse it."""
    verify_available = has_task("verify")
    runs: list[dict[str, Any]] = []
    kept = None
    for repetition in range(repetitions):
        env = new_stack_env()
        keep = keep_last and repetition == repetitions - 1
        try:
            alone = phoenix_alone(load_settings(environ=env).phoenix_version)
            cold_s, cold, steps = timed_up(env)
            if cold != "ok":
                raise SmokeFailure(f"cold `invoke up` failed: {cold}")
            # Phoenix is measured while the demo idles: this is the stack at rest.
            idle_mb = idle_rss_mb(load_settings(environ=env))
            stack_mb = stack_rss_mb(load_settings(environ=env))
            warm_s, warm = timed_invoke(env, "up")
            verify_s, verify = timed_invoke(env, "verify") if verify_available else (None, "not available")
            if verify_available and verify != "ok":
                verify += ": " + ", ".join(failed_checks(env))
            runs.append(
                {
                    "phoenix_alone_s": alone["healthz_s"],
                    "phoenix_alone": alone["outcome"],
                    "cold_up_s": round(cold_s, 2),
                    "cold_up_steps": steps,
                    "warm_up_s": round(warm_s, 2) if warm == "ok" else None,
                    "warm_up": warm,
                    "verify_s": round(verify_s, 2) if verify_s is not None else None,
                    "verify": verify,
                    "phoenix_alone_idle_rss_mb": alone["idle_rss_mb"],
                    "phoenix_idle_rss_mb": idle_mb,
                    "stack_idle_rss_mb": stack_mb,
                    "load_average": [round(value, 2) for value in os.getloadavg()],
                }
            )
            out(f"bring-up {repetition + 1}/{repetitions}: {_one_line(runs[-1])}")
            if keep:
                kept = env
        finally:
            if not keep or kept is None:
                tear_down(env)
    ratios = paired_ratios([run["cold_up_s"] for run in runs], [run["phoenix_alone_s"] for run in runs])
    ratio = summary(ratios)
    result: dict[str, Any] = {
        "runs": runs,
        "verify_available": verify_available,
        "phoenix_alone_env": PHOENIX_ALONE_ENV,
        "phoenix_alone_s": summary([run["phoenix_alone_s"] for run in runs]),
        "cold_up_s": summary([run["cold_up_s"] for run in runs]),
        "cold_up_over_phoenix_alone": ratio,
        "warm_up_s": summary([run["warm_up_s"] for run in runs]),
        "verify_s": summary([run["verify_s"] for run in runs]),
        "phoenix_alone_idle_rss_mb": summary([run["phoenix_alone_idle_rss_mb"] for run in runs]),
        "phoenix_idle_rss_mb": summary([run["phoenix_idle_rss_mb"] for run in runs]),
        "stack_idle_rss_mb": {
            name: summary([run["stack_idle_rss_mb"].get(name) for run in runs])
            for name in dict.fromkeys(key for run in runs for key in run["stack_idle_rss_mb"])
        },
    }
    if ratio:
        out(
            f"bring-up: cold `invoke up` / Phoenix alone = x{ratio['median']:.2f} "
            f"(median of {len(ratios)} pairs; each pair back to back)"
        )
    return result, kept


def _one_line(run: dict[str, Any]) -> str:
    ratio = f"x{run['cold_up_s'] / run['phoenix_alone_s']:.2f}" if run["phoenix_alone_s"] else "n/a"
    stack = ", ".join(f"{name} {mb:.0f}" for name, mb in run["stack_idle_rss_mb"].items() if mb is not None)
    return (
        f"Phoenix alone {run['phoenix_alone_s']} s ({run['phoenix_alone']}), cold up {run['cold_up_s']} s "
        f"(ratio {ratio}), warm up {run['warm_up_s']} s, verify {run['verify_s']} s; idle RSS MB: Phoenix alone "
        f"{run['phoenix_alone_idle_rss_mb']}, in the stack {run['phoenix_idle_rss_mb']}; stack: {stack}; "
        f"load {run['load_average']}"
    )
