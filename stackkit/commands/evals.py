"""`invoke eval`: score the demo's recent chains and store the scores in Phoenix as span annotations.

Three code evaluators look at each chain's root span and the spans of its trace, as GET
/v1/projects/{p}/spans returns them (flat dotted `attributes`, `span_kind`, `status_code`):

- `answered`: the answer is non-empty and uses the tool's result, or says that the tool failed;
- `latency`: the chain finished under EVAL_LATENCY_THRESHOLD_MS;
- `tool_ok`: every tool the chain called succeeded within its retries (one OK attempt is enough).

The annotations are written with a fixed `identifier`. Phoenix upserts span annotations on
(name, span, identifier), so running again updates the same rows instead of adding new ones.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from stackkit.core import secrets
from stackkit.core.errors import OperationFailed, UsageError
from stackkit.core.settings import Settings
from stackkit.demo import flush as demo_flush
from stackkit.phoenix.api import PhoenixClient, PhoenixError, phoenix_client

EVALUATORS = ("answered", "latency", "tool_ok")
# The demo's chains are the traces whose root is its FastAPI route (services/ai-demo/ai_demo/service.py):
# other roots in the project (a user's own spans) are counted as skipped, not scored.
DEMO_ROOT_NAME = "POST /chat"
# The demo exports in batches every 5 s (BatchSpanProcessor's default): a count unchanged for longer than
# that means nothing more is on its way.
IN_FLIGHT_QUIET_SECONDS = 6.0
DEFAULT_WAIT_SECONDS = 10.0
ANNOTATION_IDENTIFIER = "stackkit-eval"
ANNOTATE_BATCH = 300  # annotations per POST: keeps each request (one SQL upsert per row) short

_DURATION = re.compile(r"(\d+)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# How an answer owns up to a failed tool. The demo's prompt asks the LLM to say the tool failed.
_SAYS_FAILED = re.compile(
    r"\b(fail(ed|s|ure)?|unavailable|unable|can(no|')t|could(n't| not)|error|sorry)\b", re.IGNORECASE
)


class EvalError(OperationFailed):
    """Evaluation could not run: bad arguments, Phoenix unreachable or refusing."""


@dataclass(frozen=True)
class Evaluation:
    name: str  # one of EVALUATORS; also the annotation's name
    passed: bool
    score: float
    explanation: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return "pass" if self.passed else "fail"


@dataclass(frozen=True)
class ChainResult:
    span_id: str
    trace_id: str
    evaluations: tuple[Evaluation, ...]


@dataclass(frozen=True)
class EvalReport:
    project: str
    since: str  # as the user wrote it, e.g. "1h"
    chains: tuple[ChainResult, ...]
    annotations_written: int
    skipped: dict[str, int] = field(default_factory=dict)  # why -> how many recent roots were not scored
    waited_s: float = 0.0
    in_flight: bool = False  # spans were still arriving when the wait ended
    flushed_chains: int = 0  # chains the last `invoke traffic` saw the demo export (known, not waited for)
    # --wait 0 and nothing accounts for what may be on its way (chats not sent by `invoke traffic`)
    not_waited: bool = False

    def pass_rates(self) -> dict[str, dict[str, Any]]:
        rates = {}
        for name in EVALUATORS:
            results = [e for chain in self.chains for e in chain.evaluations if e.name == name]
            passed = sum(e.passed for e in results)
            rate = round(passed / len(results), 4) if results else None
            rates[name] = {"passed": passed, "failed": len(results) - passed, "pass_rate": rate}
        return rates

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "since": self.since,
            "chains": len(self.chains),
            "annotations_written": self.annotations_written,
            "skipped": self.skipped,
            "waited_s": round(self.waited_s, 1),
            "in_flight": self.in_flight,
            "flushed_chains": self.flushed_chains,
            "not_waited": self.not_waited,
            "evaluators": self.pass_rates(),
        }


# --- arguments ---------------------------------------------------------------------------------


def parse_since(text: str) -> timedelta:
    """'30m', '1h', '2d' (also 's') -> a timedelta; EvalError on anything else."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"--since {text!r}: expected a duration such as 30m, 1h or 2d (s, m, h or d)")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


