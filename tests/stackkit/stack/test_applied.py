"""The stack remembers how it was started: tasks from another shell act on the stack as it runs, changes are
applied in place, a second task waits for the first, and nothing is lost on the way. Real processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from isolation import invoke, isolated_environ
from reliability_helpers import invoke_ok

from stackkit.core import secrets
from stackkit.core.ports import free_ports
from stackkit.core.processes import alive
from stackkit.core.settings import REPO_ROOT, load_settings
from stackkit.phoenix.api import PhoenixClient
from stackkit.runtimes.native import NativeRuntime

pytestmark = pytest.mark.phoenix


def plain_shell(environ: dict[str, str]) -> dict[str, str]:
    """Another shell: only what locates the stack (its .env and state folder), none of the overrides."""
    return {name: environ[name] for name in ("STACK_ENV_FILE", "STACK_STATE_DIR")}


def traces_in_phoenix(environ: dict[str, str]) -> int:
    settings = load_settings(environ=plain_shell(environ))
    token = secrets.load(settings).get("PHOENIX_ADMIN_SECRET", "")
    roots = PhoenixClient(settings.phoenix_url, token=token).spans(settings.phoenix_project_name, parent_id="null")
    return len({span["context"]["trace_id"] for span in roots})


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A stack brought up with PHOENIX_ENABLE_AUTH=true given on the command line only."""
    environ = isolated_environ(tmp_path / "state", PHOENIX_ENABLE_AUTH="true")
    try:
        invoke_ok(environ, "up")
        yield environ
    finally:
        invoke(plain_shell(environ), "down")


def test_down_from_another_shell_drains_with_the_key_and_loses_nothing(secured: dict[str, str]) -> None:
    invoke_ok(secured, "traffic", "--requests", "300", "--concurrency", "8")
    down = invoke_ok(plain_shell(secured), "down")
    assert "every received span is written" in down, down
    invoke_ok(plain_shell(secured), "up")
    assert traces_in_phoenix(secured) == 300


def test_a_crashed_demo_comes_back_with_its_key(secured: dict[str, str]) -> None:
    settings = load_settings(environ=plain_shell(secured))
    demo_pid = int((settings.run_dir / "ai-demo.pid").read_text().split()[0])
    os.killpg(demo_pid, signal.SIGKILL)
    while alive(demo_pid):
        time.sleep(0.1)
    # supervisord starts it again on its own; `up` finds it starting or healthy, and starts nothing twice.
    output = invoke_ok(plain_shell(secured), "up")
    assert "ai-demo: healthy" in output or "ai-demo: already healthy" in output, output
    answer = requests.post(f"{settings.ai_demo_url}/chat", json={"message": "Weather in Oslo?"}, timeout=30).json()
    token = secrets.load(settings)["PHOENIX_ADMIN_SECRET"]
    spans = PhoenixClient(settings.phoenix_url, token=token).wait_for_traces(
        settings.phoenix_project_name, [answer["trace_id"]], timeout=30, min_spans_per_trace=4
    )
    assert len(spans[answer["trace_id"]]) >= 4, "the restarted demo's spans must land (its key came back)"


