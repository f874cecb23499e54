"""What `invoke traffic` knows when it returns: it asks the demo to export every span it has ended
(`POST /admin/flush`) and records the trace ids so flushed in the state folder, so `invoke eval` can wait
for exactly those chains instead of guessing from a quiet window."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import requests

from stackkit import envfile
from stackkit.settings import Settings

FLUSH_PATH = "/admin/flush"
RECORD_FILE = "demo-flushed.json"
FLUSH_TIMEOUT_SECONDS = 20.0  # the demo gives its exporter 10 s


@dataclass(frozen=True)
class FlushRecord:
    project: str
    trace_ids: tuple[str, ...]
    flushed_at: datetime  # UTC: every span of these traces had left the demo by then


def flush(base_url: str, timeout: float = FLUSH_TIMEOUT_SECONDS) -> str:
    """ "" when the demo exported every span it has ended, else why not (an older demo, an unreachable collector)."""
    try:
        response = requests.post(f"{base_url.rstrip('/')}{FLUSH_PATH}", timeout=timeout)
    except requests.RequestException as error:
        return f"{type(error).__name__}: {str(error)[:160]}"
    if response.status_code == 200 and response.json().get("flushed") is True:
        return ""
    return f"HTTP {response.status_code}: {response.text[:160]}"


def forget(settings: Settings) -> None:
    """Before traffic runs: a record of an earlier run says nothing about the spans about to be sent."""
    (settings.state_dir / RECORD_FILE).unlink(missing_ok=True)


def record(settings: Settings, trace_ids: Sequence[str]) -> FlushRecord:
    flushed = FlushRecord(settings.phoenix_project_name, tuple(trace_ids), datetime.now(timezone.utc))
    body = {
        "project": flushed.project,
        "trace_ids": list(flushed.trace_ids),
        "flushed_at": flushed.flushed_at.isoformat(),
    }
    # 0600 like everything in the state folder (it names traces).
    envfile.write_private(settings.state_dir / RECORD_FILE, json.dumps(body, indent=2) + "\n")
    return flushed


def load(settings: Settings) -> FlushRecord | None:
    """The last traffic run's flush, or None (no run, its flush failed, or a file this does not understand)."""
    try:
        body = json.loads((settings.state_dir / RECORD_FILE).read_text())
        return FlushRecord(
            str(body["project"]), tuple(map(str, body["trace_ids"])), datetime.fromisoformat(body["flushed_at"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def flush_and_record(settings: Settings, trace_ids: Sequence[str]) -> str:
    """After traffic: the demo exports in batches, so ask it to send what it holds now; the line to print."""
    problem = flush(settings.ai_demo_url)
    if problem:
        return f"the demo did not flush its spans ({problem}): `invoke eval` will wait for a quiet window instead"
    record(settings, trace_ids)
    return f"the demo flushed its spans: those of the {len(trace_ids)} traces above have left it"
