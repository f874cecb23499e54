"""`invoke eval`: the evaluators on span dicts, then against a real Phoenix fed by the real demo service."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from invoke.exceptions import Exit
from isolation import isolated_settings

from stackkit import cli
from stackkit.commands import evals
from stackkit.commands.evals import (
    ANNOTATION_IDENTIFIER,
    ChainResult,
    EvalError,
    EvalReport,
    Evaluation,
    evaluate_answered,
    evaluate_chain,
    evaluate_latency,
    evaluate_tool_ok,
    parse_since,
)
from stackkit.core import secrets
from stackkit.core.errors import EXIT_USAGE, UsageError
from stackkit.core.health import wait_healthy
from stackkit.core.ports import free_ports
from stackkit.core.settings import REPO_ROOT, Settings
from stackkit.phoenix.api import PhoenixClient

T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
REPORT = {"city": "Paris", "temperature_c": 21, "conditions": "partly cloudy", "wind_kph": 12}


def span(
    kind: str,
    start_ms: float,
    end_ms: float,
    status: str = "OK",
    status_message: str = "",
    parent_id: str | None = "root0001",
    span_id: str | None = None,
    **attributes: Any,
) -> dict[str, Any]:
    """A span shaped like GET /v1/projects/{p}/spans returns it (dotted keys as **{"a.b": ...})."""
    return {
        "id": "U3BhbjoxMjM=",
        "name": {"TOOL": "get_weather", "LLM": "synthesize"}.get(kind, "POST /chat"),
        "context": {"trace_id": "a" * 32, "span_id": span_id or uuid.uuid4().hex[:16]},
        "span_kind": kind,
        "parent_id": parent_id,
        "start_time": (T0 + timedelta(milliseconds=start_ms)).isoformat(),
        "end_time": (T0 + timedelta(milliseconds=end_ms)).isoformat(),
        "status_code": status,
        "status_message": status_message,
        "attributes": attributes,
        "events": [],
    }


def root(answer: str, took_ms: float = 300, question: str = "What's the weather in Paris?") -> dict[str, Any]:
    return span(
        "CHAIN",
        0,
        took_ms,
        parent_id=None,
        span_id="root0001",
        **{"input.value": question, "output.value": answer},
    )


def tool(start_ms: float, ok: bool, report: dict[str, Any] = REPORT) -> dict[str, Any]:
    if ok:
        return span(
            "TOOL",
            start_ms,
            start_ms + 10,
            **{"tool.name": "get_weather", "output.value": json.dumps(report)},
        )
    return span("TOOL", start_ms, start_ms + 500, "ERROR", "no answer within 0.5s", **{"tool.name": "get_weather"})


GOOD_ANSWER = "In Paris it is 21°C and partly cloudy, with wind at 12 km/h. Enjoy your day."
FAILED_ANSWER = "Sorry, I can't tell you the current weather in Paris: the weather tool failed."


# --- evaluators -------------------------------------------------------------------------------------


def test_answer_that_uses_the_tool_result_passes() -> None:
    result = evaluate_answered(root(GOOD_ANSWER), [tool(50, ok=True)])
    assert (result.name, result.label, result.score) == ("answered", "pass", 1.0)
    assert "21" in result.explanation and "partly cloudy" in result.explanation


def test_answer_that_ignores_the_tool_result_fails() -> None:
    # "Paris" is in the answer but was in the question too: it proves nothing about the tool.
    result = evaluate_answered(root("Paris is lovely this time of year."), [tool(50, ok=True)])
    assert (result.label, result.score) == ("fail", 0.0)


def test_numbers_must_stand_alone() -> None:
    report = {"temperature_c": 21}
    assert evaluate_answered(root("It is 210 degrees."), [tool(50, True, report)]).label == "fail"
    assert evaluate_answered(root("It is 2.1 degrees."), [tool(50, True, report)]).label == "fail"
    assert evaluate_answered(root("It is 21 degrees."), [tool(50, True, report)]).label == "pass"
    assert evaluate_answered(root("About 22 degrees."), [tool(50, True, {"t": 21.7})]).label == "pass"


def test_answer_after_a_failed_tool_must_say_so() -> None:
    failed = [tool(50, ok=False), tool(650, ok=False)]
    assert evaluate_answered(root(FAILED_ANSWER), failed).label == "pass"
    made_up = evaluate_answered(root("In Paris it is 21°C and sunny."), failed)
    assert made_up.label == "fail"
    assert "does not say so" in made_up.explanation


def test_empty_answer_or_no_tool_fails() -> None:
    assert evaluate_answered(root("   "), [tool(50, ok=True)]).label == "fail"
    assert evaluate_answered(root(GOOD_ANSWER), []).label == "fail"
    missing_output = root(GOOD_ANSWER)
    del missing_output["attributes"]["output.value"]
    assert evaluate_answered(missing_output, [tool(50, ok=True)]).label == "fail"


def test_latency_against_the_threshold() -> None:
    fast = evaluate_latency(root(GOOD_ANSWER, took_ms=1500), threshold_ms=2000)
    assert (fast.label, fast.score, fast.metadata["duration_ms"]) == ("pass", 1.0, 1500.0)
    assert "1500 ms, under the 2000 ms" in fast.explanation
    slow = evaluate_latency(root(GOOD_ANSWER, took_ms=2000), threshold_ms=2000)
    assert (slow.label, slow.score) == ("fail", 0.0)


def test_latency_reads_z_timestamps() -> None:
    chain = root(GOOD_ANSWER)
    chain["start_time"], chain["end_time"] = "2025-01-01T12:00:00Z", "2025-01-01T12:00:00.250Z"
    assert evaluate_latency(chain, 2000).metadata["duration_ms"] == 250.0


def test_tool_ok_after_a_retry_passes() -> None:
    # Attempts are ordered by start time, whatever order Phoenix lists them in.
    result = evaluate_tool_ok([tool(700, ok=True), tool(50, ok=False)])
    assert (result.label, result.score) == ("pass", 1.0)
    assert result.explanation == "get_weather succeeded on attempt 2 of 2."
    assert result.metadata == {"attempts": {"get_weather": 2}}


def test_tool_ok_fails_when_every_attempt_failed_or_no_tool_ran() -> None:
    result = evaluate_tool_ok([tool(50, ok=False), tool(650, ok=False), tool(1300, ok=False)])
    assert (result.label, result.score) == ("fail", 0.0)
    assert result.explanation == "get_weather failed all 3 attempt(s): no answer within 0.5s."
    assert evaluate_tool_ok([root(GOOD_ANSWER)]).label == "fail"


def test_evaluate_chain_gives_one_evaluation_per_evaluator() -> None:
    chain = root(GOOD_ANSWER)
    results = evaluate_chain(chain, [chain, tool(50, ok=True)], threshold_ms=2000)
    assert [e.name for e in results] == list(evals.EVALUATORS)
    assert all(e.passed for e in results)


def test_annotation_body() -> None:
    body = evals.annotation("root0001", Evaluation("tool_ok", False, 0.0, "why", {"attempts": {"t": 3}}))
    assert body == {
        "span_id": "root0001",
        "name": "tool_ok",
        "annotator_kind": "CODE",
        "result": {"label": "fail", "score": 0.0, "explanation": "why"},
        "metadata": {"attempts": {"t": 3}},
        "identifier": ANNOTATION_IDENTIFIER,
    }


# --- arguments, report, auth --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("1h", 3600), ("2d", 172800), (" 45S ", 45)])
def test_parse_since(text: str, seconds: int) -> None:
    assert parse_since(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "1", "h", "0h", "1w", "-1h", "1.5h", "1h30m"])
def test_parse_since_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="expected a duration such as 30m, 1h or 2d"):
        parse_since(text)


def test_bad_since_exits_before_reading_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "load_settings", lambda: pytest.fail("settings were read"))
    with pytest.raises(Exit) as exited:
        cli.evaluate("soon", 10, as_json=False)
    assert exited.value.code == EXIT_USAGE
    assert "--since 'soon'" in exited.value.message


def test_report_table_and_json() -> None:
    passing = (Evaluation("answered", True, 1.0, ""), Evaluation("latency", True, 1.0, ""))
    failing = (Evaluation("answered", False, 0.0, ""), Evaluation("latency", True, 1.0, ""))
    report = EvalReport("ai-demo", "1h", (ChainResult("s1", "t1", passing), ChainResult("s2", "t2", failing)), 4)
    assert report.as_dict()["evaluators"] == {
        "answered": {"passed": 1, "failed": 1, "pass_rate": 0.5},
        "latency": {"passed": 2, "failed": 0, "pass_rate": 1.0},
        "tool_ok": {"passed": 0, "failed": 0, "pass_rate": None},
    }
    table = evals.format_report(report)
    assert "answered        1      1       50%" in table
    assert "tool_ok         0      0         -" in table
    empty = evals.format_report(dataclasses.replace(report, chains=(), annotations_written=0))
    assert empty == "Evaluated 0 demo chain(s) of project 'ai-demo' started in the last 1h; wrote 0 span annotation(s)."


def test_admin_secret_is_the_token_when_auth_is_on(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state", PHOENIX_ENABLE_AUTH="true")
    with pytest.raises(EvalError, match="has no PHOENIX_ADMIN_SECRET; run `invoke up` first"):
        evals.client_for(settings)
    secret = secrets.generate_secret()
    secrets.save(settings, {"PHOENIX_ADMIN_SECRET": secret})
    assert evals.client_for(settings).session.headers["Authorization"] == f"Bearer {secret}"
    assert "Authorization" not in evals.client_for(isolated_settings(tmp_path / "off")).session.headers


def test_unreachable_phoenix_is_one_clear_error(settings: Settings) -> None:
    with pytest.raises(EvalError, match=f"cannot reach Phoenix at {settings.phoenix_url}"):
        evals.run_evals(settings, "1h", 10)


# --- against a real Phoenix and the real demo ----------------------------------------------------------

CITIES = ("Paris", "Oslo", "Lima", "Tokyo", "Cairo", "Denver")
TOOL_TIMEOUT = 0.2  # a fail_tool chain takes 3 attempts x 0.2 s + 0.1 + 0.2 s of backoff: > 0.9 s
LATENCY_THRESHOLD_MS = 500


@dataclasses.dataclass(frozen=True)
class Sent:
    trace_id: str
    fail_tool: bool
    seconds: float  # as the client measured it: an upper bound of the root span's duration


@pytest.fixture(scope="module")
def demo_traffic(
    phoenix: PhoenixClient, phoenix_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, list[Sent], dict[str, list[dict[str, Any]]]]:
    """The demo on a free port sending to its own project; 6 good and 3 fail_tool chats, all in Phoenix."""
    project = f"eval-{uuid.uuid4().hex[:8]}"
    port = free_ports(1)[0]
    env = {
        **os.environ,
        "AI_DEMO_OTLP_ENDPOINT": phoenix_settings.phoenix_url,
        "AI_DEMO_PROJECT_NAME": project,
        "AI_DEMO_EXPORT_METRICS": "false",
        "AI_DEMO_LLM_PROVIDER": "offline",
        "AI_DEMO_SPAN_PROCESSOR": "simple",  # each span is in Phoenix as soon as it ends
        "AI_DEMO_TOOL_TIMEOUT": str(TOOL_TIMEOUT),
        "AI_DEMO_TOOL_MAX_RETRIES": "2",
    }
    log_path = tmp_path_factory.mktemp("demo") / "ai-demo.log"
    sent: list[Sent] = []
    with open(log_path, "wb") as log:
        demo = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "ai_demo.app:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT / "services" / "ai-demo",
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            health = wait_healthy(
                f"http://127.0.0.1:{port}/healthz", timeout=60, still_running=lambda: demo.poll() is None
            )
            if not health.ok:
                pytest.fail(f"the demo did not start: {health.detail}\n{log_path.read_text()[-3000:]}")
            plan = [(city, False) for city in CITIES] + [(city, True) for city in CITIES[:3]]
            for city, fail_tool in plan:
                started = time.perf_counter()
                response = requests.post(
                    f"http://127.0.0.1:{port}/chat",
                    json={
                        "message": f"What's the weather in {city}?",
                        "session_id": "eval-test",
                        "fail_tool": fail_tool,
                    },
                    timeout=30,
                )
                response.raise_for_status()
                sent.append(Sent(response.json()["trace_id"], fail_tool, time.perf_counter() - started))
        finally:
            demo.terminate()  # by its PID; SIGTERM flushes what is still buffered
            try:
                demo.wait(timeout=20)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait()
    # root + chat + plan + >= 1 tool attempt + synthesize; the root ends last, so a failed tool's retries can make
    # five spans before it is written: each trace is waited for until its root is in Phoenix too.
    deadline = time.monotonic() + 60
    while True:
        left = max(0.0, deadline - time.monotonic())
        by_trace = phoenix.wait_for_traces(project, [s.trace_id for s in sent], timeout=left, min_spans_per_trace=5)
        rooted = all(any(span["parent_id"] is None for span in spans) for spans in by_trace.values())
        if rooted or time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    assert all(len(spans) >= 5 for spans in by_trace.values()), {t: len(s) for t, s in by_trace.items()}
    settings = dataclasses.replace(
        phoenix_settings, phoenix_project_name=project, eval_latency_threshold_ms=LATENCY_THRESHOLD_MS
    )
    return settings, sent, by_trace


def root_of(spans: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [span for span in spans if span["parent_id"] is None]
    return found


def our_annotations(phoenix: PhoenixClient, project: str, span_ids: list[str]) -> dict[tuple[str, str], dict]:
    found = phoenix.span_annotations(project, span_ids)
    ours = [a for a in found if a["identifier"] == ANNOTATION_IDENTIFIER]
    by_key = {(a["span_id"], a["name"]): a for a in ours}
    assert len(by_key) == len(ours), "two annotations with the same span, name and identifier"
    return by_key


@pytest.mark.phoenix
def test_labels_match_what_happened_and_a_rerun_updates_in_place(
    demo_traffic: tuple[Settings, list[Sent], dict[str, list[dict[str, Any]]]],
    phoenix: PhoenixClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings, sent, by_trace = demo_traffic
    project = settings.phoenix_project_name
    roots = {s.trace_id: root_of(by_trace[s.trace_id])["context"]["span_id"] for s in sent}
    root_ids = list(roots.values())

    report = evals.run_evals(settings, "1h", 100)
    assert {chain.span_id for chain in report.chains} == set(root_ids)
    assert report.annotations_written == 3 * len(sent)
    first = our_annotations(phoenix, project, root_ids)
    assert len(first) == 3 * len(sent)
    for s in sent:
        labels = {name: first[(roots[s.trace_id], name)]["result"]["label"] for name in evals.EVALUATORS}
        assert labels["tool_ok"] == ("fail" if s.fail_tool else "pass"), s
        assert labels["answered"] == "pass", s  # the answer uses the report, or says the tool failed
        if s.fail_tool:
            assert labels["latency"] == "fail", s
        elif s.seconds * 1000 < LATENCY_THRESHOLD_MS:
            assert labels["latency"] == "pass", s
    for found in first.values():
        assert found["annotator_kind"] == "CODE"
        assert found["result"]["score"] == (1.0 if found["result"]["label"] == "pass" else 0.0)
        assert found["result"]["explanation"]

    # Someone else's annotation with the same name on the same span, without our identifier, is left alone.
    other_span = roots[sent[0].trace_id]
    phoenix.annotate_spans(
        [{"span_id": other_span, "name": "tool_ok", "annotator_kind": "HUMAN", "result": {"label": "meh"}}]
    )

    # The second run goes through the CLI with the default threshold (2000 ms): the slow fail_tool chains
    # now pass latency, so labels change, yet no annotation is added and every row keeps its id.
    monkeypatch.setattr(cli, "load_settings", lambda: dataclasses.replace(settings, eval_latency_threshold_ms=2000))
    cli.evaluate("1h", 100, as_json=True)
    printed = json.loads(capsys.readouterr().out)
    assert printed["chains"] == len(sent)
    assert printed["evaluators"]["tool_ok"] == {"passed": 6, "failed": 3, "pass_rate": round(6 / 9, 4)}
    assert printed["evaluators"]["answered"]["failed"] == 0

    second = our_annotations(phoenix, project, root_ids)
    assert second.keys() == first.keys()
    assert {a["id"] for a in second.values()} == {a["id"] for a in first.values()}
    for key, before in first.items():
        assert second[key]["created_at"] == before["created_at"]
    for s in sent:
        if s.fail_tool:
            latency = second[(roots[s.trace_id], "latency")]
            assert latency["result"]["label"] == "pass"
            assert latency["metadata"]["threshold_ms"] == 2000
    everything = phoenix.span_annotations(project, root_ids)
    assert len(everything) == 3 * len(sent) + 1
    (human,) = [a for a in everything if a["identifier"] != ANNOTATION_IDENTIFIER]
    assert (human["span_id"], human["result"]["label"]) == (other_span, "meh")


@pytest.mark.phoenix
def test_limit_takes_the_most_recent_chains(
    demo_traffic: tuple[Settings, list[Sent], dict[str, list[dict[str, Any]]]],
) -> None:
    settings, _, by_trace = demo_traffic
    roots = sorted((root_of(spans) for spans in by_trace.values()), key=lambda r: r["start_time"])
    report = evals.run_evals(settings, "1h", 4)
    assert [chain.span_id for chain in report.chains] == [r["context"]["span_id"] for r in roots[-4:][::-1]]
    # An unknown project (no trace sent yet) is an empty report, not an error.
    assert evals.run_evals(dataclasses.replace(settings, phoenix_project_name="no-such"), "1h", 10).chains == ()


def test_eval_task_is_wired() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "--help", "eval"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "--since" in result.stdout and "--limit" in result.stdout and "--json" in result.stdout


@pytest.mark.phoenix
def test_eval_wait_0_right_after_traffic_warns_that_recent_chains_may_not_be_scored(
    phoenix: PhoenixClient, phoenix_settings: Settings, tmp_path: Path
) -> None:
    """The demo exporting in batches (its default, every 5 s): `--wait 0` just after its answers reads
    Phoenix before the batch is there, and says so."""
    project = f"eval-nowait-{uuid.uuid4().hex[:8]}"
    port = free_ports(1)[0]
    env = {
        **os.environ,
        "AI_DEMO_OTLP_ENDPOINT": phoenix_settings.phoenix_url,
        "AI_DEMO_PROJECT_NAME": project,
        "AI_DEMO_EXPORT_METRICS": "false",
        "AI_DEMO_LLM_PROVIDER": "offline",
    }
    with open(tmp_path / "ai-demo.log", "wb") as log:
        demo = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "ai_demo.app:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT / "services" / "ai-demo",
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        health = wait_healthy(f"http://127.0.0.1:{port}/healthz", timeout=60, still_running=lambda: demo.poll() is None)
        assert health.ok, (tmp_path / "ai-demo.log").read_text()[-2000:]
        for city in CITIES[:3]:
            response = requests.post(
                f"http://127.0.0.1:{port}/chat",
                json={"message": f"What's the weather in {city}?", "session_id": "nowait"},
                timeout=30,
            )
            response.raise_for_status()
        settings = dataclasses.replace(phoenix_settings, phoenix_project_name=project)
        report = evals.run_evals(settings, "1h", 100, wait_seconds=0)
        printed = evals.format_report(report)
        print(f"\nMEASURED eval --wait 0 right after 3 chats: {len(report.chains)} of 3 scored; {printed}")
        assert report.not_waited and "--wait 0: spans still on their way were not waited for" in printed
        assert "not_waited" in evals.EvalReport(project, "1h", (), 0).as_dict()
    finally:
        demo.terminate()
        demo.wait(timeout=20)
