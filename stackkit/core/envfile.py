"""Env files (KEY=value lines): the one reader and writer of every env file the stack touches.

Reading never interpolates: a secret such as `pa${HOME}ss` stays exactly that. Writing quotes every value
in single quotes, escaping only backslash and the single quote, which python-dotenv reads back verbatim
whatever the value holds (`$`, ` #`, both quote kinds, backslashes, newlines). A line that does not parse is
an error naming the file and line, never a warning followed by a silent default.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path

from dotenv.parser import parse_stream

from stackkit.core.errors import UsageError

PRIVATE_FILE_MODE = 0o600


class EnvFileError(UsageError):
    """An env file that cannot be read as KEY=value lines; the message names the file and line."""


def parse(text: str, source: str) -> dict[str, str]:
    """KEY -> value, in file order; EnvFileError naming `source`:line for a line that does not parse."""
    return {key: value for key, value, _ in entries(text, source)}


def entries(text: str, source: str) -> list[tuple[str, str, int]]:
    """(KEY, value, line) in file order; EnvFileError naming `source`:line for a line that does not parse."""
    found: list[tuple[str, str, int]] = []
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            shown = binding.original.string.strip().splitlines()[0] if binding.original.string.strip() else ""
            name = shown.split("=", 1)[0].strip()
            raise EnvFileError(
                f"{source}:{line}: cannot parse {name or 'this line'!r} as KEY=value "
                "(an unclosed quote, or a line that is not KEY=value): fix or remove that line"
            )
        if binding.key is None:
            continue  # a comment or a blank line
        found.append((binding.key, binding.value or "", line))
    return found


def read(path: Path) -> dict[str, str]:
    """The file's values; {} when it does not exist."""
    return {key: value for key, value, _ in read_entries(path)}


def read_entries(path: Path) -> list[tuple[str, str, int]]:
    """(KEY, value, line) of the file; [] when it does not exist."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return []
    except IsADirectoryError:
        raise EnvFileError(f"{path}: is a directory, not an env file") from None
    return entries(text, str(path))


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def format_lines(values: Mapping[str, str]) -> str:
    return "".join(f"{key}={quote(value)}\n" for key, value in values.items())


def make_private_dir(path: Path) -> None:
    """Create the folder and every missing parent 0700 (mkdir's mode applies to the last one only)."""
    for folder in reversed([path, *path.parents]):
        if not folder.exists():
            folder.mkdir(mode=0o700, exist_ok=True)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it may hold secrets or traces), creating its folder 0700."""
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, PRIVATE_FILE_MODE)


def write(path: Path, values: Mapping[str, str]) -> None:
    """Write the values quoted, mode 0600."""
    write_private(path, format_lines(values))
