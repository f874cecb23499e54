"""The fan-out on docker, for real: app -> the stack's own Collector build -> Phoenix, each in a container
(images built locally through the components' `build_image` hooks, no registry), brought up with `invoke up`.

The Collector's process is killed (SIGKILL to its PID, as a crash) under `invoke traffic --requests 200
--concurrency 8`: its `restart: unless-stopped` policy brings the same container back with the same queue
volume, and what reached Phoenix is counted from Phoenix's REST API and printed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from docker.models.containers import Container
from isolation import invoke, isolated_environ

from stackkit.components import otelcol
from stackkit.core.health import wait_healthy
from stackkit.core.setting_values import OTELCOL_NAME, PHOENIX_NAME
from stackkit.core.settings import REPO_ROOT, load_settings
from stackkit.phoenix.api import phoenix_client
from stackkit.runtimes.docker import DockerRuntime
from tools import smoke

REQUESTS = 200
CONCURRENCY = 8
SPANS_PER_TRACE = 4  # a /chat without a failing tool: the chain, the LLM call, the tool, the LLM call again
# The kill lands once the Collector has taken this many spans: traffic is running, most of it still to come.
KILL_AFTER_SPANS = 150


@pytest.fixture(scope="module")
def collector_stack(tmp_path_factory: pytest.TempPathFactory, docker_engine: object) -> Iterator[dict[str, str]]:
    """A whole stack on docker with STACK_COLLECTOR=otelcol, on its own network and free ports."""
    state_dir = tmp_path_factory.mktemp("docker-collector") / "state"
    environ = isolated_environ(state_dir, STACK_RUNTIME="docker", STACK_NETWORK=f"stackkit-test-{uuid.uuid4().hex[:8]}")
    started = time.monotonic()
    environ = smoke.docker_images_environment(environ)
    print(f"images ready in {time.monotonic() - started:.1f}s")
    try:
        started = time.monotonic()
        up = invoke(environ, "up", timeout=900)
        assert up.returncode == 0, up.stdout + up.stderr
        print(f"`invoke up` (phoenix, otelcol, ai-demo containers) in {time.monotonic() - started:.1f}s")
        yield environ
    finally:
        down = invoke(environ, "down", "--volumes", "--yes", timeout=600)
        assert down.returncode == 0, down.stdout + down.stderr


def _collector(runtime: DockerRuntime) -> Container:
    found = runtime.containers(OTELCOL_NAME)
    assert len(found) == 1, f"expected one Collector container, found {[c.name for c in found]}"
    return found[0]


def _queue_volume(container: Container) -> str:
    return next(m["Name"] for m in container.attrs["Mounts"] if m["Destination"] == otelcol.CONTAINER_QUEUE_DIR)


def _accepted_spans(settings: Any) -> float:
    try:
        return otelcol.metric_sum(otelcol.metrics(settings), "otelcol_receiver_accepted_spans")
    except requests.RequestException:
        return 0.0


def _crash(container: Container) -> None:
    """SIGKILL to the Collector's process (its host PID), as a crash or the OOM killer does. Not `docker kill`:
    the engine records that as a stop by hand, and `unless-stopped` then leaves the container down."""
    container.reload()
    os.kill(container.attrs["State"]["Pid"], signal.SIGKILL)


def _wait_restarted(container: Container, restarts_before: int, timeout: float = 120) -> float:
    """Seconds until the same container runs after more than `restarts_before` restarts and reports healthy."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        container.reload()
        state = container.attrs["State"]
        restarted = container.attrs["RestartCount"] > restarts_before
        if restarted and state["Running"] and state.get("Health", {}).get("Status") == "healthy":
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"the Collector container was not back and healthy within {timeout:g}s: {container.attrs['State']}")


@pytest.mark.docker
def test_the_demo_sends_through_the_collector_container(collector_stack: dict[str, str]) -> None:
    settings = load_settings(environ=collector_stack)
    runtime = DockerRuntime(settings)
    container = _collector(runtime)
    # The image's own healthcheck (python3 against the health_check extension) runs in the container.
    _wait_restarted(container, restarts_before=-1, timeout=60)
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    # The demo container is told the Collector's container address, not Phoenix's.
    demo_env = runtime.containers("ai-demo")[0].attrs["Config"]["Env"]
    assert f"AI_DEMO_OTLP_ENDPOINT={otelcol.OTELCOL.container_endpoint}" in demo_env
    before = otelcol.metric_sum(otelcol.metrics(settings), "otelcol_exporter_sent_spans", exporter=otelcol.EXPORTER_ID)
    chat = requests.post(f"{settings.ai_demo_url}/chat", json={"message": "What is the weather in Paris?"}, timeout=30)
    assert chat.status_code == 200, chat.text
    trace_id = chat.json()["trace_id"]
    spans = phoenix_client(settings).wait_for_traces(settings.phoenix_project_name, [trace_id], timeout=60)[trace_id]
    assert spans, "the demo's trace never reached Phoenix through the Collector"
    after = otelcol.metric_sum(otelcol.metrics(settings), "otelcol_exporter_sent_spans", exporter=otelcol.EXPORTER_ID)
    print(f"one /chat: {len(spans)} spans in Phoenix; the Collector's sent spans went from {before:.0f} to {after:.0f}")
    assert after - before >= len(spans)


