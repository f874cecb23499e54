"""Where Phoenix keeps its traces, and getting them there safely.

- Preflight (native, PHOENIX_DB=postgres): Phoenix uses the PostgreSQL the user names in
  PHOENIX_SQL_DATABASE_URL. `invoke up` connects to it first, so a database that is down or refuses us is
  one line naming the setting, not a traceback in Phoenix's log. (On docker the compose override runs
  its own PostgreSQL and Phoenix waits for its healthcheck.)
- Drain: Phoenix answers OTLP before it writes, and on SIGTERM drops what is still queued after 5 s. A
  planned stop first stops the senders, then waits here until Phoenix has written everything, read
  through the REST API (a marker span, then the newest stored span until it stops changing).
- Where the data is and how to reach it: the native SQLite file, row counts, PostgreSQL client tools.

The password in PHOENIX_SQL_DATABASE_URL is never printed: messages show `redact(url)`.
"""

from __future__ import annotations

import glob
import importlib.util
import shutil
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import requests

from stackkit.core import secrets
from stackkit.core.setting_values import PHOENIX_NAME
from stackkit.core.settings import NATIVE_POSTGRES_NEEDS_URL, Settings
from stackkit.phoenix.api import PhoenixClient, PhoenixError, phoenix_client
from stackkit.phoenix.canary import STACK_PROJECT, forget

# A PostgreSQL that is starting (or restarting) refuses connections for a few seconds: wait that long.
DATABASE_WAIT_SECONDS = 5.0
# Draining (wait_for_ingestion): Phoenix writes spans 100 per transaction, a few transactions a second,
# so 2 s without a new span usually means its queue is empty. The bound is generous: a full queue
# (20000 spans) takes about 2 minutes on SQLite, and each second waited is spans not dropped.
DRAIN_QUIET_SECONDS = 2.0
DRAIN_TIMEOUT_SECONDS = 120.0
DRAIN_STRAGGLER_SECONDS = 10.0
DRAIN_NOTE_EVERY = 15.0
# Tables whose rows are the user's data (a fresh Phoenix creates only a default project and settings);
# the stack's own spans (canary.STACK_PROJECT) are not counted.
USER_DATA_TABLES = ("spans", "datasets", "prompts")


def redact(url: str) -> str:
    """The URL with its password replaced by ***, safe to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{hostport}"))


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that carries it (PGPASSWORD), for client tools:
    a password on the command line shows in `ps` to every user of the machine."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, {}
    userinfo, _, hostport = parts.netloc.rpartition("@")
    bare = urlunsplit(parts._replace(netloc=f"{userinfo.split(':', 1)[0]}@{hostport}"))
    return bare, {"PGPASSWORD": unquote(parts.password)}


def _first_line(error: Exception, url: str) -> str:
    text = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
    password = urlsplit(url).password
    # libpq does not echo passwords, but nothing printed here may ever hold one.
    return text.replace(password, "***").replace(unquote(password), "***") if password else text


def connect(url: str, timeout: float = 3.0) -> Any:
    """A psycopg2 connection (autocommit), failing within `timeout` seconds when nothing answers."""
    import psycopg2

    connection = psycopg2.connect(url, connect_timeout=max(1, round(timeout)))
    connection.autocommit = True
    return connection


def _worth_retrying(reason: str) -> bool:
    # A server that answered FATAL (bad password, unknown database) will not change its mind; a refused
    # connection or a server still starting up may.
    return "FATAL" not in reason or "starting up" in reason or "shutting down" in reason


def preflight_problem(settings: Settings, runtime_name: str) -> str | None:
    """None when Phoenix's database is ready for it; otherwise one message naming the setting and the fix."""
    if settings.phoenix_db != "postgres" or runtime_name != "native":
        return None
    url = settings.phoenix_sql_database_url
    if not url:
        return NATIVE_POSTGRES_NEEDS_URL
    missing = [name for name in ("psycopg2", "asyncpg") if importlib.util.find_spec(name) is None]
    if missing:
        # asyncpg is Phoenix's driver (arize-phoenix[pg]); psycopg2 is ours, for this check and backups.
        return f"PHOENIX_DB=postgres needs {', '.join(missing)} in this Python: run `pip install -e '.[stack]'`"
    import psycopg2

    deadline = time.monotonic() + DATABASE_WAIT_SECONDS
    while True:
        try:
            with closing(connect(url)) as connection, connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return None
        except psycopg2.Error as error:
            reason = _first_line(error, url)
        if not _worth_retrying(reason) or time.monotonic() >= deadline:
            return (
                f"PHOENIX_SQL_DATABASE_URL={redact(url)}: cannot connect ({reason}). Start that PostgreSQL "
                "or fix PHOENIX_SQL_DATABASE_URL (in .env or the environment)"
            )
        time.sleep(0.5)


