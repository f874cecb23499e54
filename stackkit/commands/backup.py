"""`invoke backup` and `invoke restore`: Phoenix's store (native runtime) to one file and back.

- SQLite: sqlite3's online backup API copies a consistent snapshot while Phoenix keeps running (the
  database is in WAL mode, where a reader does not block the writer).
- PostgreSQL: `pg_dump -Fc` (custom format), restored with `pg_restore --clean`, in one transaction.

A backup file says what it holds in its first bytes ("SQLite format 3", "PGDMP"), so restore checks it
matches PHOENIX_DB. With auth on, what logs in to that store travels beside it, in `<backup>.secrets.env`
(0600, plain text like the state folder's secrets.env: the backup itself holds every trace and the users'
password hashes, so it is kept as private): the admin's password, Phoenix's secrets (they sign the
ingestion key and the sessions) and the ingestion key. Restore installs them into the target state folder's
secrets.env, so `invoke credentials --show` prints a password that logs in.

Restore needs Phoenix stopped (it caches the store's state in memory and keeps SQLite
open: replacing the store under it would be undone or corrupt it) and refuses to replace a store that
holds data unless forced.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from stackkit.components.phoenix import PHOENIX
from stackkit.core import envfile, secrets
from stackkit.core.errors import OperationFailed
from stackkit.core.settings import Settings
from stackkit.phoenix import database
from stackkit.runtimes.base import Runtime
from stackkit.stack.lifecycle import resolve_runtime

SQLITE_MAGIC, PGDUMP_MAGIC = b"SQLite format 3\x00", b"PGDMP"
EXTENSIONS = {"sqlite": "sqlite", "postgres": "pgdump"}
PG_TOOL_TIMEOUT = 3600.0
# What logs in to a store and sends to it; they belong to the store, so they travel with its backup.
LOGIN_SECRETS = (
    secrets.ADMIN_PASSWORD,
    "PHOENIX_SECRET",
    "PHOENIX_ADMIN_SECRET",
    "PHOENIX_API_KEY",
    "PHOENIX_API_KEY_ID",
)


def secrets_companion(path: Path) -> Path:
    """Where a backup's login secrets are kept: beside it."""
    return path.with_name(path.name + ".secrets.env")


@dataclass(frozen=True)
class BackupResult:
    path: Path
    backend: str  # "sqlite" or "postgres"
    counts: dict[str, int]  # rows of database.USER_DATA_TABLES in the backup (PostgreSQL: just after it)


def _native_runtime(settings: Settings, out: Callable[[str], None]) -> Runtime:
    runtime = resolve_runtime(settings, None, out)
    if runtime.name != "native":
        raise OperationFailed(
            "backup and restore work on the native runtime only: on docker, Phoenix's data is in the "
            "compose project's volumes (PostgreSQL: run pg_dump inside the postgres container)"
        )
    return runtime


def default_output(settings: Settings) -> Path:
    name = f"phoenix-{settings.phoenix_db}-{time.strftime('%Y%m%d-%H%M%S')}.{EXTENSIONS[settings.phoenix_db]}"
    return settings.state_dir / "backups" / name


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {table}" for table, count in counts.items())


def _check_destination(path: Path, force: bool) -> None:
    if path.is_dir():
        raise OperationFailed(f"--output {path}: is a folder; give the path of a file to write")
    if path.exists() and not force:
        raise OperationFailed(
            f"--output {path}: already exists; pass --force to overwrite it, or choose another file "
            "(a backup is never replaced without asking)"
        )


