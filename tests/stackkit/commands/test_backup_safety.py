"""Backups and restores that lose nothing and lock nobody out: an auth backup restored into a new state folder
logs in with the password `invoke credentials --show` prints; `backup --output` never replaces a file without
--force; a bad backup file, destination or companion is one line naming it and the fix (real Phoenix)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from isolation import isolated_environ
from reliability_helpers import invoke, invoke_ok

from stackkit.commands import backup
from stackkit.core import secrets
from stackkit.core.settings import load_settings
from stackkit.phoenix import admin

PROJECT = "backup-safety"


def _login_status(url: str, password: str) -> int:
    response = requests.post(f"{url}/auth/login", json={"email": admin.ADMIN_EMAIL, "password": password}, timeout=10)
    return response.status_code


def _one_error_line(result: object) -> str:
    stderr = getattr(result, "stderr", "").strip().splitlines()
    assert len(stderr) == 1, stderr
    assert "a bug in stackkit" not in stderr[0] and "Traceback" not in stderr[0]
    return stderr[0]


@pytest.mark.phoenix
def test_an_auth_backup_restored_into_a_new_state_folder_logs_in(tmp_path: Path) -> None:
    source_env = isolated_environ(tmp_path / "source", PHOENIX_ENABLE_AUTH="true")
    target_env = isolated_environ(tmp_path / "target")
    backup_file = tmp_path / "auth.sqlite"
    try:
        invoke_ok(source_env, "up", "--only", "phoenix")
        source = load_settings(environ=source_env)
        source_password = secrets.load(source)[secrets.ADMIN_PASSWORD]
        assert _login_status(source.phoenix_url, source_password) == 204
        made = invoke_ok(source_env, "backup", "--output", str(backup_file))
        companion = backup.secrets_companion(backup_file)
        assert companion.stat().st_mode & 0o777 == 0o600 and "not encrypted" in made
        invoke_ok(source_env, "down")

        invoke_ok(target_env, "restore", "--input", str(backup_file))
        up = invoke_ok({**target_env, "PHOENIX_ENABLE_AUTH": "true"}, "up", "--only", "phoenix")
        assert "set outside this state folder" not in up and "changed in Phoenix's UI" not in up
        target = load_settings(environ=target_env)
        shown = invoke_ok(target_env, "credentials", "--show")
        password = re.search(r"password:\s+(\S+)", shown).group(1)  # type: ignore[union-attr]
        status = _login_status(target.phoenix_url, password)
        print(f"\nMEASURED auth backup restored into a new state folder: login with --show's password: {status}")
        assert status == 204
    finally:
        invoke(source_env, "down", "--force")
        invoke(target_env, "down", "--force")


@pytest.mark.phoenix
def test_backup_output_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    existing = tmp_path / "precious.sqlite"
    existing.write_bytes(b"an older backup")
    try:
        invoke_ok(environ, "up", "--only", "phoenix")
        refused = invoke(environ, "backup", "--output", str(existing))
        assert refused.returncode == 1
        line = _one_error_line(refused)
        assert str(existing) in line and "--force" in line
        assert existing.read_bytes() == b"an older backup"
        print(f"\nMEASURED backup over an existing file: exit 1, {line}")
        invoke_ok(environ, "backup", "--output", str(existing), "--force")
        assert backup.file_backend(existing) == "sqlite"
        folder = invoke(environ, "backup", "--output", str(tmp_path))
        assert folder.returncode == 1 and "is a folder" in _one_error_line(folder)
        unwritable = invoke(environ, "backup", "--output", "/proc/nope/x.sqlite")
        assert unwritable.returncode == 1 and "/proc/nope/x.sqlite" in _one_error_line(unwritable)
    finally:
        invoke(environ, "down", "--force")


@pytest.mark.parametrize(
    "content",
    [b"", b"SQLite format 3\x00 but cut short", b"\x00\x01garbage"],
    ids=["empty", "truncated-sqlite", "garbage"],
)
def test_restore_of_a_bad_backup_file_names_it(tmp_path: Path, content: bytes) -> None:
    environ = isolated_environ(tmp_path / "state")
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(content)
    result = invoke(environ, "restore", "--input", str(bad))
    assert result.returncode == 1
    line = _one_error_line(result)
    assert str(bad) in line
    print(f"\nMEASURED restore of a {len(content)}-byte bad file: {line}")


def test_restore_of_a_folder_or_a_missing_file_names_it(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state")
    for given, said in ((tmp_path, "is a folder"), (tmp_path / "absent.sqlite", "no such backup file")):
        result = invoke(environ, "restore", "--input", str(given))
        assert result.returncode == 1 and said in _one_error_line(result)


def test_restore_with_a_bad_companion_names_its_line(tmp_path: Path) -> None:
    import sqlite3

    environ = isolated_environ(tmp_path / "state")
    good = tmp_path / "good.sqlite"
    with sqlite3.connect(good) as connection:
        connection.execute("CREATE TABLE spans (id INTEGER)")
    connection.close()
    backup.secrets_companion(good).write_text("PHOENIX_SECRET='unclosed\n")
    result = invoke(environ, "restore", "--input", str(good))
    assert result.returncode == 2
    line = _one_error_line(result)
    assert f"{backup.secrets_companion(good)}:1" in line
