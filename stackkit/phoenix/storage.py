"""Phoenix's store over months: the retention policy in force, and how big the store is.

Retention: Phoenix reads PHOENIX_DEFAULT_RETENTION_POLICY_DAYS only when it creates its database (the
default policy row), and that policy sweeps once a week (cron "0 0 * * 0"). So a later change of the
setting would do nothing, and a store could hold a week more than asked. After each start `invoke up`
sets the default policy through Phoenix's GraphQL API to the setting's days, swept every hour.

Usage (`invoke status`): stored traces and spans (read-only SQL, like stackkit.phoenix.database.count_rows), the
store's size (SQLite: the file with its -wal and -shm; PostgreSQL: pg_database_size) and the free disk
under it.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from stackkit.core import secrets
from stackkit.core.settings import Settings
from stackkit.phoenix import database
from stackkit.phoenix.api import PhoenixError
from stackkit.phoenix.canary import STACK_PROJECT

HOURLY = "0 * * * *"
_POLICY_FIELDS = "id cronExpression rule { __typename ... on TraceRetentionRuleMaxDays { maxDays } }"
_POLICY_QUERY = f"query {{ defaultProjectTraceRetentionPolicy {{ {_POLICY_FIELDS} }} }}"
_PATCH = (
    "mutation Patch($input: PatchProjectTraceRetentionPolicyInput!) "
    f"{{ patchProjectTraceRetentionPolicy(input: $input) {{ node {{ {_POLICY_FIELDS} }} }} }}"
)


@dataclass(frozen=True)
class RetentionPolicy:
    max_days: float  # 0: keep forever
    cron: str


def _graphql(settings: Settings, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    headers = {}
    if settings.phoenix_enable_auth:
        headers["Authorization"] = f"Bearer {secrets.load(settings).get('PHOENIX_ADMIN_SECRET', '')}"
    response = requests.post(
        f"{settings.phoenix_url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=headers,
        timeout=10,
    )
    body = response.json() if response.content else {}
    if response.status_code >= 400 or body.get("errors"):
        raise PhoenixError(response.status_code, f"GraphQL: HTTP {response.status_code} {str(body)[:300]}")
    return body["data"]


def _policy_of(node: dict[str, Any]) -> RetentionPolicy:
    rule = node.get("rule") or {}
    return RetentionPolicy(max_days=float(rule.get("maxDays", 0) or 0), cron=node.get("cronExpression", ""))


def retention_policy(settings: Settings) -> RetentionPolicy:
    """The default retention policy in force, as Phoenix's API reports it."""
    return _policy_of(_graphql(settings, _POLICY_QUERY)["defaultProjectTraceRetentionPolicy"])


def apply_retention(settings: Settings) -> str:
    """Make Phoenix's default policy keep PHOENIX_DEFAULT_RETENTION_POLICY_DAYS days, swept hourly; a line
    saying what is in force."""
    days = settings.phoenix_default_retention_policy_days
    node = _graphql(settings, _POLICY_QUERY)["defaultProjectTraceRetentionPolicy"]
    current = _policy_of(node)
    if current.max_days != days or (days and current.cron != HOURLY):
        variables = {"input": {"id": node["id"], "cronExpression": HOURLY, "rule": {"maxDays": {"maxDays": days}}}}
        node = _graphql(settings, _PATCH, variables)["patchProjectTraceRetentionPolicy"]["node"]
        current = _policy_of(node)
    if not current.max_days:
        return "retention: traces are kept forever (PHOENIX_DEFAULT_RETENTION_POLICY_DAYS=0)"
    return f"retention: traces older than {current.max_days:g} days are deleted every hour ({current.cron})"


# --- How big the store is ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreUsage:
    where: str
    size_bytes: int | None
    traces: int
    spans: int
    free_bytes: int | None  # on the file system under the store; None when it is on another host
    total_bytes: int | None


def _sqlite_usage(path: Path) -> StoreUsage:
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    size = sum(file.stat().st_size for file in files if file.exists())
    traces = spans = 0
    if path.exists():
        # Read-only: never creates the file, never takes a write lock while Phoenix writes.
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as connection:
            has_spans = connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'spans'").fetchone()
            if has_spans:
                parameters = (STACK_PROJECT,)
                traces = connection.execute(database.user_count_query("traces", "?"), parameters).fetchone()[0]
                spans = connection.execute(database.user_count_query("spans", "?"), parameters).fetchone()[0]
    disk = shutil.disk_usage(path.parent if path.parent.exists() else Path("/"))
    return StoreUsage(f"SQLite {path}", size, traces, spans, disk.free, disk.total)


def _postgres_usage(settings: Settings) -> StoreUsage:
    url = settings.phoenix_sql_database_url
    with closing(database.connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
        cursor.execute("SELECT to_regclass('spans') IS NOT NULL")
        traces = spans = 0
        if cursor.fetchone()[0]:
            cursor.execute(database.user_count_query("traces", "%s"), (STACK_PROJECT,))
            traces = cursor.fetchone()[0]
            cursor.execute(database.user_count_query("spans", "%s"), (STACK_PROJECT,))
            spans = cursor.fetchone()[0]
    return StoreUsage(f"PostgreSQL {database.redact(url)}", size, traces, spans, None, None)


def usage(settings: Settings, runtime: str) -> StoreUsage | str:
    """What the store holds and how much disk is left, or why that cannot be read here."""
    if runtime == "docker":
        return "the store is in a docker volume: `invoke backup` copies it out; sizes are measured natively only"
    try:
        if settings.phoenix_db == "postgres":
            return _postgres_usage(settings)
        return _sqlite_usage(database.sqlite_path(settings))
    except Exception as error:  # a locked or half-created store: say so, status goes on
        return f"could not read the store ({type(error).__name__}: {str(error)[:150]})"


def _size(count: int | None) -> str:
    if count is None:
        return "?"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:.1f} GiB"


def usage_lines(settings: Settings, runtime: str) -> list[str]:
    """What `invoke status` prints about the store."""
    if settings.phoenix_external_url:
        return [f"Store: Phoenix is external ({settings.phoenix_external_url}): its store is not the stack's"]
    found = usage(settings, runtime)
    if isinstance(found, str):
        return [f"Store: {found}"]
    lines = [
        f"Store: {found.where}",
        f"  {found.traces} traces, {found.spans} spans, {_size(found.size_bytes)} on disk",
    ]
    if found.free_bytes is not None and found.total_bytes:
        share = 100 * found.free_bytes / found.total_bytes
        lines.append(f"  free disk under it: {_size(found.free_bytes)} of {_size(found.total_bytes)} ({share:.0f}%)")
    else:
        lines.append("  free disk under it: on the database's host (not visible from here)")
    days = settings.phoenix_default_retention_policy_days
    lines.append(f"  retention: {f'{days} days, swept hourly' if days else 'forever'}")
    capacity = settings.phoenix_database_allocated_storage_capacity_gibibytes
    if capacity is not None:
        threshold = settings.phoenix_database_usage_insertion_blocking_threshold_percentage
        used = f"{100 * found.size_bytes / (capacity * 2**30):.1f}% used" if found.size_bytes is not None else ""
        lines.append(f"  storage guard: {capacity:g} GiB, writes blocked past {threshold:g}% ({used})")
    return lines
