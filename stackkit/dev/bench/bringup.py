"""Bring-up: the user's commands (`invoke up`, `invoke up` again, `invoke verify`) timed as subprocesses,
each repetition in a fresh state folder on free ports (stackkit/dev/smoke.py's isolation)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stackkit.dev.smoke import SmokeFailure, invoke, smoke_environment
from stackkit.settings import REPO_ROOT, load_settings

from .memory import idle_rss_mb
from .stats import summary


def has_task(name: str) -> bool:
    """Whether `invoke --list` offers the task (verify is being written while this bench is)."""
    listed = subprocess.run([sys.executable, "-m", "invoke", "--list"], cwd=REPO_ROOT, capture_output=True, text=True)
    return any(line.split()[:1] == [name] for line in listed.stdout.splitlines())


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
    """Time cold up, warm up and verify `repetitions` times; the last stack is left running (and its
    environment returned) when keep_last, so the ingestion benchmark can reuse it."""
    verify_available = has_task("verify")
    runs: list[dict[str, Any]] = []
    kept = None
    for repetition in range(repetitions):
        env = new_stack_env()
        keep = keep_last and repetition == repetitions - 1
        try:
            cold_s, cold = timed_invoke(env, "up")
            if cold != "ok":
                raise SmokeFailure(f"cold `invoke up` failed: {cold}")
            # Phoenix is measured while the demo idles: this is the stack at rest.
            idle_mb = idle_rss_mb(load_settings(environ=env))
            warm_s, warm = timed_invoke(env, "up")
            verify_s, verify = timed_invoke(env, "verify") if verify_available else (None, "not available")
            if verify_available and verify != "ok":
                verify += ": " + ", ".join(failed_checks(env))
            runs.append(
                {
                    "cold_up_s": round(cold_s, 2),
                    "warm_up_s": round(warm_s, 2) if warm == "ok" else None,
                    "warm_up": warm,
                    "verify_s": round(verify_s, 2) if verify_s is not None else None,
                    "verify": verify,
                    "phoenix_idle_rss_mb": idle_mb,
                }
            )
            out(f"bring-up {repetition + 1}/{repetitions}: {runs[-1]}")
            if keep:
                kept = env
        finally:
            if not keep or kept is None:
                tear_down(env)
    result = {
        "runs": runs,
        "verify_available": verify_available,
        "cold_up_s": summary([run["cold_up_s"] for run in runs]),
        "warm_up_s": summary([run["warm_up_s"] for run in runs]),
        "verify_s": summary([run["verify_s"] for run in runs]),
        "phoenix_idle_rss_mb": summary([run["phoenix_idle_rss_mb"] for run in runs]),
    }
    return result, kept
