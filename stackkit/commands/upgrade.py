"""Upgrading a running native Phoenix to another PHOENIX_VERSION, with a way back.

Phoenix migrates its database at start, with no copy taken first: a failed migration leaves neither
version working. Here: the new version's environment is made ready first (nothing is stopped while it
installs), then the senders stop, Phoenix drains and stops, a backup is written, the new version's
`phoenix db migrate` runs on its own, the new version starts and must hold every span the old one did.
On any failure after the backup: the backup is restored, the old version started again, and the error says
which step failed. `invoke upgrade --to X` and `invoke up` with a new PHOENIX_VERSION both come here.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from stackkit.commands import backup
from stackkit.components.component import Plan
from stackkit.components.phoenix import PHOENIX
from stackkit.core import secrets
from stackkit.core.errors import OperationFailed, StackkitError, UsageError
from stackkit.core.output import Printer
from stackkit.core.settings import Settings, settings_from_given
from stackkit.phoenix import database
from stackkit.phoenix import versions as phoenix_env
from stackkit.runtimes.native import NativeRuntime
from stackkit.runtimes.render import render
from stackkit.stack import applied, lifecycle
from stackkit.stack.lifecycle import make_plan, recorded_runtime, require_applied

MIGRATE_TIMEOUT = 1800.0


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _with_version(settings: Settings, version: str) -> Settings:
    given = {**dict(settings.given), "PHOENIX_VERSION": version}
    return settings_from_given(
        given, settings.repo_root, passthrough=dict(settings.phoenix_passthrough), explicit=settings.explicit
    )


class _Steps:
    """Times each step, for the summary line (backup, migration, start)."""

    def __init__(self, out: Printer):
        self.out = out
        self.times: dict[str, float] = {}
        self.current = ""

    def run(self, name: str, action: Callable[[], object]) -> object:
        self.current = name
        started = time.monotonic()
        result = action()
        self.times[name] = time.monotonic() - started
        self.out(f"upgrade: {name} done in {self.times[name]:.1f}s")
        return result

    def summary(self) -> str:
        return ", ".join(f"{name} {seconds:.1f}s" for name, seconds in self.times.items())


def _start_phoenix(settings: Settings, plan: Plan, out: Printer) -> None:
    render(settings, plan, secrets.load(settings))
    lifecycle.start_and_wait(settings, NativeRuntime(settings), PHOENIX.name, plan, out)


def _reason(done: subprocess.CompletedProcess[str]) -> str:
    """The error line of a failed migration (its output is mostly SQL echoed by SQLAlchemy)."""
    lines = [line.strip() for line in (done.stdout + "\n" + done.stderr).splitlines() if line.strip()]
    # The exception lines that say something ("sqlite3.OperationalError: table x already exists"), not
    # Phoenix's own PhoenixMigrationError, whose message is a support notice.
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): \S", line)]
    return (errors[-1] if errors else " | ".join(lines[-3:]))[:400]


def _migrate(settings: Settings, python: str) -> None:
    runtime = NativeRuntime(settings)
    done = subprocess.run(
        [python, "-m", "phoenix.server.main", "db", "migrate"],
        env=runtime.environment(PHOENIX.name),
        cwd=settings.state_dir,
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT,
    )
    if done.returncode != 0:
        raise OperationFailed(f"`phoenix db migrate` of Phoenix {settings.phoenix_version} failed: {_reason(done)}")


def _check_spans(settings: Settings, expected: dict[str, int]) -> None:
    found = database.count_rows(settings)
    if found.get("spans", 0) < expected.get("spans", 0):
        raise OperationFailed(
            f"Phoenix {settings.phoenix_version} holds {found['spans']} spans, {expected['spans']} before"
        )


def upgrade(settings: Settings, to_version: str, out: Printer = print) -> None:
    """Upgrade the running native Phoenix to `to_version`; on failure roll back and raise OperationFailed."""
    state = require_applied(settings)
    runtime = recorded_runtime(settings)
    if runtime.name != "native":
        raise UsageError(
            "`invoke upgrade` works on the native runtime; on docker: `invoke backup` is not available there, "
            "so `invoke down`, set PHOENIX_VERSION, `invoke up`"
        )
    if settings.phoenix_external_url:
        raise UsageError("PHOENIX_EXTERNAL_URL is set: that Phoenix is not the stack's to upgrade")
    old = applied.applied_settings(settings, state)
    from_version = old.phoenix_version
    new = _with_version(old, to_version)  # validates the version's form
    if to_version == from_version:
        out(f"upgrade: Phoenix {to_version} is already running")
        return
    if _version_key(to_version) < _version_key(from_version):
        raise UsageError(
            f"PHOENIX_VERSION={to_version} is older than the running {from_version}: Phoenix cannot migrate a "
            "database back. Restore a backup taken before the upgrade instead (`invoke restore --input ...`)"
        )
    if not runtime.state(PHOENIX.name).running:
        raise OperationFailed("Phoenix is not running: `invoke up` with the new PHOENIX_VERSION starts it")
    steps = _Steps(out)
    python = str(steps.run("environment", lambda: phoenix_env.ensure(to_version, out)))
    plan = make_plan(runtime)

    def say(line: str) -> None:
        out(f"upgrade: {line}")

    stopped = steps.run("drain", lambda: lifecycle.pause_senders(old, runtime, say))
    assert isinstance(stopped, list)
    runtime.stop(PHOENIX.name)
    out(f"upgrade: Phoenix {from_version} stopped")
    before = database.count_rows(old)
    saved = steps.run("backup", lambda: backup.backup(old, out=out))
    assert isinstance(saved, backup.BackupResult)
    try:
        steps.run("migration", lambda: _migrate(new, python))
        steps.run("start", lambda: _start_phoenix(new, plan, say))
        steps.run("verify", lambda: _check_spans(new, before))
    except (StackkitError, OSError, subprocess.TimeoutExpired) as error:
        failed_step = steps.current
        out(f"upgrade: {failed_step} failed; rolling back to Phoenix {from_version}")
        _roll_back(old, plan, saved.path, before, stopped, say)
        raise OperationFailed(
            f"upgrading Phoenix {from_version} -> {to_version} failed at the {failed_step} step: {error}\n"
            f"Rolled back: restored {saved.path} and Phoenix {from_version} runs again with {before['spans']} "
            f"spans. PHOENIX_VERSION stays {from_version} in the running stack."
        ) from None
    _start_senders(new, plan, stopped, say)
    applied.record(new, lifecycle.running_plan(runtime, plan))
    out(
        f"upgrade: Phoenix {from_version} -> {to_version} done, {before['spans']} spans kept; backup {saved.path}; "
        f"times: {steps.summary()}"
    )


def _start_senders(settings: Settings, plan: Plan, names: list[str], out: Printer) -> None:
    """The senders come back after the upgrade or the rollback; one that fails is reported, not raised (Phoenix
    runs, and `invoke up` starts it again)."""
    try:
        lifecycle.resume_senders(settings, NativeRuntime(settings), plan, names, out)
    except StackkitError as error:
        out(str(error))


def _roll_back(
    old: Settings, plan: Plan, saved: Path, before: dict[str, int], senders: list[str], out: Printer
) -> None:
    NativeRuntime(old).stop(PHOENIX.name)
    backup.restore(old, saved, force=True, out=out)
    _start_phoenix(old, plan, out)
    _check_spans(old, before)
    out(f"rolled back; Phoenix {old.phoenix_version} is healthy with {before['spans']} spans")
    _start_senders(old, plan, senders, out)


def wanted(state: applied.AppliedState, settings: Settings) -> bool:
    """`invoke up` with a new PHOENIX_VERSION on a running native Phoenix goes through upgrade()."""
    changed = any(change.name == "PHOENIX_VERSION" for change in applied.changes(state, settings))
    return changed and state.runtime == "native" and not settings.phoenix_external_url


def upgrade_if_wanted(settings: Settings, state: applied.AppliedState, out: Printer) -> applied.AppliedState:
    """A new PHOENIX_VERSION on a running native Phoenix: backup, migration alone, rollback on failure."""
    if not wanted(state, settings):
        return state
    upgrade(settings, settings.phoenix_version, out)
    return applied.read(settings) or state