# --- evaluators: pure functions of span dicts ----------------------------------------------------


def _time(value: str) -> datetime:
    # Python 3.10's fromisoformat does not take a trailing "Z".
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def duration_ms(span: dict[str, Any]) -> float:
    return (_time(span["end_time"]) - _time(span["start_time"])).total_seconds() * 1000


def tool_attempts(spans: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """TOOL spans by tool name, in the order they started (each span is one attempt)."""
    attempts: dict[str, list[dict[str, Any]]] = {}
    for span in sorted(spans, key=lambda s: _time(s["start_time"])):
        if span.get("span_kind") == "TOOL":
            name = span["attributes"].get("tool.name") or span["name"]
            attempts.setdefault(name, []).append(span)
    return attempts


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        yield value


def _appears(value: str | int | float, text: str) -> bool:
    if isinstance(value, str):
        return len(value.strip()) >= 3 and value.strip().lower() in text.lower()
    # A number must stand alone: 21 is not found in 210 or 2.1; a float may be rounded in the answer.
    candidates = {str(value), str(round(value))} if isinstance(value, float) else {str(value)}
    return any(re.search(rf"(?<![\d.]){re.escape(c)}(?!\d)", text) for c in candidates)


def evaluate_answered(root: dict[str, Any], spans: list[dict[str, Any]]) -> Evaluation:
    answer = str(root["attributes"].get("output.value") or "").strip()
    if not answer:
        return Evaluation("answered", False, 0.0, "The chain gave no answer (output.value is empty).")
    attempts = [span for tool_spans in tool_attempts(spans).values() for span in tool_spans]
    succeeded = [span for span in attempts if span["status_code"] == "OK"]
    if not attempts:
        return Evaluation("answered", False, 0.0, "The chain called no tool, so the answer uses no tool result.")
    if not succeeded:
        if _SAYS_FAILED.search(answer):
            return Evaluation("answered", True, 1.0, "The tool failed and the answer says so.")
        return Evaluation("answered", False, 0.0, "The tool failed but the answer does not say so (made up?).")
    raw = str(succeeded[-1]["attributes"].get("output.value") or "")
    try:
        result = json.loads(raw)
    except ValueError:
        result = raw
    # Values the user already gave (the city) prove nothing about using the tool: leave them out.
    question = str(root["attributes"].get("input.value") or "")
    values = [value for value in _leaves(result) if not _appears(value, question)]
    used = [value for value in values if _appears(value, answer)]
    if used or not values:
        shown = ", ".join(map(str, used[:4])) or "nothing to check beyond the question"
        return Evaluation("answered", True, 1.0, f"The answer uses the tool's result ({shown}).")
    return Evaluation("answered", False, 0.0, "The answer uses none of the values the tool returned.")


def evaluate_latency(root: dict[str, Any], threshold_ms: int) -> Evaluation:
    took = duration_ms(root)
    passed = took < threshold_ms
    relation = "under" if passed else "not under"
    return Evaluation(
        "latency",
        passed,
        1.0 if passed else 0.0,
        f"The chain took {took:.0f} ms, {relation} the {threshold_ms} ms threshold.",
        {"duration_ms": round(took, 1), "threshold_ms": threshold_ms},
    )


def evaluate_tool_ok(spans: list[dict[str, Any]]) -> Evaluation:
    attempts = tool_attempts(spans)
    if not attempts:
        return Evaluation("tool_ok", False, 0.0, "The chain called no tool.")
    failed_tools, parts = [], []
    for name, tool_spans in attempts.items():
        ok_at = next((i for i, span in enumerate(tool_spans, 1) if span["status_code"] == "OK"), None)
        if ok_at is None:
            failed_tools.append(name)
            last_error = tool_spans[-1].get("status_message") or "no status message"
            parts.append(f"{name} failed all {len(tool_spans)} attempt(s): {last_error}")
        else:
            parts.append(f"{name} succeeded on attempt {ok_at} of {len(tool_spans)}")
    passed = not failed_tools
    metadata = {"attempts": {name: len(tool_spans) for name, tool_spans in attempts.items()}}
    return Evaluation("tool_ok", passed, 1.0 if passed else 0.0, "; ".join(parts) + ".", metadata)


def evaluate_chain(root: dict[str, Any], spans: list[dict[str, Any]], threshold_ms: int) -> tuple[Evaluation, ...]:
    return (evaluate_answered(root, spans), evaluate_latency(root, threshold_ms), evaluate_tool_ok(spans))


def annotation(span_id: str, evaluation: Evaluation) -> dict[str, Any]:
    """The body Phoenix's POST /v1/span_annotations takes for one evaluation."""
    return {
        "span_id": span_id,
        "name": evaluation.name,
        "annotator_kind": "CODE",
        "result": {
            "label": evaluation.label,
            "score": evaluation.score,
            "explanation": evaluation.explanation,
        },
        "metadata": evaluation.metadata,
        "identifier": ANNOTATION_IDENTIFIER,
    }


# --- against Phoenix ----------------------------------------------------------------------------


def client_for(settings: Settings) -> PhoenixClient:
    if settings.phoenix_enable_auth and not secrets.load(settings).get("PHOENIX_ADMIN_SECRET", ""):
        raise EvalError(
            f"PHOENIX_ENABLE_AUTH is on but {settings.secrets_file} has no PHOENIX_ADMIN_SECRET; run `invoke up` first"
        )
    return phoenix_client(settings)


def _complete(spans: list[dict[str, Any]]) -> bool:
    """A demo chain whose LLM and TOOL spans have all been exported (the root is exported with or after them)."""
    kinds = [span.get("span_kind") for span in spans]
    return kinds.count("LLM") >= 2 and "TOOL" in kinds


def _recent_roots(client: PhoenixClient, project: str, start: str) -> list[dict[str, Any]]:
    return client.spans(
        project, limit=1000, max_spans=5000, parent_id="null", start_time=start, sort="start_time", order="desc"
    )


def _flushed_chains(settings: Settings, project: str, start: datetime) -> set[str]:
    """The trace ids the last `invoke traffic` saw the demo export (demo_flush), when that was in this window."""
    flushed = demo_flush.load(settings)
    if flushed is None or flushed.project != project or flushed.flushed_at < start:
        return set()
    return set(flushed.trace_ids)


def run_evals(settings: Settings, since: str, limit: int, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> EvalReport:
    """Evaluate the `limit` most recent demo chains started within `since` (e.g. "1h") and annotate them,
    first waiting up to `wait_seconds` for spans still on their way from the demo.

    The chains the last `invoke traffic` flushed out of the demo are known: once each is in Phoenix and
    complete, nothing of theirs is in flight. Roots nothing accounts for (other apps, chats sent another way)
    follow the quiet window: no new one for IN_FLIGHT_QUIET_SECONDS.
    """
    window = parse_since(since)
    if limit < 1:
        raise UsageError(f"--limit {limit}: expected a whole number of at least 1")
    if wait_seconds < 0:
        raise UsageError(f"--wait {wait_seconds:g}: expected a number of seconds of at least 0")
    client = client_for(settings)
    project = settings.phoenix_project_name
    start_time = datetime.now(timezone.utc) - window
    start = start_time.isoformat()
    flushed = _flushed_chains(settings, project, start_time)

    def unaccounted(roots: list[dict[str, Any]]) -> int:
        return sum(root["context"]["trace_id"] not in flushed for root in roots)

    try:
        began = time.monotonic()
        deadline = began + wait_seconds
        roots = _recent_roots(client, project, start)
        changed_at, changed = began, False
        while True:
            demo_roots = [root for root in roots if root["name"] == DEMO_ROOT_NAME][:limit]
            demo_ids = [root["context"]["trace_id"] for root in demo_roots]
            by_trace = client.spans_by_trace(project, [*demo_ids, *sorted(flushed)])
            settled = all(_complete(by_trace[trace_id]) for trace_id in demo_ids)
            flushed_here = all(_complete(by_trace[trace_id]) for trace_id in flushed)
            quiet = time.monotonic() - changed_at >= IN_FLIGHT_QUIET_SECONDS
            # Known without waiting: the flushed chains are all here and nothing else arrived meanwhile.
            known = bool(flushed) and flushed_here and not changed
            if (settled and flushed_here and (known or quiet)) or time.monotonic() >= deadline:
                break
            time.sleep(1.0)
            again = _recent_roots(client, project, start)
            if unaccounted(again) != unaccounted(roots):
                changed_at, changed = time.monotonic(), True
            roots = again
        # Incomplete or missing chains, or roots nothing accounts for that arrived within the quiet period.
        quiet = time.monotonic() - changed_at >= IN_FLIGHT_QUIET_SECONDS
        in_flight = not (settled and flushed_here) or (not known and wait_seconds > 0 and not quiet)
        waited = time.monotonic() - began
        skipped = Counter(
            f"not a demo chain (root {root['name']!r})" for root in roots if root["name"] != DEMO_ROOT_NAME
        )
        chains = tuple(
            ChainResult(
                root["context"]["span_id"],
                root["context"]["trace_id"],
                evaluate_chain(root, by_trace[root["context"]["trace_id"]], settings.eval_latency_threshold_ms),
            )
            for root in demo_roots
        )
        annotations = [annotation(chain.span_id, e) for chain in chains for e in chain.evaluations]
        for batch in range(0, len(annotations), ANNOTATE_BATCH):
            client.annotate_spans(annotations[batch : batch + ANNOTATE_BATCH])
    except requests.ConnectionError:
        raise EvalError(f"cannot reach Phoenix at {settings.phoenix_url}; is the stack up (`invoke up`)?") from None
    except PhoenixError as error:
        hint = " (is PHOENIX_ENABLE_AUTH the same as when the stack started?)" if error.status == 401 else ""
        raise EvalError(f"Phoenix refused: {error}{hint}") from None
    not_waited = wait_seconds == 0 and not known
    return EvalReport(
        project, since, chains, len(annotations), dict(skipped), waited, in_flight, len(flushed), not_waited
    )


def format_report(report: EvalReport) -> str:
    lines = [
        f"Evaluated {len(report.chains)} demo chain(s) of project {report.project!r} started in the last "
        f"{report.since}; wrote {report.annotations_written} span annotation(s)."
    ]
    for why, count in report.skipped.items():
        lines.append(f"Skipped {count} recent trace(s): {why}.")
    if report.not_waited:
        lines.append(
            "--wait 0: spans still on their way were not waited for (the demo exports in batches, and Phoenix "
            "writes after it answers), so chains of the last seconds' traffic may not be scored yet; "
            "run `invoke eval` again in a few seconds, or without --wait 0."
        )
    elif report.in_flight:
        lines.append(
            f"Spans were still arriving after waiting {report.waited_s:.0f}s: some chains may be missing or "
            "incomplete; run `invoke eval` again (or with a longer --wait)."
        )
    if not report.chains:
        return "\n".join(lines)
    lines.append(f"{'evaluator':<10} {'passed':>6} {'failed':>6} {'pass rate':>9}")
    for name, rate in report.pass_rates().items():
        shown = "-" if rate["pass_rate"] is None else f"{rate['pass_rate']:.0%}"
        lines.append(f"{name:<10} {rate['passed']:>6} {rate['failed']:>6} {shown:>9}")
    return "\n".join(lines)
