"""The stack's settings: read once from `.env` and the environment into one immutable object.

This is the only module that reads `os.environ` for stack settings. Every setting is declared once, as a
field of `Settings` (its name is the setting's name in lower case) with its default, parser, help text and
secrecy; `SPECS`, `.env.example` and docs/settings.md's table are derived from those fields or checked
against them by the tests.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stackkit.core import envfile, phoenix_values
from stackkit.core.errors import UsageError
from stackkit.core.setting_fields import HOST_PORT_SETTINGS, SPECS, SPECS_BY_NAME, Settings
from stackkit.core.setting_values import ALL_COMPONENTS, REPO_ROOT, SettingsError, Spec, setting

__all__ = [
    "ALL_COMPONENTS",
    "HOST_PORT_SETTINGS",
    "REPO_ROOT",
    "SPECS",
    "SPECS_BY_NAME",
    "Settings",
    "SettingsError",
    "Spec",
    "load_settings",
    "setting",
]

ENV_FILE_VARIABLE = "STACK_ENV_FILE"
# What `invoke up` applied, in the state folder: later tasks start from it (see `load_settings`).
APPLIED_FILE = "applied.json"
SECRETS_FILE = "secrets.env"
# Names with these prefixes are ours: an unknown one is a typo, not something to ignore.
OUR_PREFIXES = ("STACK_", "PHOENIX_", "ALLOY_", "OTELCOL_", "AI_DEMO_", "POSTGRES_", "PROMETHEUS_", "EVAL_", "ALERT_")
# PHOENIX_* names the stack sets itself for Phoenix: the user sets them through our settings instead.
PHOENIX_SET_BY_STACK = {
    "PHOENIX_HOST": "nothing: the native runtime binds 127.0.0.1, docker publishes PHOENIX_UI_PORT",
    "PHOENIX_PORT": "PHOENIX_UI_PORT",
    "PHOENIX_GRPC_PORT": "PHOENIX_GRPC_HOST_PORT",
    "PHOENIX_LOG_MIGRATIONS": "nothing (the stack keeps migration SQL out of the log)",
    "PHOENIX_ENABLE_PROMETHEUS": "STACK_PHOENIX_METRICS (natively; in containers they are always on, unpublished)",
    "PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD": (
        "nothing: with auth on the stack generates it into secrets.env (`invoke credentials --show` prints it)"
    ),
}
# PHOENIX_* names that configure Phoenix's clients (the user's apps), not the server: never passed to it.
PHOENIX_CLIENT_SETTINGS = {
    "PHOENIX_COLLECTOR_ENDPOINT",
    "PHOENIX_CLIENT_HEADERS",
    "PHOENIX_PROJECT",
    "PHOENIX_NOTEBOOK_ENV",
}
PHOENIX_SETTINGS_FILE = Path(__file__).with_name("phoenix_settings.txt")


@functools.cache
def phoenix_setting_names() -> frozenset[str]:
    """The environment variables the pinned Phoenix reads (from its config.py; see phoenix_settings.txt)."""
    lines = PHOENIX_SETTINGS_FILE.read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _is_phoenix_setting(name: str) -> bool:
    return name in phoenix_setting_names() or name.startswith("PHOENIX_OAUTH2_")


def _env_file_path(environ: Mapping[str, str], repo_root: Path) -> tuple[Path, bool]:
    named = environ.get(ENV_FILE_VARIABLE, "").strip()
    path = Path(named).expanduser() if named else repo_root / ".env"
    return (path if path.is_absolute() else repo_root / path), bool(named)


def _read_env_file(environ: Mapping[str, str], repo_root: Path) -> tuple[list[tuple[str, str, int]], str, list[str]]:
    path, named = _env_file_path(environ, repo_root)
    if named and (path.is_dir() or not path.exists()):
        what = "is a directory" if path.is_dir() else "no such file"
        shown = environ[ENV_FILE_VARIABLE]
        return [], str(path), [f"{ENV_FILE_VARIABLE}={shown}: {what}; point it at an existing .env file"]
    if not path.exists():
        return [], "defaults (no .env)", []
    try:
        return envfile.read_entries(path), str(path), []
    except envfile.EnvFileError as error:
        return [], str(path), [str(error)]


def _closest(name: str) -> str:
    match = difflib.get_close_matches(name, list(SPECS_BY_NAME), n=1, cutoff=0.75)
    return f" (did you mean {match[0]}?)" if match else ""


def _foreign_name_problem(name: str, where: str, from_file: bool) -> str | None:
    """Why a name that is not one of our settings cannot be used; None when it is fine to pass or ignore."""
    if name in PHOENIX_SET_BY_STACK:
        return f"{where}{name} is set by the stack itself; set {PHOENIX_SET_BY_STACK[name]} instead"
    if name in PHOENIX_CLIENT_SETTINGS or _is_phoenix_setting(name):
        return None
    hint = _closest(name)
    ours = name.startswith(OUR_PREFIXES)
    if (from_file and (ours or hint)) or (not from_file and ours and hint):
        return f"{where}{name} is not a setting of this stack{hint}; see .env.example for the settings"
    return None


def applied_record_fix(path: Path) -> str:
    return (
        f"It is the record `invoke up` writes of what it applied: delete {path.name}, then run `invoke up` "
        "(a running stack is recorded again; settings given then apply)"
    )


def read_applied_record(state_dir: Path) -> dict[str, Any] | None:
    """The parsed applied.json of the stack in `state_dir` (stackkit.stack.applied writes it); None when absent;
    UsageError naming the file (and the fix) when it is damaged."""
    path = state_dir / APPLIED_FILE
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: not valid JSON ({error}). {applied_record_fix(path)}") from None
    except OSError as error:
        raise UsageError(f"{path}: cannot be read ({error.strerror}). {applied_record_fix(path)}") from None
    shapes = {"settings": dict, "phoenix_passthrough": dict, "secret_fingerprints": dict, "skipped": dict}
    wrong = [
        name
        for name, kind in shapes.items()
        if isinstance(record, dict) and not isinstance(record.get(name, kind()), kind)
    ]
    if not isinstance(record, dict) or wrong:
        what = "not a JSON object" if not isinstance(record, dict) else f"{', '.join(wrong)} not an object"
        raise UsageError(f"{path}: {what}. {applied_record_fix(path)}")
    return record


def remembered_values(state_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The raw settings and Phoenix pass-through values the stack in `state_dir` was last brought up with."""
    record = read_applied_record(state_dir) or {}
    raw = {name: value for name, value in record.get("settings", {}).items() if name in SPECS_BY_NAME}
    try:
        stored = envfile.read(state_dir / SECRETS_FILE)
    except envfile.EnvFileError:
        stored = {}
    # PHOENIX_API_KEY in the secrets file is the ingestion key in use (perhaps minted), not a setting given.
    raw |= {
        name: value
        for name, value in stored.items()
        if name in SPECS_BY_NAME and SPECS_BY_NAME[name].secret and name != "PHOENIX_API_KEY"
    }
    return raw, dict(record.get("phoenix_passthrough", {}))


