"""The user's commands against real processes: `invoke up`, status, logs, a no-op second up, down."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from isolation import invoke, isolated_environ

from stackkit.core.settings import load_settings
from stackkit.phoenix import canary
from stackkit.phoenix import pricing as model_pricing
from stackkit.phoenix.api import PhoenixClient

pytestmark = pytest.mark.phoenix


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_bad_setting_exits_2_and_starts_nothing(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state", PHOENIX_UI_PORT="abc")
    result = invoke(environ, "up")
    assert result.returncode == 2
    assert "PHOENIX_UI_PORT='abc'" in result.stderr
    assert not (tmp_path / "state").exists()


def test_busy_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(environ["PHOENIX_UI_PORT"])))
        squatter.listen()
        result = invoke(environ, "up")
    assert result.returncode == 1
    assert f"PHOENIX_UI_PORT={environ['PHOENIX_UI_PORT']} is already in use by pid {os.getpid()}" in result.stderr
    assert not list((tmp_path / "state").glob("run/*.pid"))


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], str]]:
    environ = isolated_environ(tmp_path_factory.mktemp("stack") / "state")
    result = invoke(environ, "up", "--runtime", "native")
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield environ, result.stdout
    finally:
        invoke(environ, "down")


SPAN_COST = "query ($id: ID!) { node(id: $id) { ... on Span { costSummary { total { cost } } } } }"


def test_the_first_chat_after_up_is_priced(running_stack: tuple[dict[str, str], str]) -> None:
    """First of the tests on this stack: the chat goes out as soon as `up` has returned. `up` reports ready
    only once Phoenix prices the offline model, so the chat's LLM spans cost more than $0."""
    environ, _ = running_stack
    settings = load_settings(environ=environ)
    answer = requests.post(f"{settings.ai_demo_url}/chat", json={"message": "Weather in Lisbon?"}, timeout=30)
    trace_id = answer.json()["trace_id"]
    phoenix = PhoenixClient(settings.phoenix_url)
    spans = phoenix.wait_for_traces(settings.phoenix_project_name, [trace_id], timeout=60, min_spans_per_trace=4)
    llm_spans = [span for span in spans[trace_id] if span["span_kind"] == "LLM"]
    assert [span["attributes"]["llm.model_name"] for span in llm_spans] == [model_pricing.OFFLINE_MODEL] * 2
    for span in llm_spans:
        summary = phoenix.graphql(SPAN_COST, {"id": span["id"]})["node"]["costSummary"]
        assert summary["total"]["cost"] > 0, span["name"]
    assert phoenix.spans(canary.STACK_PROJECT) == [], "the price probes are deleted once read"


def test_up_starts_the_demo_while_phoenix_loads_the_price(running_stack: tuple[dict[str, str], str]) -> None:
    _, output = running_stack
    steps = [
        "phoenix: healthy",
        "phoenix: the demo's offline model's price is in Phoenix's database",
        "ai-demo: starting",
        "phoenix: waiting until Phoenix prices the offline model",
        "phoenix: the offline model's price is live",
        "ai-demo: healthy",
        "Phoenix UI:",
    ]
    assert [output.index(step) for step in steps] == sorted(output.index(step) for step in steps), output
    assert "alloy: skipped (no `alloy` binary on PATH" in output


def test_the_price_is_in_phoenix_before_it_starts(running_stack: tuple[dict[str, str], str]) -> None:
    """Natively the price is written before Phoenix starts, so the first probe finds it live: no 5-s reload."""
    environ, output = running_stack
    log = invoke(environ, "logs", "--service", "phoenix", "--tail", "100000").stdout
    assert f"--- stackkit: {model_pricing.OFFLINE_MODEL} priced in Phoenix's database before its start" in log
    # Phoenix loaded it with its start: the first probe is priced, none waited for a reload.
    assert "phoenix: the offline model's price is live (probe 1 came back priced" in output, output


def test_status_shows_healthy_components(running_stack: tuple[dict[str, str], str]) -> None:
    environ, _ = running_stack
    rows = {line.split()[0]: line for line in invoke(environ, "status").stdout.splitlines()[1:]}
    assert "healthy" in rows["phoenix"].split()
    assert "healthy" in rows["ai-demo"].split()
    assert "skipped" in rows["alloy"]


def test_logs_show_phoenix_log(running_stack: tuple[dict[str, str], str]) -> None:
    environ, _ = running_stack
    result = invoke(environ, "logs", "--service", "phoenix", "--tail", "20")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert 0 < len(lines) <= 20
    # The price probes and the first chat's reads came after Phoenix's start: its log is longer than 20 lines.
    whole = invoke(environ, "logs", "--service", "phoenix", "--tail", "100000").stdout.splitlines()
    assert lines == whole[-len(lines) :]
    assert any("Uvicorn running" in line or "Application startup complete" in line for line in whole)


def test_second_up_is_a_no_op(running_stack: tuple[dict[str, str], str]) -> None:
    environ, _ = running_stack
    settings = load_settings(environ=environ)
    pids_before = sorted(p.read_text() for p in settings.run_dir.glob("*.pid"))
    result = invoke(environ, "up")
    assert result.returncode == 0
    assert "already running and healthy; nothing changed" in result.stdout
    assert sorted(p.read_text() for p in settings.run_dir.glob("*.pid")) == pids_before


def test_down_leaves_no_process_of_ours(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    assert invoke(environ, "up", "--only", "phoenix").returncode == 0
    settings = load_settings(environ=environ)
    pids = [int(p.read_text().split()[0]) for p in settings.run_dir.glob("*.pid")]
    assert pids and all(alive(pid) for pid in pids)
    result = invoke(environ, "down")
    assert result.returncode == 0
    assert "phoenix: stopped" in result.stdout
    assert not any(alive(pid) for pid in pids)
    assert (settings.data_dir / "phoenix" / "phoenix.db").exists(), "down without --volumes keeps the data"
