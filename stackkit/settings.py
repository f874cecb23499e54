"""The stack's settings: read once from `.env` and the environment into one immutable object.

This is the only module that reads `os.environ` for stack settings. Every setting is declared once in
`SPECS`; `.env.example` and README's settings table are checked against that list by the tests.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dotenv import dotenv_values

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_FILE_VARIABLE = "STACK_ENV_FILE"
COMPONENTS = ("phoenix", "alloy", "ai-demo")


class SettingsError(Exception):
    """Every problem found in the settings, reported together."""

    def __init__(self, problems: list[str], source: str):
        self.problems = problems
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"Invalid settings (read from {self.source} and the environment):"]
        lines += [f"  - {problem}" for problem in self.problems]
        lines.append("Fix them in your .env (see .env.example) or in the environment, then run again.")
        return "\n".join(lines)


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return value

    return parse


def _port(raw: str) -> int:
    if not re.fullmatch(r"\d+", raw.strip()) or not 1 <= int(raw) <= 65535:
        raise ValueError("an integer port from 1 to 65535")
    return int(raw)


def _positive_int(raw: str) -> int:
    if not re.fullmatch(r"\d+", raw.strip()) or int(raw) < 1:
        raise ValueError("a whole number of at least 1")
    return int(raw)


def _non_negative_int(raw: str) -> int:
    if not re.fullmatch(r"\d+", raw.strip()):
        raise ValueError("a whole number of at least 0")
    return int(raw)


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("a positive number (seconds)") from None
    if not value > 0:
        raise ValueError("a positive number (seconds)")
    return value


_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("one of true, false, 1, 0, yes, no")


def _text(raw: str) -> str:
    return raw.strip()


def _name(raw: str) -> str:
    value = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
        raise ValueError("letters, digits, '_', '.', '-', starting with a letter or digit")
    return value


def _optional_url(*schemes: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if not value:
            return ""
        parsed = urlparse(value)
        if parsed.scheme not in schemes or not parsed.hostname:
            raise ValueError(f"empty, or a URL starting with {' or '.join(s + '://' for s in schemes)}")
        try:
            parsed.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise ValueError("a URL whose port is a number from 1 to 65535") from None
        return value

    return parse


def _semver(raw: str) -> str:
    value = raw.strip()
    if not re.fullmatch(r"\d+\.\d+\.\d+", value):
        raise ValueError("a pinned release such as 20.26.1 (not 'latest')")
    return value


def _alloy_version(raw: str) -> str:
    value = raw.strip()
    if not re.fullmatch(r"v1\.\d+\.\d+", value):
        raise ValueError("a pinned Alloy 1.x release such as v1.18.1 (not 'latest')")
    return value


def _image(raw: str) -> str:
    value = raw.strip()
    if not value:
        return ""
    if not re.fullmatch(r"[a-z0-9][a-z0-9._/:@-]*", value) or value.endswith(":latest"):
        raise ValueError("empty (derived from the version) or an image reference with a pinned tag")
    return value


@dataclass(frozen=True)
class Spec:
    name: str
    default: str
    parse: Callable[[str], Any]
    help: str
    secret: bool = False


SPECS: tuple[Spec, ...] = (
    Spec(
        "STACK_RUNTIME",
        "auto",
        _choice("auto", "docker", "native"),
        "auto: docker when an engine answers, native otherwise.",
    ),
    Spec(
        "STACK_STATE_DIR",
        ".stack",
        _text,
        "Rendered files, PIDs, logs, secrets and native data; relative paths are under the repository.",
    ),
    Spec("STACK_NETWORK", "llm-obs", _name, "Docker network the three stacks share."),
    Spec("STACK_HEALTH_TIMEOUT", "120", _positive_float, "Seconds to wait for a component to turn healthy."),
    Spec("PHOENIX_VERSION", "20.26.1", _semver, "Arize Phoenix release (image tag and PyPI version)."),
    Spec(
        "PHOENIX_IMAGE",
        "",
        _image,
        "Phoenix image; empty means arizephoenix/phoenix:version-$PHOENIX_VERSION.",
    ),
    Spec("PHOENIX_UI_PORT", "6006", _port, "Host port of Phoenix's UI, REST API and OTLP/HTTP (/v1/traces)."),
    Spec("PHOENIX_GRPC_HOST_PORT", "14317", _port, "Host port for Phoenix's OTLP/gRPC (container port 4317)."),
    Spec("PHOENIX_PROJECT_NAME", "ai-demo", _name, "Phoenix project the demo's traces land in."),
    Spec(
        "PHOENIX_WORKING_DIR",
        "/mnt/data",
        _text,
        "Directory inside the Phoenix container that holds its data volume.",
    ),
    Spec(
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES",
        "false",
        _bool,
        "Let Phoenix download UI assets at start (fails offline and slows start-up).",
    ),
    Spec(
        "PHOENIX_ENABLE_AUTH",
        "false",
        _bool,
        "Require authentication; secrets and an ingestion key are generated by `invoke up`.",
    ),
    Spec(
        "PHOENIX_SECRET",
        "",
        _text,
        "Phoenix's token-signing secret; empty: generated when auth is on.",
        secret=True,
    ),
    Spec(
        "PHOENIX_ADMIN_SECRET",
        "",
        _text,
        "Bearer secret of Phoenix's system admin; empty: generated when auth is on.",
        secret=True,
    ),
    Spec("PHOENIX_DB", "sqlite", _choice("sqlite", "postgres"), "Phoenix's database backend."),
    Spec(
        "PHOENIX_SQL_DATABASE_URL",
        "",
        _optional_url("postgresql", "postgres"),
        "Native runtime with PHOENIX_DB=postgres: the PostgreSQL URL Phoenix uses.",
        secret=True,
    ),
    Spec("POSTGRES_VERSION", "16.4", _text, "PostgreSQL image tag for PHOENIX_DB=postgres on docker."),
    Spec("POSTGRES_IMAGE", "", _image, "PostgreSQL image; empty means postgres:$POSTGRES_VERSION."),
    Spec(
        "POSTGRES_PASSWORD",
        "",
        _text,
        "Password of the docker PostgreSQL; empty: generated into the secrets file.",
        secret=True,
    ),
    Spec("ALLOY_VERSION", "v1.18.1", _alloy_version, "Grafana Alloy release."),
    Spec("ALLOY_IMAGE", "", _image, "Alloy image; empty means grafana/alloy:$ALLOY_VERSION."),
    Spec("ALLOY_OTLP_GRPC_PORT", "4317", _port, "Host port of Alloy's OTLP/gRPC receiver (apps send here)."),
    Spec("ALLOY_OTLP_HTTP_PORT", "4318", _port, "Host port of Alloy's OTLP/HTTP receiver (apps send here)."),
    Spec("ALLOY_UI_PORT", "12345", _port, "Host port of Alloy's UI, /-/ready and /metrics."),
    Spec(
        "PROMETHEUS_REMOTE_WRITE_URL",
        "",
        _optional_url("http", "https"),
        "Where Alloy forwards metrics (remote-write URL); empty: metrics are not forwarded.",
    ),
    Spec("AI_DEMO_PORT", "8000", _port, "Host port of the AI demo service."),
    Spec("AI_DEMO_IMAGE", "stackkit/ai-demo:local", _image, "Image the demo is built into for docker."),
    Spec("AI_DEMO_BASE_IMAGE", "python:3.11-slim", _image, "Base image of the demo's Dockerfile."),
    Spec(
        "AI_DEMO_LLM_PROVIDER",
        "offline",
        _choice("offline", "anthropic", "openai"),
        "LLM behind the demo; anthropic/openai need their API key.",
    ),
    Spec(
        "AI_DEMO_LLM_MODEL", "", _text, "Model of the anthropic/openai provider; empty: the provider's small default."
    ),
    Spec("ANTHROPIC_API_KEY", "", _text, "Key for AI_DEMO_LLM_PROVIDER=anthropic.", secret=True),
    Spec("OPENAI_API_KEY", "", _text, "Key for AI_DEMO_LLM_PROVIDER=openai.", secret=True),
    Spec("AI_DEMO_TOOL_TIMEOUT", "0.5", _positive_float, "Seconds each weather-tool attempt may take."),
    Spec("AI_DEMO_TOOL_MAX_RETRIES", "2", _non_negative_int, "Retries after a failed tool attempt."),
    Spec(
        "AI_DEMO_WEATHER_API_URL",
        "",
        _optional_url("http", "https"),
        "Real weather HTTP API; empty: the offline deterministic source.",
    ),
    Spec(
        "EVAL_LATENCY_THRESHOLD_MS",
        "2000",
        _positive_int,
        "`invoke eval`: chains slower than this fail `latency`.",
    ),
)
SPECS_BY_NAME = {spec.name: spec for spec in SPECS}
HOST_PORT_SETTINGS = tuple(spec.name for spec in SPECS if spec.parse is _port)


@dataclass(frozen=True)
class Settings:
    """Typed, validated, immutable stack settings. Secrets are kept out of repr."""

    runtime: str
    state_dir: Path
    network: str
    health_timeout: float
    phoenix_version: str
    phoenix_image: str
    phoenix_ui_port: int
    phoenix_grpc_host_port: int
    phoenix_project_name: str
    phoenix_working_dir: str
    phoenix_allow_external_resources: bool
    phoenix_enable_auth: bool
    phoenix_secret: str = field(repr=False)
    phoenix_admin_secret: str = field(repr=False)
    phoenix_db: str
    phoenix_sql_database_url: str = field(repr=False)
    postgres_version: str
    postgres_image: str
    postgres_password: str = field(repr=False)
    alloy_version: str
    alloy_image: str
    alloy_otlp_grpc_port: int
    alloy_otlp_http_port: int
    alloy_ui_port: int
    prometheus_remote_write_url: str
    ai_demo_port: int
    ai_demo_image: str
    ai_demo_base_image: str
    ai_demo_llm_provider: str
    ai_demo_llm_model: str
    anthropic_api_key: str = field(repr=False)
    openai_api_key: str = field(repr=False)
    ai_demo_tool_timeout: float
    ai_demo_tool_max_retries: int
    ai_demo_weather_api_url: str
    eval_latency_threshold_ms: int
    repo_root: Path = REPO_ROOT
    source: str = ".env"

    # Where things live in the state folder.
    @property
    def rendered_dir(self) -> Path:
        return self.state_dir / "rendered"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def secrets_file(self) -> Path:
        return self.state_dir / "secrets.env"

    # How the host reaches each component.
    @property
    def phoenix_url(self) -> str:
        return f"http://127.0.0.1:{self.phoenix_ui_port}"

    @property
    def alloy_url(self) -> str:
        return f"http://127.0.0.1:{self.alloy_ui_port}"

    @property
    def alloy_otlp_http_url(self) -> str:
        return f"http://127.0.0.1:{self.alloy_otlp_http_port}"

    @property
    def ai_demo_url(self) -> str:
        return f"http://127.0.0.1:{self.ai_demo_port}"

    @property
    def metrics_enabled(self) -> bool:
        return bool(self.prometheus_remote_write_url)

    def host_ports(self) -> dict[str, int]:
        """Host ports by the setting that chooses them."""
        return {
            "PHOENIX_UI_PORT": self.phoenix_ui_port,
            "PHOENIX_GRPC_HOST_PORT": self.phoenix_grpc_host_port,
            "ALLOY_OTLP_GRPC_PORT": self.alloy_otlp_grpc_port,
            "ALLOY_OTLP_HTTP_PORT": self.alloy_otlp_http_port,
            "ALLOY_UI_PORT": self.alloy_ui_port,
            "AI_DEMO_PORT": self.ai_demo_port,
        }


def _read_env_file(environ: Mapping[str, str], repo_root: Path) -> tuple[dict[str, str], str, list[str]]:
    named = environ.get(ENV_FILE_VARIABLE, "").strip()
    path = Path(named) if named else repo_root / ".env"
    if not path.is_absolute():
        path = repo_root / path
    if not path.exists():
        if named:
            return (
                {},
                str(path),
                [f"{ENV_FILE_VARIABLE}={named}: no such file; point it at an existing .env file"],
            )
        return {}, "defaults (no .env)", []
    values = {key: value or "" for key, value in dotenv_values(path).items()}
    return values, str(path), []


def load_settings(environ: Mapping[str, str] | None = None, repo_root: Path = REPO_ROOT) -> Settings:
    """Parse `.env` (or $STACK_ENV_FILE), overridden by the environment; SettingsError lists every problem."""
    environ = os.environ if environ is None else environ
    file_values, source, problems = _read_env_file(environ, repo_root)
    raw = {spec.name: spec.default for spec in SPECS}
    raw.update({key: value for key, value in file_values.items() if key in SPECS_BY_NAME})
    raw.update({key: value for key, value in environ.items() if key in SPECS_BY_NAME})

    parsed: dict[str, Any] = {}
    for spec in SPECS:
        try:
            parsed[spec.name] = spec.parse(raw[spec.name])
        except ValueError as allowed:
            shown = "(hidden)" if spec.secret else repr(raw[spec.name])
            problems.append(f"{spec.name}={shown}: expected {allowed}")
    problems += _cross_checks(parsed)
    if problems:
        raise SettingsError(problems, source)

    state_dir = Path(parsed["STACK_STATE_DIR"]).expanduser()
    if not state_dir.is_absolute():
        state_dir = repo_root / state_dir
    fields = {spec.name.lower(): parsed[spec.name] for spec in SPECS}
    fields.pop("stack_state_dir")
    fields["runtime"] = fields.pop("stack_runtime")
    fields["network"] = fields.pop("stack_network")
    fields["health_timeout"] = fields.pop("stack_health_timeout")
    fields["phoenix_image"] = fields["phoenix_image"] or f"arizephoenix/phoenix:version-{fields['phoenix_version']}"
    fields["alloy_image"] = fields["alloy_image"] or f"grafana/alloy:{fields['alloy_version']}"
    fields["postgres_image"] = fields["postgres_image"] or f"postgres:{fields['postgres_version']}"
    return Settings(state_dir=state_dir.resolve(), repo_root=repo_root, source=source, **fields)


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
    # runtime is chosen (stackkit.database.preflight_problem), because docker runs its own PostgreSQL.
    if (
        parsed.get("PHOENIX_DB") == "postgres"
        and parsed.get("STACK_RUNTIME") == "native"
        and not parsed.get("PHOENIX_SQL_DATABASE_URL")
    ):
        problems.append(NATIVE_POSTGRES_NEEDS_URL)
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
