"""Phoenix's resident memory (VmRSS), read from /proc for the PID in <state>/run/phoenix.pid.

Children are included (summed) in case a future Phoenix forks workers; 20.26.1 runs as one process with
about 15 threads, so today the sum is that one process. Summing RSS counts shared pages once per process,
which over-reports for forked children: fine for "is it growing", wrong for an exact footprint.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from stackkit.components import registry as components
from stackkit.components.component import Plan
from stackkit.core import envfile
from stackkit.core.health import wait_healthy
from stackkit.core.setting_values import PHOENIX_NAME
from stackkit.core.settings import Settings, load_settings
from stackkit.runtimes.native import NativeRuntime
from stackkit.runtimes.render import render
from tools.smoke import smoke_environment

from .stats import summary

# Phoenix's own defaults for the features the stack turns off (stackkit.components.phoenix.LEAN_DEFAULTS): the
# /mcp endpoint and the in-UI agent assistant, both built out of the whole REST API at start.
PHOENIX_DEFAULT_FEATURES = {"PHOENIX_ENABLE_MCP_SERVER": "true", "PHOENIX_DISABLE_AGENT_ASSISTANT": "false"}
# /healthz answers before start-up has quite finished (background tasks, first allocations): let it settle.
SETTLE_SECONDS = 5.0


def _phoenix_running(runtime: NativeRuntime) -> bool:
    return runtime.state(PHOENIX_NAME).running


def vmrss_kb(status_text: str) -> int:
    """The VmRSS line of a /proc/PID/status text, in kB (0 for a kernel thread or a zombie: no line)."""
    for line in status_text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def process_tree(pid: int) -> list[int]:
    """The PID and all its descendants (from /proc/PID/task/*/children)."""
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                pending += [int(child) for child in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
    return tree


def rss_mb(pid: int) -> float | None:
    """Summed VmRSS of the process and its children in MB; None when the process is gone."""
    total_kb = 0
    try:
        for member in process_tree(pid):
            total_kb += vmrss_kb(Path(f"/proc/{member}/status").read_text())
    except (FileNotFoundError, ProcessLookupError):
        return None
    return total_kb / 1024


def phoenix_pid(settings: Settings) -> int | None:
    return NativeRuntime(settings).pid(PHOENIX_NAME)


def phoenix_rss_mb(settings: Settings) -> float | None:
    pid = phoenix_pid(settings)
    return rss_mb(pid) if pid else None


def idle_rss_mb(settings: Settings) -> float | None:
    time.sleep(SETTLE_SECONDS)
    return phoenix_rss_mb(settings)


def stack_rss_mb(settings: Settings) -> dict[str, float | None]:
    """RSS of every component the native runtime runs (its PID file and children), and their total."""
    runtime = NativeRuntime(settings)
    by_component: dict[str, float | None] = {}
    for name in components.NAMES:
        pid = runtime.pid(name)
        if pid is not None:
            by_component[name] = rss_mb(pid)
    present = [mb for mb in by_component.values() if mb is not None]
    return by_component | {"total": sum(present) if present else None}


def _start_bare_phoenix(variant: Mapping[str, str]) -> tuple[Settings, NativeRuntime]:
    """Phoenix alone, in a fresh state folder on free ports, with exactly the environment `invoke up` gives
    it natively (the rendered phoenix.env) plus `variant`. Started directly, not through `invoke up`: the
    native runtime deliberately keeps PHOENIX_* variables of the calling shell away from Phoenix."""
    state_dir = Path(tempfile.mkdtemp(prefix="stackkit-bench-mem-")) / "state"
    settings = load_settings(environ=smoke_environment(state_dir, "native"))
    plan = Plan(runtime="native", components=(PHOENIX_NAME,), skipped={})
    render(settings, plan, {})
    runtime = NativeRuntime(settings)
    runtime.prepare(plan)
    # The variant goes into this throwaway folder's rendered env file: what Phoenix reads at each start.
    envfile.write(runtime.env_file(PHOENIX_NAME), envfile.read(runtime.env_file(PHOENIX_NAME)) | dict(variant))
    runtime.start(PHOENIX_NAME, plan)
    return settings, runtime


def idle_with(
    variant: Mapping[str, str],
    runs: int,
    baseline_mb: list[float | None],
    out: Callable[[str], None],
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Idle RSS of a Phoenix started with `variant`, against `baseline_mb`: the idle RSS of the stack's own
    Phoenix measured earlier in the same run. Idle RSS varies by under 1 MB between starts here, so one
    start is enough; a start costs 20-40 s on this machine (two side by side took 77 s)."""
    measured: list[float | None] = []
    for number in range(runs):
        settings, runtime = _start_bare_phoenix(variant)
        try:
            probe = wait_healthy(
                f"{settings.phoenix_url}/healthz",
                timeout,
                still_running=partial(_phoenix_running, runtime),
            )
            measured.append(idle_rss_mb(settings) if probe.ok else None)
        finally:
            runtime.stop(PHOENIX_NAME)
            shutil.rmtree(settings.state_dir.parent, ignore_errors=True)
        out(f"memory: idle with the variant, start {number + 1}/{runs}: {measured[-1]} MB")
    baseline, varied = summary(baseline_mb), summary(measured)
    return {
        "variant": dict(variant),
        "variant_idle_mb": varied,
        "baseline_idle_mb": baseline,
        "variant_over_baseline": (_constant(varied["median"] / baseline["median"]) if varied and baseline else None),
    }


def _constant(value: float) -> dict[str, Any]:
    return {"median": value, "min": value, "max": value, "n": 1}
