"""`up` applying a change that fails to start brings back what ran before, with the settings it ran with, and
says so (issue 32). The ordering runs on an in-process fake runtime (tests/fake_runtime.py): milliseconds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fake_runtime import FakeRuntime
from isolation import isolated_environ

from stackkit.commands import up as up_task
from stackkit.components import otelcol
from stackkit.components.component import Plan
from stackkit.core import envfile, phoenix_values
from stackkit.core.errors import OperationFailed, UsageError
from stackkit.core.setting_values import SettingsError
from stackkit.core.settings import Settings, load_settings, phoenix_setting_names
from stackkit.runtimes.render import ENV_DIR
from stackkit.stack import applied, fan_out_queue

QUEUE = "PHOENIX_MAX_SPANS_QUEUE_SIZE"


def _running_stack(tmp_path: Path) -> tuple[dict[str, str], FakeRuntime]:
    environ = isolated_environ(tmp_path / "state", **{QUEUE: "5000"})
    before = load_settings(environ=environ)
    runtime = FakeRuntime(before, running={"phoenix", "ai-demo"}, missing={"alloy": "no alloy binary here"})
    applied.record(before, Plan(runtime="native", components=("phoenix", "ai-demo"), skipped={}))
    return environ, runtime


def _up(settings: Settings, runtime: FakeRuntime, out: Callable[[str], None] = lambda line: None) -> Plan:
    return up_task.up(settings, out=out, runtimes=runtime.maker, probes=runtime.probes())


def test_a_change_that_fails_to_start_brings_back_the_previous_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ, runtime = _running_stack(tmp_path)

    def phoenix_dies_with_the_new_value(settings: Settings, runtime: FakeRuntime, *args: object) -> Plan:
        assert dict(settings.phoenix_passthrough)[QUEUE] == "7000"
        runtime.start("phoenix", Plan(runtime="native", components=("phoenix",), skipped={}))
        runtime.stop("phoenix")  # what _bring_up does with what it started and never became healthy
        raise OperationFailed("phoenix did not become healthy at http://127.0.0.1:1/healthz (exited)")

    monkeypatch.setattr(up_task, "_bring_up", phoenix_dies_with_the_new_value)
    lines: list[str] = []
    after = load_settings(environ=environ | {QUEUE: "7000"})
    with pytest.raises(OperationFailed) as failed:
        _up(after, runtime, lines.append)

    assert runtime.events == [
        "stop ai-demo",  # stopped to apply the change, the sender first
        "drain phoenix",  # with the settings it ran with
        "stop phoenix",
        "start phoenix",  # with 7000: dies
        "stop phoenix",
        "start phoenix",  # brought back, in bring-up order, each waited for
        "wait phoenix",
        "start ai-demo",
        "wait ai-demo",
    ]
    assert [dict(settings.phoenix_passthrough)[QUEUE] for settings in runtime.drained_with] == ["5000"]
    assert runtime.running == {"phoenix", "ai-demo"}
    assert "applying the change of PHOENIX_MAX_SPANS_QUEUE_SIZE failed" in str(failed.value)
    assert "the stack runs again with its previous settings (phoenix, ai-demo started again)" in str(failed.value)
    rendered = envfile.read(after.rendered_dir / ENV_DIR / "phoenix.env")
    assert rendered[QUEUE] == "5000"
    state = applied.read(after)
    assert state is not None and state.phoenix_passthrough[QUEUE] == "5000"
    assert any("bringing back what ran before with the previous settings: phoenix, ai-demo" in line for line in lines)


def test_a_failed_bring_back_names_what_did_not_come_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    environ, runtime = _running_stack(tmp_path)

    def always_fails(settings: Settings, runtime: FakeRuntime, *args: object) -> Plan:
        raise OperationFailed("phoenix did not become healthy")

    monkeypatch.setattr(up_task, "_bring_up", always_fails)
    runtime.fail["wait ai-demo"] = OperationFailed("ai-demo did not become healthy")  # nor with the previous settings
    with pytest.raises(OperationFailed) as failed:
        _up(load_settings(environ=environ | {QUEUE: "7000"}), runtime)
    assert "bringing back the previous settings failed too for ai-demo" in str(failed.value)
    assert runtime.running == {"phoenix"}
    assert runtime.events[-2:] == ["wait ai-demo", "stop ai-demo"]  # its start that failed is undone


def test_a_bad_pass_through_value_is_refused_with_every_other_problem(tmp_path: Path) -> None:
    environ = isolated_environ(
        tmp_path / "state",
        **{QUEUE: "0", "PHOENIX_LOG_SQL": "yes", "ALERT_QUEUE_PERCENT": "100", "PHOENIX_LOGGING_MODE": "loud"},
    )
    with pytest.raises(SettingsError) as refused:
        load_settings(environ=environ)
    text = str(refused.value)
    assert refused.value.exit_code == 2
    assert f"{QUEUE}='0': Phoenix refuses to start with it: expected a positive integer" in text
    assert "PHOENIX_LOG_SQL='yes': Phoenix refuses to start with it: expected true or false" in text
    assert "PHOENIX_LOGGING_MODE='loud': Phoenix refuses to start with it: expected one of default, structured" in text
    assert "ALERT_QUEUE_PERCENT='100': expected a percentage from 1 to below 100" in text
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (QUEUE, "20000"),
        (QUEUE, " 5 "),  # Phoenix strips the value
        ("PHOENIX_LOG_SQL", "TRUE"),
        ("PHOENIX_LOGGING_LEVEL", "warning"),
        ("PHOENIX_DEFAULT_RETENTION_POLICY_DAYS", "0"),
        ("PHOENIX_ACCESS_TOKEN_EXPIRY_MINUTES", "0.5"),
        ("ALERT_QUEUE_PERCENT", "99.5"),
    ],
)
def test_values_phoenix_takes_are_accepted(tmp_path: Path, name: str, value: str) -> None:
    load_settings(environ=isolated_environ(tmp_path / "state", **{name: value}))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (QUEUE, "-3"),
        (QUEUE, "1.5"),
        ("PHOENIX_DEFAULT_RETENTION_POLICY_DAYS", "-1"),
        ("PHOENIX_ACCESS_TOKEN_EXPIRY_MINUTES", "0"),
        ("PHOENIX_DATABASE_USAGE_EMAIL_WARNING_THRESHOLD_PERCENTAGE", "101"),
        ("PHOENIX_SMTP_PORT", "70000"),
        ("PHOENIX_LOGGING_LEVEL", "loud"),
        ("ALERT_STORAGE_PERCENT", "100"),
        ("ALERT_DEMO_ERROR_PERCENT", "150"),
    ],
)
def test_values_phoenix_refuses_are_refused(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(environ=isolated_environ(tmp_path / "state", **{name: value}))
    assert refused.value.exit_code == 2
    assert f"{name}={value!r}" in str(refused.value)


def test_an_otelcol_version_the_native_build_cannot_run_is_refused_before_anything_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ, runtime = _running_stack(tmp_path)
    monkeypatch.setattr(otelcol, "binary", lambda: str(otelcol.built_binary()))  # the stack's build is the one run
    given = load_settings(environ=environ | {"STACK_COLLECTOR": "otelcol", "OTELCOL_VERSION": "0.150.0"})
    with pytest.raises(UsageError) as refused:
        _up(given, runtime)
    assert refused.value.exit_code == 2
    assert (
        f"OTELCOL_VERSION=0.150.0: the native runtime runs the stack's own Collector build, "
        f"core v{otelcol.build_core_version()}" in str(refused.value)
    )
    assert runtime.events == []


def test_switching_fan_out_with_spans_in_the_old_queue_is_refused_with_the_way(tmp_path: Path) -> None:
    environ, runtime = _running_stack(tmp_path)
    runtime.running.clear()  # the stack is down; the Collector's queue kept 4096 bytes at that `down`
    fan_out_queue.record(load_settings(environ=environ), "otelcol", 4096)
    with pytest.raises(UsageError) as refused:
        _up(load_settings(environ=environ | {"STACK_COLLECTOR": "alloy"}), runtime)
    assert refused.value.exit_code == 2
    text = str(refused.value)
    assert "STACK_COLLECTOR=alloy: the otelcol fan-out's on-disk queue still holds 4096 bytes of spans" in text
    assert "`STACK_COLLECTOR=otelcol invoke up`" in text and "then `invoke down` (which drains its queue)" in text
    assert runtime.events == []


def test_every_checked_pass_through_name_is_one_the_pinned_phoenix_reads() -> None:
    # A name Phoenix renamed or dropped would be a rule that never applies: phoenix_settings.txt follows its config.py.
    assert set(phoenix_values.RULES) <= phoenix_setting_names()