def backup(
    settings: Settings, output: Path | None = None, force: bool = False, out: Callable[[str], None] = print
) -> BackupResult:
    """Write a backup of the configured store; Phoenix may keep running. Raises OperationFailed."""
    _native_runtime(settings, out)
    path = (output or default_output(settings)).expanduser().resolve()
    _check_destination(path, force)
    try:
        envfile.make_private_dir(path.parent)
    except OSError as error:
        raise OperationFailed(
            f"--output {path}: cannot create its folder ({error.strerror}); choose another path"
        ) from None
    # Written beside the target, then renamed: an interrupted backup never looks like a complete one.
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if settings.phoenix_db == "sqlite":
            counts = _backup_sqlite(settings, partial)
        else:
            counts = _backup_postgres(settings, partial)
        os.chmod(partial, 0o600)  # traces hold prompts and answers; the store holds users and key hashes
        os.replace(partial, path)
    except OSError as error:
        raise OperationFailed(f"--output {path}: cannot write it ({error.strerror}); choose another path") from None
    finally:
        partial.unlink(missing_ok=True)
    out(f"backed up {_describe(counts)} ({settings.phoenix_db}) to {path} ({path.stat().st_size} bytes)")
    login = {name: value for name, value in secrets.load(settings).items() if name in LOGIN_SECRETS and value}
    companion = secrets_companion(path)
    if login:
        envfile.write(companion, login)
        out(
            f"wrote the store's login secrets (admin password, Phoenix's secrets, ingestion key) to {companion} "
            "(0600, not encrypted: keep it with the backup, as private as the backup itself)"
        )
    else:
        companion.unlink(missing_ok=True)  # an older backup's, at this path: not this store's
    return BackupResult(path, settings.phoenix_db, counts)


def _backup_sqlite(settings: Settings, partial: Path) -> dict[str, int]:
    source_path = database.sqlite_path(settings)
    if not source_path.exists():
        raise OperationFailed(f"no Phoenix data at {source_path}: nothing to back up (run `invoke up` first)")
    try:
        with closing(sqlite3.connect(source_path)) as source, closing(sqlite3.connect(partial)) as target:
            source.backup(target)  # all pages in one step: one consistent snapshot
            _check_sqlite(target, partial)
            return database.sqlite_counts(target)
    except sqlite3.Error as error:
        raise OperationFailed(f"backing up {source_path} failed: {error}") from None


def _check_sqlite(connection: sqlite3.Connection, path: Path) -> None:
    result = connection.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise OperationFailed(f"{path}: SQLite integrity check failed ({result})")
    if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'spans'").fetchone():
        raise OperationFailed(f"{path}: a SQLite database, but not Phoenix's (it has no spans table)")


def _pg_tool(name: str) -> str:
    path = database.pg_tool(name)
    if path is None:
        raise OperationFailed(
            f"{name} not found: install PostgreSQL's client tools (apt-get install postgresql-client), "
            "the same major version as the server or newer"
        )
    return path


