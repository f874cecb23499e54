"""The one exception family of stackkit. Each class carries its exit code; `stackkit.cli` turns any of them
into one message and that code, in one place.

- UsageError (exit 2): the user asked for something that cannot be: a bad setting, an unknown component,
  a bad flag. Nothing was started.
- OperationFailed (exit 1): a valid request that failed while running: a component that does not turn
  healthy, Phoenix refusing, a build that broke.
"""

from __future__ import annotations

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class StackkitError(Exception):
    """Base of every error a task reports; the message says what happened and how to fix it."""

    exit_code = EXIT_FAILED


class UsageError(StackkitError):
    """Bad settings, flags or names: reported before anything is started."""

    exit_code = EXIT_USAGE


class OperationFailed(StackkitError):
    """A task that was valid failed while it ran."""

    exit_code = EXIT_FAILED
