"""`invoke traffic`: synthetic traffic for the AI demo, concurrent chat requests spread over sessions.

Which session a request belongs to and whether it asks the tool to fail are decided up front, so a run with
the same numbers always sends the same mix: request i goes to session i mod M, and exactly
floor(requests x fail_ratio) requests, evenly spaced, ask for `fail_tool`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TextIO

from requests import RequestException, Session

from stackkit.components import registry as components
from stackkit.core.errors import OperationFailed, UsageError
from stackkit.core.settings import Settings
from stackkit.demo import flush as demo_flush
from stackkit.stack import lifecycle

QUESTIONS = (
    "What's the weather in Lisbon today?",
    "Do I need an umbrella in London this afternoon?",
    "How warm is it in Tokyo right now?",
    "Is it windy in Chicago?",
    "What should I wear in Oslo tonight?",
    "Give me the weather report for Cape Town, please.",
    "Any snow in Montreal?",
    "Is it a good beach day in Sydney?",
)
PROGRESS_WIDTH = 30


@dataclass(frozen=True)
class RequestRecord:
    index: int
    session_id: str
    user_id: str
    message: str
    fail_tool: bool  # whether this request asked every tool attempt to time out
    status: int | None  # HTTP status; None when no answer came
    latency_ms: float
    trace_id: str  # "" unless the request succeeded
    error: str  # "" when the request succeeded

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class TrafficReport:
    base_url: str
    sent: int
    succeeded: int
    failed: int
    latencies_ms: tuple[float, ...]  # of the succeeded requests, in request order
    p50_ms: float | None  # None when nothing succeeded
    p95_ms: float | None
    trace_ids: tuple[str, ...]  # of the succeeded requests, in request order
    session_ids: tuple[str, ...]
    records: tuple[RequestRecord, ...]
    elapsed_s: float

    @property
    def fail_tool_requested(self) -> int:
        return sum(record.fail_tool for record in self.records)


def session_ids_for(sessions: int, run_id: str) -> list[str]:
    return [f"traffic-{run_id}-{number}" for number in range(1, sessions + 1)]


def fail_tool_plan(requests_count: int, fail_ratio: float) -> list[bool]:
    """Request i fails when floor((i+1)*r) passes an integer: floor(n*r) failures, every (1/r)-th request."""
    ratio = Fraction(fail_ratio).limit_denominator(1_000_000)  # 0.29 * 100 must give 29, not 28
    return [math.floor((index + 1) * ratio) > math.floor(index * ratio) for index in range(requests_count)]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (fraction 0.5 = p50); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


class _ProgressBar:
    """One stderr line, rewritten in place with a carriage return."""

    def __init__(self, total: int, stream: TextIO):
        self.total = total
        self.stream = stream

    def update(self, done: int, failed: int) -> None:
        filled = PROGRESS_WIDTH * done // self.total
        bar = "#" * filled + "-" * (PROGRESS_WIDTH - filled)
        self.stream.write(f"\rtraffic [{bar}] {done}/{self.total}  failed {failed}")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def run_traffic(
    base_url: str,
    requests: int = 20,
    sessions: int = 3,
    concurrency: int = 4,
    fail_ratio: float = 0.0,
    progress: bool = True,
    timeout: float = 30.0,
    run_id: str | None = None,
) -> TrafficReport:
    """POST `requests` chats to <base_url>/chat from `concurrency` threads; a failed request is recorded."""
    problems = []
    if requests < 1:
        problems.append(f"requests={requests}: expected at least 1")
    if sessions < 1:
        problems.append(f"sessions={sessions}: expected at least 1")
    if concurrency < 1:
        problems.append(f"concurrency={concurrency}: expected at least 1")
    if not 0 <= fail_ratio <= 1:
        problems.append(f"fail_ratio={fail_ratio}: expected a number from 0 to 1")
    if problems:
        raise ValueError("; ".join(problems))

    url = f"{base_url.rstrip('/')}/chat"
    session_ids = session_ids_for(sessions, run_id or uuid.uuid4().hex[:8])
    fail_plan = fail_tool_plan(requests, fail_ratio)
    planned = [
        (
            index,
            session_ids[index % sessions],
            f"user-{index % sessions + 1}",
            QUESTIONS[index % len(QUESTIONS)],
        )
        for index in range(requests)
    ]
    local = threading.local()
    opened: list[Session] = []

    def send(index: int, session_id: str, user_id: str, message: str) -> RequestRecord:
        if not hasattr(local, "session"):
            local.session = Session()  # one connection pool per worker thread
            opened.append(local.session)
        body = {
            "message": message,
            "session_id": session_id,
            "user_id": user_id,
            "fail_tool": fail_plan[index],
        }
        started = time.perf_counter()
        status, trace_id, error = None, "", ""
        try:
            response = local.session.post(url, json=body, timeout=timeout)
            status = response.status_code
            if status == 200:
                answer = response.json()
                trace_id = str(answer.get("trace_id", "")) if isinstance(answer, dict) else ""
                error = "" if trace_id else "HTTP 200 without a trace_id"
            else:
                error = f"HTTP {status}: {response.text[:200]}"
        except RequestException as failure:  # includes a body that is not JSON
            error = f"{type(failure).__name__}: {failure}"
        latency_ms = (time.perf_counter() - started) * 1000
        return RequestRecord(index, session_id, user_id, message, fail_plan[index], status, latency_ms, trace_id, error)

    bar = _ProgressBar(requests, sys.stderr) if progress else None
    records: list[RequestRecord] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="traffic") as pool:
        futures = [pool.submit(send, *request) for request in planned]
        try:
            if bar:
                bar.update(0, 0)
            for future in as_completed(futures):
                records.append(future.result())
                if bar:
                    bar.update(len(records), sum(not record.ok for record in records))
        except KeyboardInterrupt:
            pool.shutdown(cancel_futures=True)  # Ctrl-C: wait only for the requests already in flight
            raise
        finally:
            if bar:
                bar.close()
    elapsed_s = time.perf_counter() - started
    for session in opened:
        session.close()

    records.sort(key=lambda record: record.index)
    succeeded = [record for record in records if record.ok]
    latencies = tuple(record.latency_ms for record in succeeded)
    return TrafficReport(
        base_url=base_url,
        sent=len(records),
        succeeded=len(succeeded),
        failed=len(records) - len(succeeded),
        latencies_ms=latencies,
        p50_ms=percentile(latencies, 0.50),
        p95_ms=percentile(latencies, 0.95),
        trace_ids=tuple(record.trace_id for record in succeeded),
        session_ids=tuple(session_ids),
        records=tuple(records),
        elapsed_s=elapsed_s,
    )


def format_report(report: TrafficReport, max_trace_ids: int = 10) -> str:
    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.0f} ms"

    lines = [
        f"traffic: {report.sent} sent to {report.base_url} in {report.elapsed_s:.1f} s: "
        f"{report.succeeded} succeeded, {report.failed} failed "
        f"({report.fail_tool_requested} asked the tool to fail)",
        f"latency: p50 {ms(report.p50_ms)}, p95 {ms(report.p95_ms)}",
        f"sessions: {', '.join(report.session_ids)}",
    ]
    errors = [record for record in report.records if not record.ok]
    for record in errors[:5]:
        lines.append(f"  failed request {record.index}: {record.error}")
    if len(errors) > 5:
        lines.append(f"  ... and {len(errors) - 5} more failures")
    shown = [record for record in report.records if record.ok][:max_trace_ids]
    if shown:
        lines.append(f"trace ids ({report.succeeded}):")
        for record in shown:
            marker = "  fail_tool" if record.fail_tool else ""
            lines.append(f"  {record.trace_id}  {record.session_id}{marker}")
        if report.succeeded > len(shown):
            lines.append(f"  ... and {report.succeeded - len(shown)} more")
    return "\n".join(lines)


def traffic(
    settings: Settings, requests: int, sessions: int, concurrency: int, fail_ratio: float, save: str | None
) -> None:
    """Drive the running demo, print the report and what Phoenix stored of it; save it as JSON when asked."""
    if not lifecycle.recorded_runtime(settings).state(components.AI_DEMO.name).running:
        raise OperationFailed("the AI demo is not running: run `invoke up` first")
    demo_flush.forget(settings)
    before = demo_flush.counts(settings.ai_demo_url)
    try:
        report = run_traffic(
            settings.ai_demo_url, requests, sessions, concurrency, fail_ratio, progress=sys.stderr.isatty()
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    print(format_report(report), flush=True)
    exported, not_exported = demo_flush.flush_and_record(settings, report.trace_ids, before)
    print(exported, flush=True)
    if save:
        Path(save).write_text(json.dumps(dataclasses.asdict(report), indent=2))
        print(f"report saved to {save}")
    if report.failed:
        raise OperationFailed(f"{report.failed} of {report.sent} requests failed")
    if not_exported:
        raise OperationFailed(f"{not_exported} spans of these requests were not accepted where the demo sends")