def _state_dir(raw_value: str, repo_root: Path) -> Path:
    path = Path(raw_value.strip() or ".stack").expanduser()
    return (path if path.is_absolute() else repo_root / path).resolve()


def load_settings(
    environ: Mapping[str, str] | None = None, repo_root: Path = REPO_ROOT, remember: bool = True
) -> Settings:
    """The settings tasks act on; SettingsError lists every problem.

    Each setting comes from, in order of precedence: the environment, `.env` (or $STACK_ENV_FILE), what the
    stack in STACK_STATE_DIR was last brought up with (when `remember`), the default. So a task run from
    another shell acts on the stack as it was started, and only a setting given now changes it.
    """
    environ = os.environ if environ is None else environ
    file_entries, source, problems = _read_env_file(environ, repo_root)
    file_values = {name: value for name, value, _ in file_entries}
    passthrough: dict[str, str] = {}
    for name, value, line in file_entries:
        if name in SPECS_BY_NAME or name == ENV_FILE_VARIABLE:
            continue
        if problem := _foreign_name_problem(name, f"{source}:{line}: ", from_file=True):
            problems.append(problem)
        elif _is_phoenix_setting(name) and name not in PHOENIX_CLIENT_SETTINGS:
            passthrough[name] = value
    for name, value in environ.items():
        if name in SPECS_BY_NAME or name == ENV_FILE_VARIABLE:
            continue
        if problem := _foreign_name_problem(name, "environment: ", from_file=False):
            problems.append(problem)
        elif _is_phoenix_setting(name) and name not in PHOENIX_CLIENT_SETTINGS:
            passthrough[name] = value

    explicit = {name for name in SPECS_BY_NAME if name in file_values or name in environ}
    raw = {spec.name: spec.default for spec in SPECS}
    raw.update({name: value for name, value in file_values.items() if name in SPECS_BY_NAME})
    raw.update({name: value for name, value in environ.items() if name in SPECS_BY_NAME})
    if remember:
        remembered, remembered_passthrough = remembered_values(_state_dir(raw["STACK_STATE_DIR"], repo_root))
        raw.update({name: value for name, value in remembered.items() if name not in explicit})
        passthrough = remembered_passthrough | passthrough

    return settings_from_given(raw, repo_root, source, problems, explicit, passthrough)