@pytest.mark.docker
def test_a_killed_collector_container_is_restarted_and_the_traffic_lands(
    collector_stack: dict[str, str], tmp_path: Path
) -> None:
    settings = load_settings(environ=collector_stack)
    runtime = DockerRuntime(settings)
    container = _collector(runtime)
    restarts_before = container.attrs["RestartCount"]
    volume_before = _queue_volume(container)
    accepted_before = _accepted_spans(settings)

    report_file = tmp_path / "traffic.json"
    command = ["traffic", "--requests", str(REQUESTS), "--concurrency", str(CONCURRENCY), "--save", str(report_file)]
    traffic = subprocess.Popen(
        [sys.executable, "-m", "invoke", *command],
        env={**os.environ, **collector_stack},
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        while _accepted_spans(settings) - accepted_before < KILL_AFTER_SPANS and traffic.poll() is None:
            time.sleep(0.05)
        assert traffic.poll() is None, "the traffic ended before the kill: nothing was killed under traffic"
        accepted_at_kill = _accepted_spans(settings) - accepted_before
        _crash(container)
        back_after = _wait_restarted(container, restarts_before)
        output, _ = traffic.communicate(timeout=600)
    finally:
        if traffic.poll() is None:
            traffic.kill()
            traffic.wait()
    assert traffic.returncode == 0, output

    # Restarted by its policy: the same container (not a new one from `up`), the same queue volume.
    assert [c.id for c in runtime.containers(OTELCOL_NAME)] == [container.id]
    assert container.attrs["RestartCount"] == restarts_before + 1
    assert _queue_volume(container) == volume_before

    trace_ids = json.loads(report_file.read_text())["trace_ids"]
    by_trace = phoenix_client(settings).wait_for_traces(
        settings.phoenix_project_name, trace_ids, timeout=90, min_spans_per_trace=SPANS_PER_TRACE
    )
    complete = sum(len(spans) >= SPANS_PER_TRACE for spans in by_trace.values())
    partial = sum(0 < len(spans) < SPANS_PER_TRACE for spans in by_trace.values())
    missing = sum(not spans for spans in by_trace.values())
    demo_log = [line for line in runtime.logs("ai-demo", tail=2000) if "xport" in line]
    print(
        f"\nCollector container killed after it accepted {accepted_at_kill:.0f} spans of the traffic, back and "
        f"healthy {back_after:.1f}s later (restart policy, RestartCount {restarts_before} -> "
        f"{container.attrs['RestartCount']}, volume {volume_before} kept)\n"
        f"requests: {REQUESTS} sent, {len(trace_ids)} answered 200; traces in Phoenix: {complete} complete, "
        f"{partial} partial, {missing} missing\n"
        f"the demo's export errors logged: {len(demo_log)}" + "".join(f"\n  {line}" for line in demo_log[:5])
    )
    assert len(trace_ids) == REQUESTS, output
    # The receiver answers only once the spans are in the on-disk sending queue (no batch processor in front of
    # it), and the demo's exporter retries while the container restarts: issue 32's bound, 196 of 200.
    assert complete >= 196, "fewer than 196 of 200 traces landed whole after the Collector was killed"


@pytest.mark.docker
def test_spans_queued_on_the_volume_outlive_a_killed_collector(collector_stack: dict[str, str]) -> None:
    """Phoenix stopped: the Collector queues the demo's spans on its volume; killed and restarted by its policy,
    it sends them once Phoenix is back."""
    settings = load_settings(environ=collector_stack)
    runtime = DockerRuntime(settings)
    phoenix = runtime.containers(PHOENIX_NAME)[0]
    collector = _collector(runtime)
    labels = {"exporter": otelcol.EXPORTER_ID}
    phoenix.stop(timeout=30)  # a stop by hand: its restart policy leaves it stopped
    try:
        trace_ids = []
        for index in range(10):
            chat = requests.post(
                f"{settings.ai_demo_url}/chat", json={"message": f"Weather in Oslo? #{index}"}, timeout=30
            )
            assert chat.status_code == 200, chat.text
            trace_ids.append(chat.json()["trace_id"])
        deadline = time.monotonic() + 60
        queued = 0.0
        while time.monotonic() < deadline:
            queued = otelcol.metric_sum(otelcol.metrics(settings), "otelcol_exporter_queue_size", **labels)
            if queued > 0 and _accepted_spans(settings) >= 10 * SPANS_PER_TRACE:
                break
            time.sleep(0.2)
        assert queued > 0, "nothing waited in the Collector's queue while Phoenix was stopped"
        time.sleep(1)  # the batch processor's 200 ms: every accepted span is in the queue, not in memory
        restarts_before = collector.attrs["RestartCount"]
        _crash(collector)
        back_after = _wait_restarted(collector, restarts_before)
        queued_after = otelcol.metric_sum(otelcol.metrics(settings), "otelcol_exporter_queue_size", **labels)
    finally:
        phoenix.start()
    assert wait_healthy(f"{settings.phoenix_url}/healthz", timeout=180).ok
    by_trace = phoenix_client(settings).wait_for_traces(
        settings.phoenix_project_name, trace_ids, timeout=180, min_spans_per_trace=SPANS_PER_TRACE
    )
    complete = sum(len(spans) >= SPANS_PER_TRACE for spans in by_trace.values())
    print(
        f"\nPhoenix stopped: {queued:.0f} bytes queued; the Collector killed and back {back_after:.1f}s later with "
        f"{queued_after:.0f} bytes in its queue; Phoenix started: {complete} of {len(trace_ids)} traces complete"
    )
    assert queued_after > 0, "the restarted Collector's queue was empty: the volume did not keep it"
    assert complete == len(trace_ids)
