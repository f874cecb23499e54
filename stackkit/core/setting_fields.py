"""The stack's settings, each declared once as a field of `Settings` (its name is the setting's name in
lower case) with its default, parser, help text, secrecy and what a change restarts; `SPECS` follows. The
stack's own and Phoenix's come first, from `stackkit.core.setting_fields_base`; Alloy's, the Collector's, the demo's
and the alert thresholds follow here."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from stackkit.core.setting_fields_base import StackAndPhoenixSettings
from stackkit.core.setting_values import (
    AI_DEMO_NAME,
    ALL_COMPONENTS,
    ALLOY_NAME,
    FAN_OUTS,
    OTELCOL_NAME,
    REPO_ROOT,
    Spec,
    _alert_percentage,
    _alloy_version,
    _choice,
    _image,
    _non_negative_int,
    _optional_url,
    _port,
    _positive_float,
    _positive_int,
    _queue_mib,
    _semver,
    _surge_factor,
    _text,
    setting,
)


@dataclass(frozen=True)
class Settings(StackAndPhoenixSettings):
    """Typed, validated, immutable stack settings. Secrets are kept out of repr."""

    alloy_version: str = setting("v1.18.1", _alloy_version, "Grafana Alloy release.", restarts=(ALLOY_NAME,))
    alloy_image: str = setting(
        "", _image, "Alloy image; empty means grafana/alloy:$ALLOY_VERSION.", restarts=(ALLOY_NAME,)
    )
    alloy_otlp_grpc_port: int = setting(
        "4317",
        _port,
        "Host port of the fan-out's OTLP/gRPC receiver, Alloy's or the Collector's (apps send here).",
        restarts=FAN_OUTS,
    )
    alloy_otlp_http_port: int = setting(
        "4318",
        _port,
        "Host port of the fan-out's OTLP/HTTP receiver, Alloy's or the Collector's (apps send here).",
        restarts=(*FAN_OUTS, AI_DEMO_NAME),
    )
    alloy_ui_port: int = setting(
        "12345", _port, "Host port of Alloy's UI, /-/ready and /metrics.", restarts=(ALLOY_NAME,)
    )
    alloy_queue_mib: int = setting(
        "256",
        _queue_mib,
        "MiB of serialized spans the fan-out's on-disk queue (Alloy's or the Collector's) holds while Phoenix is "
        "unreachable, at most 16384 (docs/operations.md: sizing).",
        restarts=FAN_OUTS,
    )
    alloy_stability_level: str = setting(
        "public-preview",
        _choice("public-preview", "experimental"),
        "The lowest stability level Alloy loads components at (--stability.level): public-preview (the on-disk "
        "queue needs it), or experimental, which also sends LLM token sums per model (otelcol.connector."
        "signaltometrics) with PROMETHEUS_REMOTE_WRITE_URL.",
        restarts=(ALLOY_NAME,),
    )
    prometheus_remote_write_url: str = setting(
        "",
        _optional_url("http", "https"),
        "Where the fan-out (Alloy or the Collector) forwards metrics (remote-write URL); empty: metrics are not "
        "forwarded.",
        restarts=FAN_OUTS,
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
    stack_collector: str = setting(
        ALLOY_NAME,
        _choice(*FAN_OUTS),
        "The fan-out between apps and Phoenix: alloy (Grafana Alloy) or otelcol (the upstream OpenTelemetry "
        "Collector: the stack's own build or otelcol-contrib natively, its contrib image on docker).",
        restarts=(*FAN_OUTS, AI_DEMO_NAME),
    )
    otelcol_version: str = setting(
        "0.165.0",
        _semver,
        "With STACK_COLLECTOR=otelcol on docker: the otel/opentelemetry-collector-contrib release.",
        restarts=(OTELCOL_NAME,),
    )
    otelcol_image: str = setting(
        "",
        _image,
        "The Collector's image; empty means otel/opentelemetry-collector-contrib:$OTELCOL_VERSION.",
        restarts=(OTELCOL_NAME,),
    )
    otelcol_health_port: int = setting(
        "13133",
        _port,
        "Host port of the Collector's health check (its health_check extension).",
        restarts=(OTELCOL_NAME,),
    )
    otelcol_metrics_port: int = setting(
        "8888",
        _port,
        "Host port of the Collector's own metrics (/metrics: its queue, sent and failed spans).",
        restarts=(OTELCOL_NAME,),
    )
    ai_demo_port: int = setting("8000", _port, "Host port of the AI demo service.", restarts=(AI_DEMO_NAME,))
    ai_demo_image: str = setting(
        "stackkit/ai-demo:local", _image, "Image the demo is built into for docker.", restarts=(AI_DEMO_NAME,)
    )
    ai_demo_base_image: str = setting(
        "python:3.11-slim", _image, "Base image of the demo's Dockerfile.", restarts=(AI_DEMO_NAME,)
    )
    ai_demo_llm_provider: str = setting(
        "offline",
        _choice("offline", "anthropic", "openai"),
        "LLM behind the demo; anthropic/openai need their API key.",
        restarts=(AI_DEMO_NAME,),
    )
    ai_demo_llm_model: str = setting(
        "",
        _text,
        "Model of the anthropic/openai provider; empty: the provider's small default.",
        restarts=(AI_DEMO_NAME,),
    )
    anthropic_api_key: str = setting(
        "", _text, "Key for AI_DEMO_LLM_PROVIDER=anthropic.", secret=True, restarts=(AI_DEMO_NAME,)
    )
    openai_api_key: str = setting(
        "", _text, "Key for AI_DEMO_LLM_PROVIDER=openai.", secret=True, restarts=(AI_DEMO_NAME,)
    )
    ai_demo_tool_timeout: float = setting(
        "0.5", _positive_float, "Seconds each weather-tool attempt may take.", restarts=(AI_DEMO_NAME,)
    )
    ai_demo_tool_max_retries: int = setting(
        "2", _non_negative_int, "Retries after a failed tool attempt.", restarts=(AI_DEMO_NAME,)
    )
    ai_demo_weather_api_url: str = setting(
        "",
        _optional_url("http", "https"),
        "Real weather HTTP API; empty: the offline deterministic source.",
        restarts=(AI_DEMO_NAME,),
    )
    eval_latency_threshold_ms: int = setting(
        "2000", _positive_int, "`invoke eval`: chains slower than this fail `latency`."
    )
    # Thresholds of the alert rules `invoke render --print prometheus-rules` writes (stackkit.monitoring).
    alert_queue_percent: float = setting(
        "80",
        _alert_percentage,
        "Alert when Phoenix's span queue (of PHOENIX_MAX_SPANS_QUEUE_SIZE) or the fan-out's sending queue stays "
        "fuller than this share for 2 minutes (percent).",
    )
    alert_storage_percent: float = setting(
        "85",
        _alert_percentage,
        "Alert when Phoenix's store passes this share of its storage capacity (percent; below the blocking "
        "threshold, so there is time to act).",
    )
    alert_demo_error_percent: float = setting(
        "5",
        _alert_percentage,
        "Alert when more than this share of the demo's requests fail or degrade over 5 minutes (percent).",
    )
    alert_tool_failure_percent: float = setting(
        "10",
        _alert_percentage,
        "Alert when more than this share of tool calls (TOOL spans) end in error over 5 minutes (percent, below 100).",
    )
    alert_llm_error_percent: float = setting(
        "5",
        _alert_percentage,
        "Alert when more than this share of LLM calls (LLM spans) end in error over 5 minutes (percent, below 100).",
    )
    alert_token_surge_factor: float = setting(
        "3",
        _surge_factor,
        "Alert when a model's token use over the last hour runs this many times its rate over the last day.",
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