def settings_from_given(
    raw: Mapping[str, str],
    repo_root: Path = REPO_ROOT,
    source: str = "the applied-state record",
    problems: list[str] | None = None,
    explicit: set[str] | frozenset[str] = frozenset(),
    passthrough: Mapping[str, str] | None = None,
    fix: str = "",
) -> Settings:
    """Parse every setting from text (defaults for the missing ones); SettingsError lists every problem."""
    problems = list(problems or [])
    raw = {spec.name: spec.default for spec in SPECS} | dict(raw)
    parsed: dict[str, Any] = {}
    for spec in SPECS:
        try:
            parsed[spec.name] = spec.parse(raw[spec.name])
        except ValueError as allowed:
            shown = "(hidden)" if spec.secret else repr(raw[spec.name])
            problems.append(f"{spec.name}={shown}: expected {allowed}")
    problems += _cross_checks(parsed)
    problems += phoenix_values.problems(passthrough or {})
    if problems:
        raise SettingsError(problems, source, fix)

    values = {name.lower(): value for name, value in parsed.items()}
    values["phoenix_image"] = values["phoenix_image"] or f"arizephoenix/phoenix:version-{values['phoenix_version']}"
    values["alloy_image"] = values["alloy_image"] or f"grafana/alloy:{values['alloy_version']}"
    values["otelcol_image"] = (
        values["otelcol_image"] or f"otel/opentelemetry-collector-contrib:{values['otelcol_version']}"
    )
    values["postgres_image"] = values["postgres_image"] or f"postgres:{values['postgres_version']}"
    return Settings(
        repo_root=repo_root,
        source=source,
        explicit=frozenset(explicit),
        phoenix_passthrough=tuple(sorted((passthrough or {}).items())),
        given=tuple((spec.name, raw[spec.name].strip()) for spec in SPECS),
        **values,
    )


def given_values(settings: Settings, secret: bool = False) -> dict[str, str]:
    """The settings as given (text), the non-secret ones or the secret ones."""
    return {name: value for name, value in settings.given if SPECS_BY_NAME[name].secret == secret}


NATIVE_POSTGRES_NEEDS_URL = (
    "PHOENIX_DB=postgres on the native runtime needs PHOENIX_SQL_DATABASE_URL, the URL of a PostgreSQL "
    "you run (postgresql://user:password@host:5432/dbname): set it, or use PHOENIX_DB=sqlite, or the docker "
    "runtime (STACK_RUNTIME=docker), which runs its own PostgreSQL"
)


