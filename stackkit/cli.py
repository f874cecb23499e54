"""What each invoke task does, so tasks.py stays wiring. Errors become one message and an exit code."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from invoke.exceptions import Exit

from stackkit import evals, stack
from stackkit.render import render as render_files
from stackkit.settings import Settings, SettingsError, load_settings

T = TypeVar("T")
EXIT_FAILED, EXIT_BAD_SETTINGS = 1, 2


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        raise Exit(error.render(), code=EXIT_BAD_SETTINGS) from None


@contextmanager
def failures_exit() -> Iterator[None]:
    try:
        yield
    except stack.StackError as error:
        raise Exit(f"error: {error}", code=EXIT_FAILED) from None


def _with_settings(action: Callable[[Settings], T]) -> T:
    settings = settings_or_exit()
    with failures_exit():
        return action(settings)


def render() -> None:
    def action(settings: Settings) -> None:
        runtime = stack.resolve_runtime(settings, None)
        plan = stack.make_plan(runtime)
        for path in render_files(settings, plan, stack.secrets.load(settings)):
            print(f"wrote {path}")

    _with_settings(action)


def up(runtime: str | None, only: str | None) -> None:
    components = [name.strip() for name in only.split(",")] if only else None
    _with_settings(lambda settings: stack.up(settings, runtime, components))


def down(volumes: bool, yes: bool) -> None:
    def action(settings: Settings) -> None:
        if (
            volumes
            and not yes
            and not _confirm(
                f"Delete ALL stored traces (Phoenix's data in {settings.state_dir} or its Docker volumes)?"
            )
        ):
            raise Exit("nothing deleted (pass --yes to skip this question)", code=EXIT_FAILED)
        stack.down(settings, remove_data=volumes)

    _with_settings(action)


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def restart(service: str) -> None:
    _with_settings(lambda settings: stack.restart(settings, service))


def status() -> None:
    _with_settings(lambda settings: print(stack.format_status(stack.status(settings))))


def logs(service: str, follow: bool, tail: int) -> None:
    def action(settings: Settings) -> None:
        try:
            for line in stack.logs(settings, service, tail=tail, follow=follow):
                print(line, flush=True)
        except KeyboardInterrupt:
            pass

    _with_settings(action)


def rotate_key() -> None:
    _with_settings(lambda settings: stack.rotate_key(settings))


def evaluate(since: str, limit: int, as_json: bool, wait: str | float | None = None) -> None:
    try:
        evals.parse_since(since)  # a typo in --since is reported before anything is read
        wait_s = evals.parse_wait(wait)
    except evals.EvalError as error:
        raise Exit(f"error: {error}", code=EXIT_FAILED) from None

    def action(settings: Settings) -> None:
        try:
            report = evals.run_evals(settings, since, limit, wait_s)
        except evals.EvalError as error:
            raise Exit(f"error: {error}", code=EXIT_FAILED) from None
        print(json.dumps(report.as_dict(), indent=2) if as_json else evals.format_report(report))

    _with_settings(action)


def traffic(requests: int, sessions: int, concurrency: int, fail_ratio: float, save: str | None) -> None:
    from stackkit import traffic as traffic_module

    def action(settings: Settings) -> None:
        if not stack.recorded_runtime(settings).state("ai-demo").running:
            raise stack.StackError("the AI demo is not running: run `invoke up` first")
        try:
            report = traffic_module.run_traffic(
                settings.ai_demo_url,
                requests,
                sessions,
                concurrency,
                fail_ratio,
                progress=sys.stderr.isatty(),
            )
        except ValueError as error:
            raise Exit(f"error: {error}", code=EXIT_BAD_SETTINGS) from None
        print(traffic_module.format_report(report))
        if save:
            Path(save).write_text(json.dumps(dataclasses.asdict(report), indent=2))
            print(f"report saved to {save}")
        if report.failed:
            raise Exit(f"{report.failed} of {report.sent} requests failed", code=EXIT_FAILED)

    _with_settings(action)


def verify(static: bool, as_json: bool) -> None:
    from stackkit.verify import format_lines, has_failures, run_checks, to_json

    def action(settings: Settings) -> None:
        results = run_checks(settings, static_only=static)
        print(to_json(results) if as_json else format_lines(results))
        if has_failures(results):
            raise Exit(code=EXIT_FAILED)

    _with_settings(action)


def backup(output: str | None) -> None:
    from stackkit import backup as backup_module

    _with_settings(lambda settings: backup_module.backup(settings, Path(output) if output else None))


def restore(input_file: str, force: bool) -> None:
    from stackkit import backup as backup_module

    _with_settings(lambda settings: backup_module.restore(settings, Path(input_file), force=force))
