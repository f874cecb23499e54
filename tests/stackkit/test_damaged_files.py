"""Each file the stack reads, damaged: every task ends in one message naming the file (and line) and the fix,
exit 2, never "unexpected ... (a bug in stackkit)" nor a check that "crashed" (real Phoenix for verify)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from isolation import invoke, isolated_environ
from reliability_helpers import invoke_ok

from stackkit.core.settings import load_settings

TASKS = (("status",), ("verify",), ("credentials",), ("backup",), ("down",), ("eval", "--wait", "0"))
DAMAGED_RECORDS = {
    "not-json": ("{not json", "not valid JSON"),
    "not-an-object": ("[1, 2]", "not a JSON object"),
    "settings-not-an-object": (json.dumps({"runtime": "native", "settings": ["x"]}), "settings not an object"),
}


def _no_bug(output: str) -> None:
    assert "a bug in stackkit" not in output and "Traceback" not in output and "crashed" not in output


@pytest.mark.parametrize("damage", DAMAGED_RECORDS)
def test_a_damaged_applied_record_is_named_by_every_task(tmp_path: Path, damage: str) -> None:
    text, said = DAMAGED_RECORDS[damage]
    environ = isolated_environ(tmp_path / "state")
    record = tmp_path / "state" / "applied.json"
    record.parent.mkdir()
    record.write_text(text)
    for task in TASKS:
        result = invoke(environ, *task, timeout=120)
        _no_bug(result.stdout + result.stderr)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, (task, result.stderr)
        assert f"{record}: {said}" in lines[0] and "delete applied.json, then run `invoke up`" in lines[0]
    print(f"\nMEASURED damaged applied.json ({damage}): {lines[0][:260]}")


def test_a_bad_value_in_the_applied_record_blames_the_record_not_env(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    record = tmp_path / "state" / "applied.json"
    record.parent.mkdir()
    record.write_text(json.dumps({"runtime": "native", "settings": {"PHOENIX_UI_PORT": "notaport"}}))
    result = invoke(environ, "down", timeout=120)
    assert result.returncode == 2
    assert f"read from {record}" in result.stderr and "delete applied.json" in result.stderr
    assert "Fix them in your .env" not in result.stderr


def test_a_bad_env_file_line_is_named_with_its_line(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    Path(environ["STACK_ENV_FILE"]).write_text("PHOENIX_UI_PORT=7000\nPHOENIX_ENABLE_AUTH='true\n")
    for task in TASKS:
        result = invoke(environ, *task, timeout=120)
        _no_bug(result.stdout + result.stderr)
        assert result.returncode == 2, task
        assert f"{environ['STACK_ENV_FILE']}:2: cannot parse 'PHOENIX_ENABLE_AUTH'" in result.stderr


@pytest.mark.phoenix
def test_damaged_secrets_and_rendered_env_files_of_a_running_stack_are_named(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state", PHOENIX_ENABLE_AUTH="true")
    try:
        invoke_ok(environ, "up", "--only", "phoenix")
        settings = load_settings(environ=environ)
        secrets_file = settings.secrets_file
        kept = secrets_file.read_text()
        secrets_file.write_text(kept + "PHOENIX_SECRET='unclosed\n")
        line = len(kept.splitlines()) + 1

        verify = invoke(environ, "verify")
        _no_bug(verify.stdout + verify.stderr)
        assert verify.returncode == 1
        named = [row for row in verify.stdout.splitlines() if f"{secrets_file}:{line}: cannot parse" in row]
        assert named and all(row.startswith("FAIL") for row in named), verify.stdout
        print(f"\nMEASURED verify with a bad secrets line: {named[0][:240]}")
        for task in (("credentials",), ("down",), ("backup",)):
            result = invoke(environ, *task)
            _no_bug(result.stdout + result.stderr)
            assert result.returncode == 2, (task, result.stdout, result.stderr)
            assert f"{secrets_file}:{line}: cannot parse 'PHOENIX_SECRET'" in result.stderr
        secrets_file.write_text(kept)

        rendered = settings.rendered_dir / "env" / "ai-demo.env"
        rendered.write_text("AI_DEMO_OTLP_ENDPOINT='unclosed\n")
        verify = invoke(environ, "verify")
        _no_bug(verify.stdout + verify.stderr)
        assert verify.returncode in (1, 2) and f"{rendered}:1: cannot parse" in verify.stdout + verify.stderr
    finally:
        invoke(environ, "down", "--force")