def _run_pg_tool(name: str, arguments: list[str], url: str) -> None:
    target, password_env = database.libpq_target(url)
    result = subprocess.run(
        [_pg_tool(name), *arguments, f"--dbname={target}"],
        env={**os.environ, **password_env},
        capture_output=True,
        text=True,
        timeout=PG_TOOL_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        detail = result.stderr.strip() or result.stdout.strip()
        password = password_env.get("PGPASSWORD")
        if password:
            detail = detail.replace(password, "***")
        raise OperationFailed(f"{name} failed for PHOENIX_SQL_DATABASE_URL={database.redact(url)}:\n{detail}")


def _backup_postgres(settings: Settings, partial: Path) -> dict[str, int]:
    url = settings.phoenix_sql_database_url
    if problem := database.preflight_problem(settings, "native"):
        raise OperationFailed(problem)
    _run_pg_tool("pg_dump", ["--format=custom", f"--file={partial}"], url)
    # pg_dump's snapshot is consistent; the counts are read just after it, for the summary line only.
    return database.count_rows(settings)


def file_backend(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise OperationFailed(f"{path}: cannot be read ({error.strerror}); check its permissions") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgres"
    raise OperationFailed(f"{path}: not a backup made by `invoke backup` (neither SQLite nor pg_dump's -Fc)")


def restore(
    settings: Settings, source: Path, force: bool = False, out: Callable[[str], None] = print
) -> dict[str, int]:
    """Replace the configured store with a backup; Phoenix must be stopped. Returns the restored counts."""
    runtime = _native_runtime(settings, out)
    source = source.expanduser().resolve()
    if source.is_dir():
        raise OperationFailed(f"--input {source}: is a folder; give a file written by `invoke backup`")
    if not source.is_file():
        raise OperationFailed(f"--input {source}: no such backup file")
    backend = file_backend(source)
    companion = secrets_companion(source)
    login = envfile.read(companion) if companion.exists() else {}
    if backend != settings.phoenix_db:
        raise OperationFailed(
            f"{source} is a {backend} backup but PHOENIX_DB={settings.phoenix_db}: restore it with PHOENIX_DB={backend}"
        )
    if runtime.state(PHOENIX.name).running:
        raise OperationFailed(
            "Phoenix is running: restore replaces its store, so stop it first: "
            f"`invoke down`, then `invoke restore --input {source}`, then `invoke up`"
        )
    if problem := database.preflight_problem(settings, "native"):
        raise OperationFailed(problem)
    try:
        existing = database.count_rows(settings)
    except sqlite3.Error as error:
        if not force:
            raise OperationFailed(
                f"the store at {database.sqlite_path(settings)} cannot be read ({error}): it may be damaged; "
                "pass --force to replace it with the backup"
            ) from None
        existing = {}
    if any(existing.values()) and not force:
        raise OperationFailed(
            f"the {settings.phoenix_db} store already holds {_describe(existing)}: restoring replaces all of "
            "it; pass --force to do so (`invoke backup` first keeps a copy)"
        )
    if backend == "sqlite":
        counts = _restore_sqlite(settings, source)
    else:
        _run_pg_tool(
            "pg_restore",
            [
                # --clean --if-exists drops what the backup holds before recreating it; one transaction,
                # so a failure leaves the database as it was.
                "--clean",
                "--if-exists",
                "--single-transaction",
                "--exit-on-error",
                # The backup may come from another role's database: everything is owned by the URL's user.
                "--no-owner",
                "--no-privileges",
                str(source),
            ],
            settings.phoenix_sql_database_url,
        )
        counts = database.count_rows(settings)
    out(f"restored {_describe(counts)} ({backend}) from {source}; `invoke up` starts Phoenix on them")
    _install_login_secrets(settings, login, companion, out)
    return counts


def _install_login_secrets(
    settings: Settings, login: dict[str, str], companion: Path, out: Callable[[str], None]
) -> None:
    """The restored store's admin logs in with the password it was backed up with: keep that one here."""
    wanted = {name: value for name, value in login.items() if name in LOGIN_SECRETS and value}
    if not wanted:
        out(
            f"no login secrets beside the backup ({companion}): with auth on, {secrets.ADMIN_PASSWORD} and "
            "Phoenix's secrets are the ones of the stack it came from (its `invoke credentials --show`); "
            f"copy them into {settings.secrets_file} before `invoke up`"
        )
        return
    stored = secrets.load(settings)
    # The key pair is one: a kept key id without the backup's key would revoke a key of another store.
    stored = {name: value for name, value in stored.items() if name not in LOGIN_SECRETS} | wanted
    secrets.save(settings, stored)
    out(
        f"installed the backup's login secrets from {companion} into {settings.secrets_file}: "
        "`invoke credentials --show` prints the admin password that logs in to the restored store"
    )


def _restore_sqlite(settings: Settings, source: Path) -> dict[str, int]:
    target = database.sqlite_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".restoring")
    partial.unlink(missing_ok=True)
    try:
        with closing(sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)) as backup_db:
            _check_sqlite(backup_db, source)
            with closing(sqlite3.connect(partial)) as copy:
                backup_db.backup(copy)
                counts = database.sqlite_counts(copy)
    except sqlite3.Error as error:
        partial.unlink(missing_ok=True)
        raise OperationFailed(f"{source}: cannot be read as a SQLite backup ({error})") from None
    try:
        # A WAL or shared-memory file left by the old database would be replayed into the new one.
        for leftover in ("-wal", "-shm", "-journal"):
            target.with_name(target.name + leftover).unlink(missing_ok=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return counts
