"""What the stack says about the fan-out is measured (issue 32), with the real Collector natively:
- verify's canary takes the route the apps are told, so a frozen or dead Collector fails it, named with the fix;
- `down` drains the Collector's queue into Phoenix or says how many bytes stay (its queue metric), and those are
  sent at the next `up` with the Collector; switching STACK_COLLECTOR meanwhile is refused, naming the bytes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from collector_helpers import collector_binary
from isolation import invoke, isolated_environ

from stackkit.components import otelcol
from stackkit.core.processes import alive
from stackkit.core.settings import REPO_ROOT, Settings, load_settings
from stackkit.phoenix import canary
from stackkit.phoenix.api import phoenix_client
from stackkit.runtimes.native import NativeRuntime
from stackkit.verify.checks.pipeline import pipeline_canary
from stackkit.verify.registry import Status, VerifyContext

pytestmark = pytest.mark.phoenix
SPANS = 12


def _up(environ: dict[str, str], **extra: str) -> subprocess.CompletedProcess[str]:
    return invoke(environ | extra, "up", "--runtime", "native", timeout=900)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, str]]:
    collector_binary()
    # A loaded machine (2 cores shared) starts Phoenix slowly.
    environ = isolated_environ(tmp_path / "state", STACK_COLLECTOR="otelcol", STACK_HEALTH_TIMEOUT="600")
    started = _up(environ)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield environ
    finally:
        invoke(environ, "down", "--force", timeout=900)


def _settings(environ: dict[str, str]) -> Settings:
    return load_settings(environ=environ)


def _pid(environ: dict[str, str], component: str) -> int:
    pid = NativeRuntime(_settings(environ)).pid(component)
    assert pid, f"{component} is not running"
    return pid


def test_the_canary_fails_on_a_frozen_or_dead_collector_and_names_it(stack: dict[str, str]) -> None:
    settings = _settings(stack)
    passed = pipeline_canary(VerifyContext.build(settings))
    assert passed.status is Status.PASS, passed
    assert "sent to the fan-out (otelcol)'s OTLP/HTTP receiver, where the apps send" in passed.summary

    collector = _pid(stack, "otelcol")
    os.kill(collector, signal.SIGSTOP)
    try:
        frozen = pipeline_canary(VerifyContext.build(settings))
    finally:
        os.kill(collector, signal.SIGCONT)
    print(f"frozen Collector: {frozen.status.name}: {frozen.summary} | fix: {frozen.fix}")
    assert frozen.status is Status.FAIL
    assert "the fan-out (otelcol) at " in frozen.summary and "did not answer in time" in frozen.summary
    assert "`invoke restart otelcol`" in frozen.fix

    os.kill(collector, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while alive(collector) and time.monotonic() < deadline:
        time.sleep(0.2)
    dead = pipeline_canary(VerifyContext.build(settings))
    print(f"dead Collector: {dead.status.name}: {dead.summary} | fix: {dead.fix}")
    assert dead.status is Status.FAIL
    assert "the fan-out (otelcol) at " in dead.summary and "refused the connection" in dead.summary
    assert "`invoke up` starts otelcol again" in dead.fix


def _queued(settings: Settings) -> float:
    return otelcol.queued_bytes(settings)


def test_down_says_what_stays_queued_and_up_sends_it(stack: dict[str, str]) -> None:
    settings = _settings(stack)
    traces_url = f"{settings.alloy_otlp_http_url}/v1/traces"
    phoenix = _pid(stack, "phoenix")
    os.kill(phoenix, signal.SIGSTOP)
    try:
        sent = []
        for _ in range(SPANS):  # apart, so each is its own batch: two are in flight, the others queue
            result = canary.send_canary(traces_url)
            assert result.status_code == 200, result
            sent.append(result.trace_id)
            time.sleep(0.4)
        deadline = time.monotonic() + 30
        while _queued(settings) == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _queued(settings) > 0

        down = subprocess.Popen(
            [sys.executable, "-m", "invoke", "down"],
            env={**os.environ, **stack},
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines = []
        assert down.stdout is not None
        for line in down.stdout:
            lines.append(line.rstrip())
            if "bytes of spans stay in its on-disk queue" in line:
                break
    finally:
        os.kill(phoenix, signal.SIGCONT)  # Phoenix answers again: its own drain can finish
    rest, _ = down.communicate(timeout=600)
    lines += rest.splitlines()
    print("\n".join(lines))
    assert down.returncode == 0
    stays = next(line for line in lines if "bytes of spans stay in its on-disk queue" in line)
    queued = int(re.search(r"otelcol: (\d+) bytes of spans stay", stays).group(1))  # type: ignore[union-attr]
    assert queued > 0
    assert "they are sent at the next `invoke up` with STACK_COLLECTOR=otelcol" in stays
    assert lines.index(stays) < next(i for i, line in enumerate(lines) if "phoenix: stopped" in line)
    assert f"not yet in Phoenix: {queued} bytes in otelcol's on-disk queue" in lines

    switched = _up(stack, STACK_COLLECTOR="alloy")
    print(switched.stderr)
    assert switched.returncode == 2
    assert f"the otelcol fan-out's on-disk queue still holds {queued} bytes of spans" in switched.stderr
    assert "`STACK_COLLECTOR=otelcol invoke up`" in switched.stderr
    assert not NativeRuntime(_settings(stack)).state("phoenix").running  # nothing started

    again = _up(stack, STACK_COLLECTOR="otelcol")
    assert again.returncode == 0, again.stdout + again.stderr
    landed = phoenix_client(_settings(stack)).wait_for_traces(canary.STACK_PROJECT, sent, timeout=120)
    found = sum(1 for spans in landed.values() if spans)
    print(f"sent {SPANS} spans while Phoenix was frozen; {queued} bytes stayed queued at down; {found} landed after up")
    assert found == SPANS

    drained = invoke(stack, "down", timeout=900)
    print(drained.stdout)
    assert drained.returncode == 0
    assert re.search(
        r"otelcol: its queue is empty \(otelcol_exporter_queue_size 0 after [\d.]+s\): "
        r"nothing it accepted waits to be sent",
        drained.stdout,
    )
