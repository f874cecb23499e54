"""What each invoke task does, so tasks.py stays wiring. Every error becomes one message and an exit code here,
in `run`, and nowhere else."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from invoke.exceptions import Exit

from stackkit.commands import down as down_task
from stackkit.commands import evals
from stackkit.commands import keys as keys_task
from stackkit.commands import logs as logs_task
from stackkit.commands import status as status_task
from stackkit.commands import up as up_task
from stackkit.components import registry as components
from stackkit.core import secrets
from stackkit.core.errors import EXIT_FAILED, EXIT_INTERRUPTED, OperationFailed, StackkitError, UsageError
from stackkit.core.processes import PRIVATE_UMASK
from stackkit.core.settings import Settings, load_settings
from stackkit.stack import lifecycle, lock

DEBUG_VARIABLE = "STACKKIT_DEBUG"
APP_ENV = "app-env"  # `render --print app-env`: the OTEL_* variables an app sends to the running stack with


def run(
    action: Callable[[Settings], object],
    changes_stack: bool = False,
    check_arguments: Callable[[], object] | None = None,
) -> None:
    """Check the task's own arguments, load the settings, run the task (holding the state folder's lock when
    it changes the stack); turn every way it can end into one message and an exit code."""
    # Whatever a task writes (state folder, backups, reports) may hold traces or secrets: owner only.
    os.umask(PRIVATE_UMASK)
    answer_ctrl_c()
    try:
        if check_arguments is not None:
            check_arguments()
        settings = load_settings()
        if changes_stack:
            with lock.held(settings.state_dir):
                action(settings)
        else:
            action(settings)
    except StackkitError as error:
        raise Exit(_message(error), code=error.exit_code) from None
    except KeyboardInterrupt:
        raise Exit("interrupted (Ctrl-C)", code=EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        # The reader went away (`invoke traffic | head -1`): nothing more to say, and nowhere to say it.
        _silence_stdout()
        raise Exit(code=0) from None
    except Exit:
        raise
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        raise Exit(
            f"error: unexpected {type(error).__name__}: {error} (a bug in stackkit: set {DEBUG_VARIABLE}=1 "
            "for the traceback and report it)",
            code=EXIT_FAILED,
        ) from None


def answer_ctrl_c() -> None:
    """Ctrl-C (SIGINT) interrupts every task, also one started with SIGINT ignored: a shell without job control
    (a script, CI, `cmd &` in a subshell) starts its background commands so, and Python keeps an ignored SIGINT
    ignored. A SIGINT sent to such an `invoke up` went unanswered: the stack came up, exit 0."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _message(error: StackkitError) -> str:
    text = str(error)
    return text if text.startswith(("Invalid settings", "error:")) else f"error: {text}"


def _silence_stdout() -> None:
    # Python flushes stdout at exit and would report the broken pipe again: point it at /dev/null.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def render(print_piece: str | None = None, show: bool = False) -> None:
    from stackkit import monitoring
    from stackkit.commands import app_send
    from stackkit.runtimes.render import render as render_files

    if show and print_piece != APP_ENV:
        run(_usage_error("--show applies to `--print app-env` only (it prints the ingestion key)"))
        return
    if print_piece == APP_ENV:
        run(lambda settings: print(app_send.app_env_text(settings, show), end=""))
        return
    if print_piece is not None:
        if print_piece in monitoring.PRINTABLE:
            run(lambda settings: print(monitoring.printed(settings, print_piece), end=""))
            return
        printable = {name: text for component in components.ALL for name, text in component.printable_pieces}
        if print_piece not in printable:
            choices = ", ".join((*printable, *monitoring.PRINTABLE, APP_ENV))
            run(_usage_error(f"--print {print_piece}: choose from {choices}"))
        run(lambda settings: print(printable[print_piece](settings), end=""))
        return

    def action(settings: Settings) -> None:
        runtime = lifecycle.resolve_runtime(settings, None)
        plan = lifecycle.make_plan(runtime)
        for path in render_files(settings, plan, secrets.load(settings)):
            print(f"wrote {path}")

    run(action, changes_stack=True)


def up(runtime: str | None, only: str | None) -> None:
    components = [name.strip() for name in only.split(",") if name.strip()] if only else None
    run(lambda settings: up_task.up(settings, runtime, components), changes_stack=True)


def down(volumes: bool, yes: bool, force: bool = False) -> None:
    def action(settings: Settings) -> None:
        if (
            volumes
            and not yes
            and not _confirm(
                f"Delete ALL stored traces (Phoenix's data in {settings.state_dir} or its Docker volumes)?"
            )
        ):
            raise OperationFailed("nothing deleted (pass --yes to skip this question)")
        down_task.down(settings, remove_data=volumes, force=force)

    run(action, changes_stack=True)


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def restart(service: str) -> None:
    run(lambda settings: down_task.restart(settings, service), changes_stack=True)


def status() -> None:
    def action(settings: Settings) -> None:
        print(status_task.format_status(status_task.status(settings)))
        for line in status_task.status_notes(settings):
            print(line)

    run(action)


def logs(service: str, follow: bool, tail: int) -> None:
    def action(settings: Settings) -> None:
        try:
            for line in logs_task.logs(settings, service, tail=tail, follow=follow):
                print(line, flush=True)
        except KeyboardInterrupt:
            pass  # the way to end --follow

    run(action)


def upgrade(to: str) -> None:
    from stackkit.commands import upgrade as upgrading

    run(lambda settings: upgrading.upgrade(settings, to.strip()), changes_stack=True)


def credentials(show: bool) -> None:
    from stackkit.commands import credentials as credentials_module

    def action(settings: Settings) -> None:
        for line in credentials_module.lines(settings, show):
            print(line)

    run(action)


def rotate_key() -> None:
    run(lambda settings: keys_task.rotate_key(settings), changes_stack=True)


def evaluate(since: str, limit: int, as_json: bool, wait: float = evals.DEFAULT_WAIT_SECONDS) -> None:
    def action(settings: Settings) -> None:
        report = evals.run_evals(settings, since, limit, wait)
        print(json.dumps(report.as_dict(), indent=2) if as_json else evals.format_report(report))

    # A typo in --since is reported before anything is read.
    run(action, check_arguments=lambda: evals.parse_since(since))


def traffic(requests: int, sessions: int, concurrency: int, fail_ratio: float, save: str | None) -> None:
    from stackkit.commands import traffic as traffic_command

    run(lambda settings: traffic_command.traffic(settings, requests, sessions, concurrency, fail_ratio, save))


def _usage_error(message: str) -> Callable[[Settings], None]:
    def action(settings: Settings) -> None:
        raise UsageError(message)

    return action


def verify(
    static: bool, as_json: bool, alloy_config: list[str] | None = None, alloy_stability_level: str | None = None
) -> None:
    from stackkit.verify import command

    def action(settings: Settings) -> None:
        if command.verify(settings, static, as_json, alloy_config, alloy_stability_level):
            raise Exit(code=EXIT_FAILED)

    run(action)


def backup(output: str | None, force: bool = False) -> None:
    from stackkit.commands import backup as backup_module

    run(lambda settings: backup_module.backup(settings, Path(output) if output else None, force=force))


def restore(input_file: str, force: bool) -> None:
    from stackkit.commands import backup as backup_module

    run(lambda settings: backup_module.restore(settings, Path(input_file), force=force), changes_stack=True)


def screenshot(output: str) -> None:
    from stackkit.commands import screenshot as ui_check

    run(lambda settings: ui_check.take_screenshot(settings, output))
