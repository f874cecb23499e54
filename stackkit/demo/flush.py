"""What `invoke traffic` knows when it returns: it asks the demo to export every span it has ended
(`POST /admin/flush`), reports what the demo's exporter measured (spans the collector accepted, spans it could
not export), and, when every span left, records the trace ids in the state folder, so `invoke eval` can wait
for exactly those chains instead of guessing from a quiet window."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import requests

from stackkit.core import envfile
from stackkit.core.settings import Settings

FLUSH_PATH = "/admin/flush"
COUNTS_PATH = "/admin/spans"
RECORD_FILE = "demo-flushed.json"
FLUSH_TIMEOUT_SECONDS = 20.0  # the demo gives its exporter 10 s


@dataclass(frozen=True)
class FlushRecord:
    project: str
    trace_ids: tuple[str, ...]
    flushed_at: datetime  # UTC: every span of these traces had left the demo by then


@dataclass(frozen=True)
class SpanCounts:
    """The demo's span counts since it started (ai_demo.telemetry.SpanCounts): ended, exported (the collector
    accepted them), failed (its exporter gave up after its retries)."""

    ended: int
    exported: int
    failed: int

    @classmethod
    def parse(cls, body: object) -> SpanCounts | None:
        names = ("ended", "exported", "failed")
        if not isinstance(body, dict) or not all(isinstance(body.get(name), int) for name in names):
            return None
        return cls(body["ended"], body["exported"], body["failed"])

    def __sub__(self, earlier: SpanCounts) -> SpanCounts:
        return SpanCounts(self.ended - earlier.ended, self.exported - earlier.exported, self.failed - earlier.failed)

    @property
    def not_exported(self) -> int:
        """Ended and not accepted: failed, or dropped by the demo's full Batch processor queue (after a flush)."""
        return self.ended - self.exported


ZERO = SpanCounts(0, 0, 0)


@dataclass(frozen=True)
class FlushOutcome:
    problem: str  # "" when the demo finished exporting every span it had ended
    counts: SpanCounts | None  # None: a demo without counts, or no answer


def counts(base_url: str, timeout: float = 5.0) -> SpanCounts | None:
    """The demo's counts now (before traffic), or None when it does not say (an older demo, no answer)."""
    try:
        response = requests.get(f"{base_url.rstrip('/')}{COUNTS_PATH}", timeout=timeout)
        return SpanCounts.parse(response.json()) if response.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None


def flush(base_url: str, timeout: float = FLUSH_TIMEOUT_SECONDS) -> FlushOutcome:
    """Ask the demo to export what it holds; its answer says whether that finished and what its exporter counted."""
    try:
        response = requests.post(f"{base_url.rstrip('/')}{FLUSH_PATH}", timeout=timeout)
    except requests.RequestException as error:
        return FlushOutcome(f"{type(error).__name__}: {str(error)[:160]}", None)
    try:
        body = response.json()
    except ValueError:
        body = {}
    measured = SpanCounts.parse(body.get("spans")) if isinstance(body, dict) else None
    if response.status_code == 200 and isinstance(body, dict) and body.get("flushed") is True:
        return FlushOutcome("", measured)
    return FlushOutcome(f"HTTP {response.status_code}: {response.text[:160]}", measured)


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


def flush_and_record(settings: Settings, trace_ids: Sequence[str], before: SpanCounts | None) -> tuple[str, int]:
    """After traffic: the demo exports in batches, so ask it to send what it holds now. Returns the lines to print,
    from the export results the demo counted since `before`, and the spans it could not export (0 when unknown)."""
    outcome = flush(settings.ai_demo_url)
    run = outcome.counts - before if outcome.counts is not None and before is not None else None
    if run is None:
        measured = "the demo did not report its export results (an older demo, or it did not answer)"
        lost = 0
    else:
        lost = run.not_exported
        measured = f"the demo's exporter: {run.exported} of the {run.ended} spans these requests ended were accepted"
        if run.failed:
            measured += (
                f"; {run.failed} could not be exported (refused by the OTLP endpoint it sends to, or it was "
                "unreachable, through every retry)"
            )
        if run.not_exported > run.failed:
            unsent = run.not_exported - run.failed
            measured += (
                f"; {unsent} were dropped by the demo's full export queue"
                if not outcome.problem
                else f"; {unsent} were not sent when the flush gave up (still queued in the demo, or dropped by its "
                "full export queue)"
            )
        if lost:
            measured += ": their traces are incomplete in Phoenix" + (
                " (unless the demo still sends those it holds)" if outcome.problem else ""
            )
    if outcome.problem:
        return (
            f"the demo did not finish exporting its spans ({outcome.problem}): `invoke eval` will wait for a quiet "
            f"window instead\n{measured}",
            lost,
        )
    if lost or run is None:
        return f"{measured}\n`invoke eval` will wait for a quiet window (not every trace is known whole)", lost
    record(settings, trace_ids)
    return f"{measured}: every span of the {len(trace_ids)} traces above has left the demo", 0
