"""The fan-out's on-disk sending queue as `down` and `up` report it: drained into Phoenix before the fan-out stops
(its own queue metric read until it is 0), or measured and recorded, so no task says every span is written while
spans wait in it, and changing STACK_COLLECTOR never strands them silently (issue 32).

The measure comes from the fan-out's `otelcol_exporter_queue_size` (bytes: its queue's sizer is bytes); when the
fan-out is not running, from what `down` last measured, else from the size of its queue's files on disk."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import requests

from stackkit.components import registry as components
from stackkit.components.component import Component
from stackkit.core.output import Printer
from stackkit.core.settings import Settings
from stackkit.runtimes.base import Runtime

METRIC = "otelcol_exporter_queue_size"
# The queue shrinks once Phoenix takes a batch; the exporter retries at most 10 s apart (retry_on_failure's
# max_interval), so 15 s without progress means Phoenix is not taking them. WAIT_CAP bounds the whole wait.
NO_PROGRESS_SECONDS = 15.0
WAIT_CAP_SECONDS = 120.0
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Queued:
    bytes: int
    how: str  # where the number comes from, said with it


Drainer = Callable[[Settings, Runtime, Component, Printer], Queued | None]


def fan_outs() -> list[Component]:
    return [component for component in components.ALL if component.queued_bytes is not None]


def _record_path(settings: Settings, name: str) -> Path:
    return settings.data_dir / f"{name}.queued.json"


def record(settings: Settings, name: str, queued: int) -> None:
    """What `down` measured in the fan-out's queue as it stopped it (0600: a state file)."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = _record_path(settings, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump({"bytes": queued, "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}, file)


def forget(settings: Settings, name: str) -> None:
    """The fan-out runs again: what it queued is being sent; its next stop measures again."""
    _record_path(settings, name).unlink(missing_ok=True)


def left_on_disk(settings: Settings, component: Component) -> Queued | None:
    """What a fan-out that is not running leaves in its queue: measured at its last `down`, else the size of its
    queue's files (it stopped without `down`); None when it has no queue on disk."""
    try:
        recorded = json.loads(_record_path(settings, component.name).read_text())
        return Queued(int(recorded["bytes"]), f"{METRIC} when `invoke down` stopped it at {recorded['measured_at']}")
    except (OSError, ValueError, KeyError, TypeError):
        pass
    folder = component.data_path(settings)
    files = [path for path in folder.rglob("*") if path.is_file()] if folder and folder.is_dir() else []
    if not files:
        return None
    size = sum(path.stat().st_size for path in files)
    return Queued(size, f"the size of its queue's files in {folder}: it stopped without `invoke down`")


def drain(settings: Settings, runtime: Runtime, component: Component, out: Printer) -> Queued | None:
    """With Phoenix running, wait until the running fan-out has sent its queue (its metric reads 0), or until it
    stops shrinking; say and record what stays. None when its metric cannot be read."""
    assert component.queued_bytes is not None
    name, start = component.name, time.monotonic()
    best, progress_at = None, start
    while True:
        try:
            queued = int(component.queued_bytes(settings))
        except (requests.RequestException, ValueError) as error:
            out(
                f"{name}: could not read its queue ({METRIC}: {type(error).__name__}); what it holds stays on "
                f"disk and is sent at the next `invoke up` with STACK_COLLECTOR={name}"
            )
            return None
        now = time.monotonic()
        if queued == 0:
            waited = now - start
            out(f"{name}: its queue is empty ({METRIC} 0 after {waited:.1f}s): nothing it accepted waits to be sent")
            record(settings, name, 0)
            return Queued(0, METRIC)
        if best is None or queued < best:
            best, progress_at = queued, now
        if now - progress_at >= NO_PROGRESS_SECONDS or now - start >= WAIT_CAP_SECONDS:
            out(
                f"{name}: {queued} bytes of spans stay in its on-disk queue ({METRIC} after {now - start:.0f}s of "
                f"waiting; phoenix did not take them): they are sent at the next `invoke up` with "
                f"STACK_COLLECTOR={name}"
            )
            record(settings, name, queued)
            return Queued(queued, METRIC)
        time.sleep(POLL_SECONDS)


def stranded_problem(settings: Settings, runtime: Runtime) -> str | None:
    """A fan-out STACK_COLLECTOR no longer chooses whose queue still holds spans: with the other one they would
    never reach Phoenix, so the change is refused with the way to send them first."""
    problems = []
    for component in fan_outs():
        if not component.not_chosen(settings) or runtime.state(component.name).running:
            continue
        queued = left_on_disk(settings, component)
        if queued is not None and queued.bytes > 0:
            problems.append(
                f"STACK_COLLECTOR={settings.stack_collector}: the {component.name} fan-out's on-disk queue still "
                f"holds {queued.bytes} bytes of spans ({queued.how}); the other fan-out never sends them. First "
                f"`STACK_COLLECTOR={component.name} invoke up` (it sends them to Phoenix), then `invoke down` "
                "(which drains its queue), then switch"
            )
    return "\n".join(problems) or None


def leaving(settings: Settings, runtime: Runtime) -> list[Component]:
    """The running fan-outs the settings given now no longer choose (STACK_COLLECTOR changed)."""
    return [c for c in fan_outs() if c.not_chosen(settings) and runtime.state(c.name).running]


def running_switch_problem(
    settings: Settings, before: Settings, runtime: Runtime, out: Printer, drained: Drainer | None = None
) -> str | None:
    """Changing STACK_COLLECTOR on a running stack: the fan-out leaving is drained into Phoenix first (read with
    the settings it runs with, `before`; `drained` is `drain` unless a test's fake runtime answers), while
    everything still runs; refused (nothing stopped) when its queue does not empty."""
    for component in leaving(settings, runtime):
        queued = (drained or drain)(before, runtime, component, out)
        if queued is None or queued.bytes > 0:
            shown = "an unknown number of" if queued is None else str(queued.bytes)
            return (
                f"STACK_COLLECTOR={settings.stack_collector}: the running {component.name} fan-out still "
                f"queues {shown} bytes of spans, which the other fan-out would never send. Nothing was "
                f"stopped: let Phoenix take them (`invoke verify`), then run this again, or "
                f"`STACK_COLLECTOR={component.name} invoke down` (which drains it) before switching"
            )
    return None