def _cross_checks(parsed: dict[str, Any]) -> list[str]:
    problems = []
    port_names = [name for name in HOST_PORT_SETTINGS if name in parsed]
    seen: dict[int, str] = {}
    for name in port_names:
        port = parsed[name]
        if port in seen:
            problems.append(f"{name}={port}: the same port as {seen[port]}; every host port must be distinct")
        else:
            seen[port] = name
    if not str(parsed.get("PHOENIX_WORKING_DIR", "/")).startswith("/"):
        problems.append("PHOENIX_WORKING_DIR: expected an absolute path inside the container, such as /mnt/data")
    provider = parsed.get("AI_DEMO_LLM_PROVIDER")
    for name, key in (("anthropic", "ANTHROPIC_API_KEY"), ("openai", "OPENAI_API_KEY")):
        if provider == name and not parsed.get(key):
            problems.append(f"AI_DEMO_LLM_PROVIDER={name}: needs {key}; set it, or use AI_DEMO_LLM_PROVIDER=offline")
    # Only an explicit native runtime is known here: with auto, `invoke up` repeats this check once the
    # runtime is chosen (stackkit.phoenix.database.preflight_problem), because docker runs its own PostgreSQL.
    if (
        parsed.get("PHOENIX_DB") == "postgres"
        and parsed.get("STACK_RUNTIME") == "native"
        and not parsed.get("PHOENIX_SQL_DATABASE_URL")
    ):
        problems.append(NATIVE_POSTGRES_NEEDS_URL)
    if parsed.get("ALLOY_EXTERNAL_OTLP_URL") and not parsed.get("ALLOY_EXTERNAL_URL"):
        problems.append("ALLOY_EXTERNAL_OTLP_URL: needs ALLOY_EXTERNAL_URL (that Alloy's UI address) too, or empty it")
    if (
        parsed.get("PHOENIX_EXTERNAL_URL")
        and parsed.get("PHOENIX_ENABLE_AUTH")
        and not parsed.get("PHOENIX_API_KEY")
        and not parsed.get("PHOENIX_ADMIN_SECRET")
    ):
        problems.append(
            "PHOENIX_ENABLE_AUTH=true with PHOENIX_EXTERNAL_URL: the stack cannot generate that Phoenix's secrets; "
            "set PHOENIX_API_KEY (an ingestion key of it) or PHOENIX_ADMIN_SECRET (its admin secret, to mint one)"
        )
    storage_alert = parsed.get("ALERT_STORAGE_PERCENT")
    blocking = parsed.get("PHOENIX_DATABASE_USAGE_INSERTION_BLOCKING_THRESHOLD_PERCENTAGE")
    guarded = parsed.get("PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES") is not None
    if guarded and storage_alert is not None and blocking is not None and storage_alert >= blocking:
        problems.append(
            f"ALERT_STORAGE_PERCENT={storage_alert:g}: at or past "
            f"PHOENIX_DATABASE_USAGE_INSERTION_BLOCKING_THRESHOLD_PERCENTAGE ({blocking:g}) the alert comes only "
            "once Phoenix refuses every span; choose a lower share"
        )
    if parsed.get("PHOENIX_CA_BUNDLE") and not parsed.get("PHOENIX_EXTERNAL_URL"):
        problems.append(
            "PHOENIX_CA_BUNDLE: only used with PHOENIX_EXTERNAL_URL (the stack's own Phoenix is plain http); "
            "set PHOENIX_EXTERNAL_URL or empty PHOENIX_CA_BUNDLE"
        )
    return problems


def env_example_text() -> str:
    """The text of `.env.example`: every setting with its comment and default (a test keeps them equal)."""
    lines = [
        "# Stack settings. Copy to .env and change what you need; real environment variables override",
        "# this file, and STACK_ENV_FILE=path names another file. Empty secrets are generated by `invoke up`",
        "# into $STACK_STATE_DIR/secrets.env (mode 0600), never printed.",
    ]
    for spec in SPECS:
        lines += ["", f"# {spec.help}", f"{spec.name}={spec.default}"]
    return "\n".join(lines) + "\n"
