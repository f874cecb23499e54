"""PHOENIX_DB=postgres on the native runtime: the settings cross-check, the preflight `invoke up` runs
before Phoenix, and the password that no message may show."""

from __future__ import annotations

from pathlib import Path

import pytest
from isolation import isolated_environ, isolated_settings
from reliability_helpers import invoke

from stackkit.components.component import Plan
from stackkit.components.phoenix import database_url_for
from stackkit.components.phoenix import environment as phoenix_env
from stackkit.core.ports import free_ports
from stackkit.core.settings import NATIVE_POSTGRES_NEEDS_URL, SettingsError
from stackkit.phoenix import database

PASSWORD = "Sup3r-Secret-Pw"


def test_native_postgres_without_url_is_a_settings_problem(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as error:
        isolated_settings(tmp_path / "state", PHOENIX_DB="postgres", STACK_RUNTIME="native")
    assert NATIVE_POSTGRES_NEEDS_URL in error.value.problems
    assert "PHOENIX_SQL_DATABASE_URL" in NATIVE_POSTGRES_NEEDS_URL
    assert "docker" in NATIVE_POSTGRES_NEEDS_URL  # the other way out: docker runs its own PostgreSQL


@pytest.mark.parametrize("runtime", ["auto", "docker"])
def test_postgres_without_url_is_fine_until_native_is_chosen(tmp_path: Path, runtime: str) -> None:
    settings = isolated_settings(tmp_path / "state", PHOENIX_DB="postgres", STACK_RUNTIME=runtime)
    assert database.preflight_problem(settings, "docker") is None
    # With auto resolved to native (no engine), `invoke up` stops at the same message.
    assert database.preflight_problem(settings, "native") == NATIVE_POSTGRES_NEEDS_URL


def test_sqlite_needs_no_preflight(tmp_path: Path) -> None:
    assert database.preflight_problem(isolated_settings(tmp_path / "state"), "native") is None


def test_redact_and_libpq_target_keep_the_password_out() -> None:
    url = "postgresql://phoenix:p%40ss:word@db.example:5433/traces?sslmode=require"
    assert database.redact(url) == "postgresql://phoenix:***@db.example:5433/traces?sslmode=require"
    bare, env = database.libpq_target(url)
    assert bare == "postgresql://phoenix@db.example:5433/traces?sslmode=require"
    assert env == {"PGPASSWORD": "p@ss:word"}
    assert database.redact("postgresql://phoenix@h/db") == "postgresql://phoenix@h/db"


def test_native_phoenix_gets_the_url_and_postgres_alias_is_normalized(tmp_path: Path) -> None:
    url = f"postgres://phoenix:{PASSWORD}@127.0.0.1:5999/phoenix"
    settings = isolated_settings(tmp_path / "state", PHOENIX_DB="postgres", PHOENIX_SQL_DATABASE_URL=url)
    plan = Plan(runtime="native", components=("phoenix",), skipped={})
    # Phoenix (SQLAlchemy) rejects the postgres:// alias that libpq accepts.
    assert phoenix_env(settings, plan, {})["PHOENIX_SQL_DATABASE_URL"] == url.replace("postgres://", "postgresql://")
    docker_url = database_url_for(settings, "docker", {"POSTGRES_PASSWORD": "a@b/c"})
    assert docker_url == "postgresql://phoenix:a%40b%2Fc@postgres:5432/phoenix"


def test_unreachable_database_is_one_message_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://phoenix:{PASSWORD}@127.0.0.1:{free_ports(1)[0]}/phoenix"
    settings = isolated_settings(tmp_path / "state", PHOENIX_DB="postgres", PHOENIX_SQL_DATABASE_URL=url)
    problem = database.preflight_problem(settings, "native")
    assert problem is not None
    assert problem.startswith(f"PHOENIX_SQL_DATABASE_URL={database.redact(url)}: cannot connect")
    assert "Connection refused" in problem
    assert PASSWORD not in problem


def test_invoke_up_stops_before_phoenix_when_the_database_is_down(tmp_path: Path) -> None:
    url = f"postgresql://phoenix:{PASSWORD}@127.0.0.1:{free_ports(1)[0]}/phoenix"
    environ = isolated_environ(tmp_path / "state", PHOENIX_DB="postgres", PHOENIX_SQL_DATABASE_URL=url)
    result = invoke(environ, "up", "--only", "phoenix")
    assert result.returncode == 1
    assert "PHOENIX_SQL_DATABASE_URL=postgresql://phoenix:***@127.0.0.1" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert not list((tmp_path / "state").glob("run/*.pid")), "nothing may be started"


@pytest.mark.postgres
def test_preflight_passes_on_a_real_postgres(tmp_path: Path, postgres_url: str) -> None:
    settings = isolated_settings(tmp_path / "state", PHOENIX_DB="postgres", PHOENIX_SQL_DATABASE_URL=postgres_url)
    assert database.preflight_problem(settings, "native") is None
    assert database.count_rows(settings) == {"spans": 0, "datasets": 0, "prompts": 0}


@pytest.mark.postgres
def test_wrong_password_fails_at_once_without_showing_it(tmp_path: Path, postgres_url: str) -> None:
    real_password = postgres_url.split(":")[2].split("@")[0]
    wrong = postgres_url.replace(real_password, PASSWORD)
    settings = isolated_settings(tmp_path / "state", PHOENIX_DB="postgres", PHOENIX_SQL_DATABASE_URL=wrong)
    problem = database.preflight_problem(settings, "native")
    assert problem is not None
    assert "password authentication failed" in problem
    assert PASSWORD not in problem and real_password not in problem
