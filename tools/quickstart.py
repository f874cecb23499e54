"""README's quickstart commands, read from README itself: `python3 -m tools.quickstart` prints them, one a
line, for .ci/run to run as written. Standard library only: CI calls it with the system Python before any
environment exists.

The block is the first fenced code block after the line QUICKSTART_MARKER; it holds exactly two commands
(one brings the stack up, one runs every test).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
QUICKSTART_MARKER = "<!-- quickstart: .ci/run runs these two lines as written -->"
COMMAND_COUNT = 2


class QuickstartError(Exception):
    pass


def quickstart_commands(readme: Path = README) -> list[str]:
    """The commands of README's quickstart block; QuickstartError names the file and line when it is not there
    or does not hold exactly COMMAND_COUNT commands."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    try:
        marker = next(number for number, line in enumerate(lines) if line.strip() == QUICKSTART_MARKER)
    except StopIteration:
        raise QuickstartError(f"{readme}: no line {QUICKSTART_MARKER!r} before the quickstart block") from None
    fence = next((number for number in range(marker + 1, len(lines)) if lines[number].startswith("```")), None)
    if fence is None or any(line.strip() for line in lines[marker + 1 : fence]):
        raise QuickstartError(f"{readme}:{marker + 1}: the quickstart marker must be followed by a fenced code block")
    end = next((number for number in range(fence + 1, len(lines)) if lines[number].startswith("```")), None)
    if end is None:
        raise QuickstartError(f"{readme}:{fence + 1}: the quickstart code block is never closed")
    commands = [line.strip() for line in lines[fence + 1 : end] if line.strip() and not line.lstrip().startswith("#")]
    if len(commands) != COMMAND_COUNT:
        raise QuickstartError(
            f"{readme}:{fence + 2}: the quickstart block holds {len(commands)} commands; it must hold exactly "
            f"{COMMAND_COUNT} (one brings the stack up, one runs every test)"
        )
    return commands


def main() -> int:
    try:
        commands = quickstart_commands()
    except (OSError, QuickstartError) as error:
        print(f"quickstart: {error}", file=sys.stderr)
        return 2
    try:
        print("\n".join(commands), flush=True)
    except BrokenPipeError:  # a reader that stopped early (`| head -1`): no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