def test_a_new_port_is_applied_in_place_and_status_shows_what_runs(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    try:
        invoke_ok(environ, "up", "--only", "phoenix")
        new_port = str(free_ports(1)[0])
        moved = invoke_ok({**plain_shell(environ), "PHOENIX_UI_PORT": new_port}, "up")
        assert f"PHOENIX_UI_PORT: {environ['PHOENIX_UI_PORT']} -> {new_port} (restarts phoenix" in moved
        assert requests.get(f"http://127.0.0.1:{new_port}/healthz", timeout=5).status_code == 200
        # From a plain shell the stack is where it was moved to.
        status = invoke_ok(plain_shell(environ), "status")
        assert f"127.0.0.1:{new_port}" in status and "healthy" in status
        pending = invoke_ok({**plain_shell(environ), "PHOENIX_VERSION": "99.99.99"}, "status")
        phoenix_row = next(line for line in pending.splitlines() if line.startswith("phoenix"))
        assert "20.26.1" in phoenix_row and "99.99.99" not in phoenix_row
        assert "PHOENIX_VERSION: 20.26.1 -> 99.99.99 (restarts phoenix)" in pending
    finally:
        invoke(plain_shell(environ), "down")


def test_three_ups_at_once_never_tell_anyone_to_run_down(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            results = list(pool.map(lambda _: invoke(environ, "up"), range(3)))
        assert any(result.returncode == 0 for result in results)
        for result in results:
            assert "invoke down" not in result.stderr
            if result.returncode != 0:
                assert result.returncode == 1
                assert "another task is changing the stack" in result.stderr and "(invoke up)" in result.stderr
        assert "healthy" in invoke_ok(environ, "status")
    finally:
        invoke(environ, "down")


def _ctrl_c_ignored() -> None:
    # What a shell without job control (a script, CI, `cmd &` in a subshell) gives its background commands.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("inherited", ["default", "ignored"])
def test_ctrl_c_during_up_undoes_what_it_started(tmp_path: Path, inherited: str) -> None:
    """Also when `invoke up` was started with SIGINT ignored, as CI's run started it once: that Ctrl-C was
    lost (the stack came up, exit 0)."""
    environ = isolated_environ(tmp_path / "state")
    settings = load_settings(environ=environ)
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", "up"],
        env={**os.environ, **environ},
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_ignored if inherited == "ignored" else None,
    )
    runtime = NativeRuntime(settings)
    deadline = time.monotonic() + 120
    while not (started := runtime.state("phoenix")).running and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    assert started.running, "phoenix was not started within 120 s"
    phoenix_pid = int(re.search(r"pid (\d+)", started.detail).group(1))  # type: ignore[union-attr]
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stdout + stderr
    assert "interrupted (Ctrl-C): stopping what this run started" in stdout
    assert "phoenix: stopped (started by this run)" in stdout
    assert "Traceback" not in stderr
    assert not alive(phoenix_pid)


def test_tasks_on_a_folder_never_brought_up_say_so(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    for service in ("ai-demo", "phoenix"):
        result = invoke(environ, "restart", "--service", service)
        assert result.returncode == 1
        assert f"no stack has been brought up in {tmp_path / 'state'}: run `invoke up` first" in result.stderr
    assert not list((tmp_path / "state").glob("run/*.pid")), "nothing may be started"
    logs = invoke(environ, "logs", "--service", "phoenix")
    assert logs.returncode == 1 and "run `invoke up` first" in logs.stderr


def test_only_demo_with_phoenix_down_refuses(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    result = invoke(environ, "up", "--only", "ai-demo")
    assert result.returncode == 1
    assert "ai-demo sends its spans to phoenix, which is not running and healthy" in result.stderr
    assert not list((tmp_path / "state").glob("run/*.pid"))


@pytest.mark.parametrize(
    ("env_text", "expected"),
    [
        ('PHOENIX_ENABLE_AUTH="true\n', ":1: cannot parse 'PHOENIX_ENABLE_AUTH'"),
        ("PHOENX_UI_PORT=16006\n", "PHOENX_UI_PORT is not a setting of this stack (did you mean PHOENIX_UI_PORT?)"),
        ("PHOENIX_PORT=7000\n", "PHOENIX_PORT is set by the stack itself; set PHOENIX_UI_PORT instead"),
    ],
)
def test_a_broken_env_file_exits_2_and_starts_nothing(tmp_path: Path, env_text: str, expected: str) -> None:
    environ = isolated_environ(tmp_path / "state")
    Path(environ["STACK_ENV_FILE"]).write_text(env_text)
    result = invoke(environ, "up")
    assert result.returncode == 2
    assert expected in result.stderr
    assert not (tmp_path / "state").exists()


def test_phoenix_settings_pass_through_and_are_listed(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    Path(environ["STACK_ENV_FILE"]).write_text("PHOENIX_MAX_SPANS_QUEUE_SIZE=30000\n")
    try:
        invoke_ok(environ, "up", "--only", "phoenix")
        settings = load_settings(environ=environ)
        rendered = (settings.rendered_dir / "env" / "phoenix.env").read_text()
        assert "PHOENIX_MAX_SPANS_QUEUE_SIZE='30000'" in rendered
        status = invoke_ok(plain_shell(environ) | {"STACK_ENV_FILE": environ["STACK_ENV_FILE"]}, "status")
        assert "PHOENIX_MAX_SPANS_QUEUE_SIZE=30000" in status
    finally:
        invoke(environ, "down")
