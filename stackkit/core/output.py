"""Where a task's lines go: `print`, or a test's `list.append`."""

from __future__ import annotations

from collections.abc import Callable

Printer = Callable[[str], None]
