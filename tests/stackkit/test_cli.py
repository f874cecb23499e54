"""Every task ends with one message and an exit code, never a traceback, on real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from isolation import invoke, isolated_environ

from stackkit.commands import up as stack
from stackkit.core import envfile
from stackkit.core.errors import OperationFailed
from stackkit.core.settings import REPO_ROOT, load_settings
from stackkit.phoenix import keys as auth
from stackkit.phoenix.api import PhoenixError
from stackkit.runtimes.native import NativeRuntime
from stackkit.runtimes.render import ENV_DIR

pytestmark = pytest.mark.phoenix


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    environ = isolated_environ(tmp_path_factory.mktemp("cli") / "state")
    result = invoke(environ, "up")
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield environ
    finally:
        invoke(environ, "down")


def test_closed_stdout_ends_quietly(running_stack: dict[str, str]) -> None:
    """`invoke traffic | head -1`: the reader goes away after one line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", "traffic", "--requests", "3"],
        env={**os.environ, **running_stack},
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0, stderr
    assert first.startswith(b"traffic: 3 sent")
    assert "Traceback" not in stderr


def test_usage_errors_exit_2_with_one_line(running_stack: dict[str, str]) -> None:
    for args, expected in (
        (("logs", "--service", "phenix"), "unknown component 'phenix': choose from phoenix, alloy, otelcol, ai-demo"),
        (("logs", "--service", "phoenix", "--tail", "-5"), "--tail -5: expected a number of lines of at least 0"),
        (("restart", "--service", "nope"), "unknown component 'nope'"),
        (("traffic", "--requests", "0"), "requests=0: expected at least 1"),
    ):
        result = invoke(running_stack, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert expected in result.stderr
        assert "Traceback" not in result.stderr


def test_restart_whose_start_fails_brings_the_senders_back(running_stack: dict[str, str]) -> None:
    settings = load_settings(environ=running_stack)
    phoenix_env = settings.rendered_dir / ENV_DIR / "phoenix.env"
    original = phoenix_env.read_text()
    # A port Phoenix cannot parse: its process exits at start, as a real misconfiguration would.
    envfile.write(phoenix_env, {**envfile.read(phoenix_env), "PHOENIX_PORT": "not-a-port"})
    try:
        result = invoke(running_stack, "restart", "--service", "phoenix")
    finally:
        phoenix_env.write_text(original)
    assert result.returncode == 1, result.stdout + result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "restarting phoenix failed" in error_lines[0], result.stderr
    assert "Traceback" not in result.stderr
    runtime = NativeRuntime(settings)
    assert runtime.state("ai-demo").running, "the demo must come back even though Phoenix did not"
    again = invoke(running_stack, "restart", "--service", "phoenix")
    assert again.returncode == 1 and "phoenix is not running: `invoke up` starts it" in again.stderr
    assert invoke(running_stack, "up").returncode == 0
    assert runtime.state("phoenix").running


def test_a_failed_key_mint_during_up_undoes_what_it_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    environ = isolated_environ(tmp_path / "state", PHOENIX_ENABLE_AUTH="true")
    settings = load_settings(environ=environ)

    def refuse(*_: object) -> object:
        raise PhoenixError(500, "POST /v1/system/api_keys: HTTP 500 (injected)")

    # The failure is injected at the one call that mints; Phoenix, the runtime and the undo are real.
    monkeypatch.setattr(auth, "ensure_ingest_key", refuse)
    lines: list[str] = []
    with pytest.raises(OperationFailed, match="minting Phoenix's ingestion key failed"):
        stack.up(settings, "native", out=lines.append)
    runtime = NativeRuntime(settings)
    assert not runtime.state("phoenix").running, "\n".join(lines)
    assert "phoenix: stopped (started by this run)" in "\n".join(lines)
