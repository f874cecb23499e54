"""`backup` of a running Phoenix and `restore` into a fresh state folder, on SQLite and on PostgreSQL, with
spans counted before and after; the refusals (Phoenix running, a store with data, a backup of the other
backend) name the way out. Lines starting with MEASURED report the counts (pytest -s)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from invoke.exceptions import Exit
from isolation import isolated_environ, isolated_settings
from reliability_helpers import count_spans, invoke, invoke_ok, send_spans, wait_for_count

from stackkit import cli
from stackkit.commands import backup
from stackkit.core.errors import OperationFailed
from stackkit.core.settings import load_settings
from stackkit.phoenix import database

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
PROJECT = "backup-test"


@pytest.fixture(params=BACKENDS)
def new_environ(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], dict[str, str]]]:
    """Makes fresh stacks of one backend (a state folder each; with postgres, a database each)."""
    made: list[dict[str, str]] = []

    def make(name: str) -> dict[str, str]:
        overrides = {}
        if request.param == "postgres":
            server = request.getfixturevalue("postgres_server")
            overrides = {"PHOENIX_DB": "postgres", "PHOENIX_SQL_DATABASE_URL": server.create_database()}
        made.append(isolated_environ(tmp_path / name, **overrides))
        return made[-1]

    yield make
    for environ in made:
        invoke(environ, "down")


def _cli_exit(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], action: Callable[[], None]) -> str:
    """Run a cli function as `invoke` would, with these settings; the message it exits with."""
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(Exit) as exited:
        action()
    assert exited.value.code == cli.EXIT_FAILED
    return str(exited.value.message)


@pytest.mark.phoenix
def test_backup_of_a_running_phoenix_restores_into_a_fresh_state_folder(
    new_environ: Callable[[str], dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source_env = new_environ("source")
    source = load_settings(environ=source_env)
    invoke_ok(source_env, "up", "--only", "phoenix")
    assert send_spans(source.phoenix_url, PROJECT, 500) == 500
    assert wait_for_count(source.phoenix_url, PROJECT, 500) == 500

    backup_file = tmp_path / f"phoenix.{backup.EXTENSIONS[source.phoenix_db]}"
    made = backup.backup(source, backup_file, out=lambda line: None)  # Phoenix keeps running
    assert made.path == backup_file and made.counts["spans"] == 500
    assert backup_file.stat().st_mode & 0o777 == 0o600
    assert backup.file_backend(backup_file) == source.phoenix_db
    # Spans written after the backup are not in it.
    assert send_spans(source.phoenix_url, PROJECT, 100) == 100
    assert wait_for_count(source.phoenix_url, PROJECT, 600) == 600

    target_env = new_environ("target")
    target = load_settings(environ=target_env)
    restored = backup.restore(target, backup_file, out=lambda line: None)
    assert restored["spans"] == 500
    invoke_ok(target_env, "up", "--only", "phoenix")
    read_back = count_spans(target.phoenix_url, PROJECT)
    assert read_back == 500

    message = _cli_exit(monkeypatch, target_env, lambda: cli.restore(str(backup_file), force=False))
    assert "Phoenix is running" in message and "invoke down" in message
    invoke_ok(target_env, "down")
    message = _cli_exit(monkeypatch, target_env, lambda: cli.restore(str(backup_file), force=False))
    assert "already holds 500 spans" in message and "--force" in message
    forced = backup.restore(target, backup_file, force=True, out=lambda line: None)
    assert forced["spans"] == 500 and database.count_rows(target)["spans"] == 500
    print(
        f"\nMEASURED backup/restore[{source.phoenix_db}]: 500 spans when backed up (Phoenix running), "
        f"600 in the source after; backup holds {made.counts['spans']}, restored {restored['spans']}, "
        f"read back from the restored Phoenix {read_back}; forced restore over it: {forced['spans']}"
    )


def test_restore_refuses_a_backup_of_the_other_backend(tmp_path: Path) -> None:
    sqlite_backup = tmp_path / "phoenix.sqlite"
    with sqlite3.connect(sqlite_backup) as connection:
        connection.execute("CREATE TABLE spans (id INTEGER)")
    connection.close()
    url = "postgresql://phoenix:pw@127.0.0.1:1/phoenix"
    settings = isolated_settings(tmp_path / "state", PHOENIX_DB="postgres", PHOENIX_SQL_DATABASE_URL=url)
    with pytest.raises(OperationFailed, match="is a sqlite backup but PHOENIX_DB=postgres"):
        backup.restore(settings, sqlite_backup, out=lambda line: None)


def test_restore_refuses_a_file_that_is_no_backup(tmp_path: Path) -> None:
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello")
    with pytest.raises(OperationFailed, match="not a backup made by `invoke backup`"):
        backup.restore(isolated_settings(tmp_path / "state"), not_a_backup, out=lambda line: None)


def test_backup_with_no_data_says_so(tmp_path: Path) -> None:
    with pytest.raises(OperationFailed, match="nothing to back up"):
        backup.backup(isolated_settings(tmp_path / "state"), tmp_path / "x.sqlite", out=lambda line: None)
    assert not list(tmp_path.glob("x.sqlite*")), "no partial file is left behind"
