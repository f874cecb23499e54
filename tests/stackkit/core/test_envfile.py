"""Env files survive a round trip: what is written is read back exactly, by us and by python-dotenv."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from dotenv import dotenv_values

from stackkit.core import envfile

AWKWARD_VALUES = {
    "DOLLAR_BRACES": "pa${HOME}ss",
    "DOLLAR": "Adm1n$HOME#\"q'zz0123456789abcdefghijkl",
    "SPACE_HASH": "sk-abc #1",
    "DOUBLE_QUOTES": 'say "hi"',
    "SINGLE_QUOTES": "it's 'quoted'",
    "BACKSLASHES": "C:\\path\\to\\ and \\\\ two",
    "TRAILING_BACKSLASH": "ends with \\",
    "ESCAPED_QUOTE_LOOKALIKE": "\\'",
    "NEWLINE": "line one\nline two",
    "EMPTY": "",
    "EQUALS": "a=b=c",
}


def test_round_trip_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "awkward.env"
    envfile.write(path, AWKWARD_VALUES)
    assert envfile.read(path) == AWKWARD_VALUES
    # python-dotenv reads the same file back verbatim too (without interpolation, as every reader of ours does).
    assert dict(dotenv_values(path, interpolate=False)) == AWKWARD_VALUES


def test_written_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "folder" / "secrets.env"
    envfile.write(path, {"KEY": "value"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_reading_never_interpolates(tmp_path: Path) -> None:
    path = tmp_path / "plain.env"
    path.write_text("A=${HOME}\nB='$HOME'\nC=\"${HOME}\"\n")
    assert envfile.read(path) == {"A": "${HOME}", "B": "$HOME", "C": "${HOME}"}


@pytest.mark.parametrize(
    ("text", "line"),
    [('PHOENIX_ENABLE_AUTH="true\nOTHER=1\n', 1), ("OK=1\nthis line is not a setting\n", 2)],
)
def test_a_line_that_does_not_parse_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "broken.env"
    path.write_text(text)
    with pytest.raises(envfile.EnvFileError, match=rf"{path}:{line}: cannot parse"):
        envfile.read(path)


def test_missing_file_reads_empty_and_a_directory_is_an_error(tmp_path: Path) -> None:
    assert envfile.read(tmp_path / "missing.env") == {}
    with pytest.raises(envfile.EnvFileError, match="is a directory"):
        envfile.read(tmp_path)