def is_external(settings: Settings, runtime_name: str) -> bool:
    """The traces live in a PostgreSQL the user runs (native runtime): no task of ours deletes them."""
    return settings.phoenix_db == "postgres" and runtime_name == "native"


def external_data_note(settings: Settings, runtime_name: str) -> str | None:
    """What `down --volumes` leaves alone: on native, a PostgreSQL the user runs is theirs to drop."""
    if not is_external(settings, runtime_name):
        return None
    return (
        f"traces in PostgreSQL (PHOENIX_SQL_DATABASE_URL={redact(settings.phoenix_sql_database_url)}) "
        "were left alone: that database is yours; drop it yourself to delete them"
    )


# --- Draining Phoenix before a planned stop ----------------------------------------------------------


def ingestion_mark(client: PhoenixClient) -> tuple[tuple[str, str], ...]:
    """The newest stored span of every project. It changes exactly when Phoenix writes spans, like the
    span count, but costs one request per project: the REST API has no count, and counting pages
    through every span, 1000 per request."""
    mark = []
    for project in client.projects():
        newest = client.spans(project["name"], limit=1, max_spans=1)
        mark.append((project["name"], newest[0]["id"] if newest else ""))
    return tuple(sorted(mark))


def send_marker(settings: Settings) -> str:
    """POST one span the stack's own way into canary.STACK_PROJECT; its trace id, or "" when it could not be
    sent or was refused."""
    try:  # OTLP's protobuf classes come with the OpenTelemetry exporter (the `stack` extra)
        from stackkit.phoenix import canary
    except ImportError:
        return ""
    stored = secrets.load(settings)
    token = stored.get("PHOENIX_API_KEY") or stored.get("PHOENIX_ADMIN_SECRET", "")
    result = canary.send_canary(
        f"{settings.phoenix_url}/v1/traces",
        token if settings.phoenix_enable_auth else "",
        canary.DRAIN_MARKER_NAME,
        verify=settings.phoenix_tls_verify,
    )
    return result.trace_id if result.status_code == 200 else ""


def wait_for_ingestion(
    settings: Settings,
    out: Callable[[str], None],
    quiet: float = DRAIN_QUIET_SECONDS,
    timeout: float = DRAIN_TIMEOUT_SECONDS,
) -> bool:
    """Wait until Phoenix has written what it received (call it once the senders are stopped). True when
    it has; False when Phoenix could not be asked or was still writing at the timeout (the caller goes on).

    1. A marker span: Phoenix writes spans first in, first out, so once the marker is stored, so is
       everything received before it, however slowly Phoenix writes (a transaction of 100 spans took
       over 2 s on a loaded machine) and even while an app outside the stack keeps sending.
    2. Then no new span for `quiet` seconds: Phoenix decodes a request's spans one by one, interleaved
       with other requests, so the tail of a large batch can land behind the marker. After a marker this
       waits at most DRAIN_STRAGGLER_SECONDS (an app that keeps sending never lets it go quiet); without
       one (Phoenix refused it) it is the whole check, up to `timeout`.
    """
    client = phoenix_client(settings, timeout=5.0)
    start = time.monotonic()
    deadline, next_note = start + timeout, start + DRAIN_NOTE_EVERY

    def waiting() -> bool:
        nonlocal next_note
        now = time.monotonic()
        if now >= next_note:  # say why this takes long
            out(f"phoenix: still writing spans received before the stop ({now - start:.0f}s)")
            next_note += DRAIN_NOTE_EVERY
        if now >= deadline:
            out(f"phoenix: still writing spans after {timeout:g}s")
            return False
        time.sleep(0.25)
        return True

    try:
        marker = send_marker(settings)
        while marker and not client.spans(STACK_PROJECT, trace_ids=[marker], max_spans=1):
            if not waiting():
                return False
        if marker:
            forget(client, marker)
        marker_seconds = time.monotonic() - start
        quiet_until = min(deadline, time.monotonic() + DRAIN_STRAGGLER_SECONDS) if marker else deadline
        mark, changed_at = ingestion_mark(client), time.monotonic()
        while time.monotonic() - changed_at < quiet and time.monotonic() < quiet_until:
            if not waiting():
                return False
            now = ingestion_mark(client)
            if now != mark:
                mark, changed_at = now, time.monotonic()
    except (requests.RequestException, PhoenixError) as error:
        out(f"phoenix: could not check for unwritten spans ({str(error)[:120]})")
        return False
    how = f"marker stored after {marker_seconds:.1f}s" if marker else "no marker: Phoenix refused it"
    out(f"phoenix: every received span is written ({how}; checked for {time.monotonic() - start:.1f}s)")
    return True


