"""Every error carries its exit code: 2 for bad input, 1 for a task that failed."""

from __future__ import annotations

from stackkit.core.errors import EXIT_FAILED, EXIT_USAGE, OperationFailed, StackkitError, UsageError
from stackkit.core.settings import SettingsError
from stackkit.stack.lock import StackBusy


def test_each_error_family_has_its_exit_code() -> None:
    assert UsageError("x").exit_code == EXIT_USAGE == 2
    assert OperationFailed("x").exit_code == EXIT_FAILED == 1
    assert isinstance(OperationFailed("x"), OperationFailed) and OperationFailed("x").exit_code == 1
    assert all(issubclass(kind, StackkitError) for kind in (SettingsError, StackBusy, OperationFailed))
    bad = SettingsError(["PHOENIX_UI_PORT: not a port"], ".env")
    assert bad.exit_code == 2 and "  - PHOENIX_UI_PORT: not a port" in str(bad)
