"""The stack's settings: read once from `.env` and the environment into one immutable object.

This is the only module that reads `os.environ` for stack settings. Every setting is declared once, as a
field of `Settings` (its name is the setting's name in lower case) with its default, parser, help text and
secrecy; `SPECS`, `.env.example` and README's settings table are derived from those fields or checked
against them by the tests.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from stackkit import envfile
from stackkit.errors import UsageError

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_FILE_VARIABLE = "STACK_ENV_FILE"
# What `invoke up` applied, in the state folder: later tasks start from it (see `load_settings`).
APPLIED_FILE = "applied.json"
SECRETS_FILE = "secrets.env"
# Names with these prefixes are ours: an unknown one is a typo, not something to ignore.
OUR_PREFIXES = ("STACK_", "PHOENIX_", "ALLOY_", "AI_DEMO_", "POSTGRES_", "PROMETHEUS_", "EVAL_")
# PHOENIX_* names the stack sets itself for Phoenix: the user sets them through our settings instead.
PHOENIX_SET_BY_STACK = {
    "PHOENIX_HOST": "nothing: the native runtime binds 127.0.0.1, docker publishes PHOENIX_UI_PORT",
    "PHOENIX_PORT": "PHOENIX_UI_PORT",
    "PHOENIX_GRPC_PORT": "PHOENIX_GRPC_HOST_PORT",
    "PHOENIX_LOG_MIGRATIONS": "nothing (the stack keeps migration SQL out of the log)",
    "PHOENIX_ENABLE_PROMETHEUS": "nothing: on in containers, natively when port 9090 is free (see README)",
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


class SettingsError(UsageError):
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
        raise ValueError("a positive, finite number (seconds)") from None
    if not (value > 0 and math.isfinite(value)):
        raise ValueError("a positive, finite number (seconds)")
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


def _bind_address(raw: str) -> str:
    value = raw.strip()
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(
            "an IPv4 address of this host: 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
        ) from None
    return value


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


def _optional_positive_float(raw: str) -> float | None:
    if not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("empty (off) or a positive number") from None
    if not (value > 0 and math.isfinite(value)):
        raise ValueError("empty (off) or a positive number")
    return value


def _percentage(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("a percentage from 1 to 100") from None
    if not 1 <= value <= 100:
        raise ValueError("a percentage from 1 to 100")
    return value


def _pem_file(raw: str) -> str:
    value = raw.strip()
    if not value:
        return ""
    path = Path(value).expanduser().resolve()
    if not path.is_file():
        raise ValueError("empty, or the path of an existing PEM file (the CA that signed the proxy's certificate)")
    return str(path)


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


ALL_COMPONENTS = ("phoenix", "alloy", "ai-demo")


@dataclass(frozen=True)
class Spec:
    name: str
    default: str
    parse: Callable[[str], Any]
    help: str
    secret: bool = False
    restarts: tuple[str, ...] = ()  # components a change restarts (`invoke up` on a running stack)
    in_place: bool = True  # False: a running stack cannot take a change (another store, another runtime)


def setting(
    default: str,
    parse: Callable[[str], Any],
    help: str,
    *,
    secret: bool = False,
    restarts: tuple[str, ...] = (),
    in_place: bool = True,
) -> Any:
    """A field of Settings that is a user setting: the one place its default, parser, help, secrecy and
    the components a change to it restarts are declared."""
    spec = {
        "default": default,
        "parse": parse,
        "help": help,
        "secret": secret,
        "restarts": restarts,
        "in_place": in_place,
    }
    return field(repr=not secret, metadata={"setting": spec})


@dataclass(frozen=True)
class Settings:
    """Typed, validated, immutable stack settings. Secrets are kept out of repr."""

    stack_runtime: str = setting(
        "auto",
        _choice("auto", "docker", "native"),
        "auto: docker when an engine answers, native otherwise.",
        in_place=False,
    )
    stack_state_dir: str = setting(
        ".stack",
        _text,
        "Rendered files, PIDs, logs, secrets and native data; relative paths are under the repository.",
        in_place=False,
    )
    stack_network: str = setting("llm-obs", _name, "Docker network the three stacks share.", restarts=ALL_COMPONENTS)
    stack_ui_address: str = setting(
        "127.0.0.1",
        _bind_address,
        "Host address the docker runtime publishes the UIs and APIs on (Phoenix, Alloy's UI, the demo); "
        "0.0.0.0 opens them to the network (see Security).",
        restarts=ALL_COMPONENTS,
    )
    alloy_otlp_address: str = setting(
        "0.0.0.0",
        _bind_address,
        "Host address the docker runtime publishes Alloy's OTLP ports on; 0.0.0.0 lets app containers reach "
        "them through host.docker.internal (see Security).",
        restarts=("alloy",),
    )
    stack_health_timeout: float = setting("120", _positive_float, "Seconds to wait for a component to turn healthy.")
    phoenix_version: str = setting(
        "20.26.1", _semver, "Arize Phoenix release (image tag and PyPI version).", restarts=("phoenix",)
    )
    phoenix_image: str = setting(
        "", _image, "Phoenix image; empty means arizephoenix/phoenix:version-$PHOENIX_VERSION.", restarts=("phoenix",)
    )
    phoenix_ui_port: int = setting(
        "6006", _port, "Host port of Phoenix's UI, REST API and OTLP/HTTP (/v1/traces).", restarts=ALL_COMPONENTS
    )
    phoenix_grpc_host_port: int = setting(
        "14317", _port, "Host port for Phoenix's OTLP/gRPC (container port 4317).", restarts=("phoenix",)
    )
    phoenix_project_name: str = setting(
        "ai-demo", _name, "Phoenix project the demo's traces land in.", restarts=("ai-demo",)
    )
    phoenix_working_dir: str = setting(
        "/mnt/data", _text, "Directory inside the Phoenix container that holds its data volume.", in_place=False
    )
    phoenix_allow_external_resources: bool = setting(
        "false",
        _bool,
        "Let Phoenix download UI assets at start (fails offline and slows start-up).",
        restarts=("phoenix",),
    )
    phoenix_enable_auth: bool = setting(
        "false",
        _bool,
        "Require authentication; secrets and an ingestion key are generated by `invoke up`.",
        restarts=ALL_COMPONENTS,
    )
    phoenix_secret: str = setting(
        "",
        _text,
        "Phoenix's token-signing secret; empty: generated when auth is on.",
        secret=True,
        restarts=("phoenix",),
    )
    phoenix_admin_secret: str = setting(
        "",
        _text,
        "Bearer secret of Phoenix's system admin; empty: generated when auth is on.",
        secret=True,
        restarts=("phoenix",),
    )
    phoenix_default_retention_policy_days: int = setting(
        "30",
        _non_negative_int,
        "Traces older than this many days are deleted by Phoenix's hourly sweep; 0 keeps them forever.",
        restarts=("phoenix",),
    )
    phoenix_database_allocated_storage_capacity_gibibytes: float | None = setting(
        "",
        _optional_positive_float,
        "Disk Phoenix's store may use, in GiB; empty: no storage guard.",
        restarts=("phoenix",),
    )
    phoenix_database_usage_insertion_blocking_threshold_percentage: float = setting(
        "95",
        _percentage,
        "With a storage capacity: Phoenix stops writing spans past this share of it (percent).",
        restarts=("phoenix",),
    )
    phoenix_external_url: str = setting(
        "",
        _optional_url("http", "https"),
        "A Phoenix the stack does not start (base URL, with its path prefix behind a proxy); empty: the stack "
        "runs its own.",
        restarts=ALL_COMPONENTS,
        in_place=False,
    )
    phoenix_ca_bundle: str = setting(
        "",
        _pem_file,
        "PEM file of a private CA to trust for PHOENIX_EXTERNAL_URL (mounted read-only); empty: the system's CAs.",
        restarts=ALL_COMPONENTS,
    )
    phoenix_api_key: str = setting(
        "",
        _text,
        "An ingestion key you already have for PHOENIX_EXTERNAL_URL; empty: minted with the admin secret.",
        secret=True,
        restarts=ALL_COMPONENTS,
    )
    phoenix_db: str = setting("sqlite", _choice("sqlite", "postgres"), "Phoenix's database backend.", in_place=False)
    phoenix_sql_database_url: str = setting(
        "",
        _optional_url("postgresql", "postgres"),
        "Native runtime with PHOENIX_DB=postgres: the PostgreSQL URL Phoenix uses.",
        secret=True,
        in_place=False,
    )
    postgres_version: str = setting(
        "16.4", _text, "PostgreSQL image tag for PHOENIX_DB=postgres on docker.", restarts=("phoenix",)
    )
    postgres_image: str = setting(
        "", _image, "PostgreSQL image; empty means postgres:$POSTGRES_VERSION.", restarts=("phoenix",)
    )
    postgres_password: str = setting(
        "",
        _text,
        "Password of the docker PostgreSQL; empty: generated into the secrets file.",
        secret=True,
        in_place=False,
    )
    alloy_version: str = setting("v1.18.1", _alloy_version, "Grafana Alloy release.", restarts=("alloy",))
    alloy_image: str = setting(
        "", _image, "Alloy image; empty means grafana/alloy:$ALLOY_VERSION.", restarts=("alloy",)
    )
    alloy_otlp_grpc_port: int = setting(
        "4317", _port, "Host port of Alloy's OTLP/gRPC receiver (apps send here).", restarts=("alloy",)
    )
    alloy_otlp_http_port: int = setting(
        "4318", _port, "Host port of Alloy's OTLP/HTTP receiver (apps send here).", restarts=("alloy", "ai-demo")
    )
    alloy_ui_port: int = setting("12345", _port, "Host port of Alloy's UI, /-/ready and /metrics.", restarts=("alloy",))
    alloy_queue_mib: int = setting(
        "256",
        _positive_int,
        "MiB of serialized spans Alloy's on-disk queue holds while Phoenix is unreachable (README: sizing).",
        restarts=("alloy",),
    )
    prometheus_remote_write_url: str = setting(
        "",
        _optional_url("http", "https"),
        "Where Alloy forwards metrics (remote-write URL); empty: metrics are not forwarded.",
        restarts=("alloy",),
    )
    alloy_external_url: str = setting(
        "",
        _optional_url("http", "https"),
        "An Alloy the stack does not start: its UI address (/-/ready, /metrics); empty: the stack runs its own.",
        restarts=ALL_COMPONENTS,
        in_place=False,
    )
    alloy_external_otlp_url: str = setting(
        "",
        _optional_url("http", "https"),
        "With ALLOY_EXTERNAL_URL: the OTLP/HTTP base URL of that Alloy's receiver (the demo and the canary send "
        "there).",
        restarts=ALL_COMPONENTS,
        in_place=False,
    )
    ai_demo_port: int = setting("8000", _port, "Host port of the AI demo service.", restarts=("ai-demo",))
    ai_demo_image: str = setting(
        "stackkit/ai-demo:local", _image, "Image the demo is built into for docker.", restarts=("ai-demo",)
    )
    ai_demo_base_image: str = setting(
        "python:3.11-slim", _image, "Base image of the demo's Dockerfile.", restarts=("ai-demo",)
    )
    ai_demo_llm_provider: str = setting(
        "offline",
        _choice("offline", "anthropic", "openai"),
        "LLM behind the demo; anthropic/openai need their API key.",
        restarts=("ai-demo",),
    )
    ai_demo_llm_model: str = setting(
        "", _text, "Model of the anthropic/openai provider; empty: the provider's small default.", restarts=("ai-demo",)
    )
    anthropic_api_key: str = setting(
        "", _text, "Key for AI_DEMO_LLM_PROVIDER=anthropic.", secret=True, restarts=("ai-demo",)
    )
    openai_api_key: str = setting("", _text, "Key for AI_DEMO_LLM_PROVIDER=openai.", secret=True, restarts=("ai-demo",))
    ai_demo_tool_timeout: float = setting(
        "0.5", _positive_float, "Seconds each weather-tool attempt may take.", restarts=("ai-demo",)
    )
    ai_demo_tool_max_retries: int = setting(
        "2", _non_negative_int, "Retries after a failed tool attempt.", restarts=("ai-demo",)
    )
    ai_demo_weather_api_url: str = setting(
        "",
        _optional_url("http", "https"),
        "Real weather HTTP API; empty: the offline deterministic source.",
        restarts=("ai-demo",),
    )
    eval_latency_threshold_ms: int = setting(
        "2000", _positive_int, "`invoke eval`: chains slower than this fail `latency`."
    )
    repo_root: Path = REPO_ROOT
    source: str = ".env"
    # Settings set in the environment or the env file now (the others are defaults or remembered).
    explicit: frozenset[str] = frozenset()
    # Phoenix's own settings (PHOENIX_* names the pinned Phoenix reads) given by the user, passed to Phoenix.
    phoenix_passthrough: tuple[tuple[str, str], ...] = ()
    # Every setting as given (text, before derived defaults such as PHOENIX_IMAGE are filled in).
    given: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def value_of(self, name: str) -> Any:
        """A setting's parsed value by its name (PHOENIX_UI_PORT)."""
        return getattr(self, name.lower())

    # Where things live in the state folder.
    @property
    def state_dir(self) -> Path:
        path = Path(self.stack_state_dir).expanduser()
        return (path if path.is_absolute() else self.repo_root / path).resolve()

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
        """Phoenix's base URL (its path prefix included): every client appends /healthz, /v1/... to it."""
        if self.phoenix_external_url:
            return self.phoenix_external_url.rstrip("/")
        return f"http://127.0.0.1:{self.phoenix_ui_port}"

    @property
    def phoenix_tls_verify(self) -> str | bool:
        """What `requests` verifies Phoenix's certificate with: the private CA when given, else the system's."""
        return self.phoenix_ca_bundle or True

    @property
    def phoenix_wants_key(self) -> bool:
        """Senders put an ingestion key in their Authorization header."""
        return self.phoenix_enable_auth or bool(self.phoenix_api_key)

    @property
    def alloy_url(self) -> str:
        if self.alloy_external_url:
            return self.alloy_external_url.rstrip("/")
        return f"http://127.0.0.1:{self.alloy_ui_port}"

    @property
    def alloy_otlp_http_url(self) -> str:
        if self.alloy_external_otlp_url:
            return self.alloy_external_otlp_url.rstrip("/")
        return f"http://127.0.0.1:{self.alloy_otlp_http_port}"

    @property
    def ai_demo_url(self) -> str:
        return f"http://127.0.0.1:{self.ai_demo_port}"

    @property
    def metrics_enabled(self) -> bool:
        return bool(self.prometheus_remote_write_url)

    def host_ports(self) -> dict[str, int]:
        """Host ports by the setting that chooses them."""
        return {name: self.value_of(name) for name in HOST_PORT_SETTINGS}


SPECS: tuple[Spec, ...] = tuple(
    Spec(name=item.name.upper(), **item.metadata["setting"]) for item in fields(Settings) if "setting" in item.metadata
)
SPECS_BY_NAME = {spec.name: spec for spec in SPECS}
HOST_PORT_SETTINGS = tuple(spec.name for spec in SPECS if spec.parse is _port)


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


def read_applied_record(state_dir: Path) -> dict[str, Any] | None:
    """The parsed applied.json of the stack in `state_dir` (stackkit.applied writes it); None when absent."""
    try:
        record = json.loads((state_dir / APPLIED_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return record if isinstance(record, dict) else None


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
    if problems:
        raise SettingsError(problems, source)

    values = {name.lower(): value for name, value in parsed.items()}
    values["phoenix_image"] = values["phoenix_image"] or f"arizephoenix/phoenix:version-{values['phoenix_version']}"
    values["alloy_image"] = values["alloy_image"] or f"grafana/alloy:{values['alloy_version']}"
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
    # runtime is chosen (stackkit.database.preflight_problem), because docker runs its own PostgreSQL.
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