# --- Where the data is -------------------------------------------------------------------------------


DATA_FOLDER = PHOENIX_NAME  # Phoenix's folder in settings.data_dir on the native runtime


def working_dir(settings: Settings) -> Path:
    """PHOENIX_WORKING_DIR on the native runtime: <state>/data/phoenix."""
    return settings.data_dir / DATA_FOLDER


def sqlite_path(settings: Settings) -> Path:
    """Phoenix's SQLite file on the native runtime."""
    return working_dir(settings) / "phoenix.db"


def count_rows(settings: Settings) -> dict[str, int]:
    """Rows of each user-data table in the configured store (native runtime); 0 for a missing table."""
    if settings.phoenix_db == "postgres":
        with closing(connect(settings.phoenix_sql_database_url)) as connection:
            return postgres_counts(connection)
    path = sqlite_path(settings)
    if not path.exists():
        return dict.fromkeys(USER_DATA_TABLES, 0)
    with closing(sqlite3.connect(path)) as connection:
        return sqlite_counts(connection)


def user_count_query(table: str, placeholder: str) -> str:
    """Rows of `traces` or `spans` outside the stack's own project (stackkit.phoenix.canary.STACK_PROJECT, given as the
    one parameter): the drain's marker spans are ours, not the user's."""
    join = "JOIN traces ON traces.id = spans.trace_rowid " if table == "spans" else ""
    return (
        f"SELECT count(*) FROM {table} {join}JOIN projects ON projects.id = traces.project_rowid "
        f"WHERE projects.name <> {placeholder}"
    )


def _count_query(table: str, placeholder: str) -> str:
    # A store holding only the stack's own spans counts as empty.
    return user_count_query(table, placeholder) if table == "spans" else f"SELECT count(*) FROM {table}"


def _parameters(table: str) -> tuple[str, ...]:
    return (STACK_PROJECT,) if table == "spans" else ()


def sqlite_counts(connection: sqlite3.Connection) -> dict[str, int]:
    counts = {}
    for table in USER_DATA_TABLES:
        exists = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        query = _count_query(table, "?")
        counts[table] = connection.execute(query, _parameters(table)).fetchone()[0] if exists else 0
    return counts


def postgres_counts(connection: Any) -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in USER_DATA_TABLES:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
            if cursor.fetchone()[0]:
                cursor.execute(_count_query(table, "%s"), _parameters(table))
                counts[table] = cursor.fetchone()[0]
            else:
                counts[table] = 0
    return counts


def pg_tool(name: str) -> str | None:
    """A PostgreSQL program: on PATH, else the newest of Debian's /usr/lib/postgresql/<major>/bin (where
    `apt-get install postgresql` puts initdb and pg_ctl, off PATH)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    candidates.sort(key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0)
    return candidates[-1] if candidates else None
