"""What the verify tests share: a copy of the repository's configuration to break one thing in, and the
assertion that exactly the matching check changed."""

from __future__ import annotations

import shutil
from pathlib import Path

from stackkit.components.component import Plan
from stackkit.core.settings import Settings, load_settings
from stackkit.runtimes.render import render
from stackkit.verify import CheckResult, run_checks
from stackkit.verify.files import PLACEHOLDER_SECRETS

REPO = Path(__file__).resolve().parents[1]
STATIC_IDS = [
    "alloy.syntax",
    "alloy.receiver-bind",
    "alloy.exporter-protocol",
    "alloy.exporter-endpoint",
    "alloy.pipeline",
    "alloy.schema",
    "alloy.stability",
    "alloy.listen-addr",
    "alloy.queue",
    "otelcol.config",
    "phoenix.volume",
    "phoenix.auth-config",
    "sdk.exporter",
    "security.files",
]
DOCKER_PLAN = Plan(runtime="docker", components=("phoenix", "alloy", "ai-demo"), skipped={})
TELEMETRY_WITH_PROTOCOL = (
    "from phoenix.otel import register\n\n"
    "def setup(config):\n"
    '    return register(endpoint=config.traces_endpoint, protocol="http/protobuf", batch=True)\n'
)
# `encoding` is an argument of the exporter itself (otelcol.exporter.otlphttp.md), not of client { }.
ENCODING_AT_EXPORTER = '  encoding = "proto"\n\n'
CLIENT_OPENING = "  client {\n"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


class RepoCopy:
    """A copy of the repository's configuration and a scratch state folder, with settings pointing at both."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.root = tmp_path / "repo"
        shutil.copytree(REPO / "stacks", self.root / "stacks")
        demo = self.root / "services" / "ai-demo"
        (demo / "ai_demo").mkdir(parents=True)
        shutil.copy(REPO / "services" / "ai-demo" / "docker-compose.yml", demo / "docker-compose.yml")
        shipped_telemetry = REPO / "services" / "ai-demo" / "ai_demo" / "telemetry.py"
        if shipped_telemetry.exists():
            shutil.copy(shipped_telemetry, demo / "ai_demo" / "telemetry.py")
        else:  # being written by a colleague: stand in with the one line the check looks for
            (demo / "ai_demo" / "telemetry.py").write_text(TELEMETRY_WITH_PROTOCOL)
        self.env_file = tmp_path / "empty.env"
        self.env_file.touch()

    def alloy(self, name: str) -> Path:
        return self.root / "stacks" / "grafana-alloy" / name

    @property
    def telemetry(self) -> Path:
        return self.root / "services" / "ai-demo" / "ai_demo" / "telemetry.py"

    def settings(self, **overrides: str) -> Settings:
        environ = {
            "STACK_ENV_FILE": str(self.env_file),
            "STACK_STATE_DIR": str(self.tmp_path / "state"),
            "STACK_RUNTIME": "docker",
            **overrides,
        }
        return load_settings(environ=environ, repo_root=self.root)

    def results(self, **overrides: str) -> dict[str, CheckResult]:
        return {result.id: result for result in run_checks(self.settings(**overrides), static_only=True)}

    def render(self, secrets: dict[str, str] | None = None, **overrides: str) -> Settings:
        settings = self.settings(**overrides)
        render(settings, DOCKER_PLAN, PLACEHOLDER_SECRETS if secrets is None else secrets)
        return settings

    def rendered_env(self, name: str) -> Path:
        return self.tmp_path / "state" / "rendered" / "env" / f"{name}.env"

    def put_encoding_inside_client(self) -> None:
        template = self.alloy("phoenix-exporter.alloy.j2")
        edit(template, ENCODING_AT_EXPORTER, "")
        edit(template, CLIENT_OPENING, CLIENT_OPENING + '    encoding = "proto"\n')


def assert_only_check_changed(
    before: dict[str, CheckResult],
    after: dict[str, CheckResult],
    check_id: str,
    status: str,
    *mentions: str,
    also_changed: dict[str, str] | None = None,
) -> CheckResult:
    """check_id now has `status` and mentions each text; every other check is as it was (or as listed)."""
    result = after[check_id]
    assert result.status == status, result
    for text in mentions:
        assert text in result.summary, f"{text!r} not in {result.summary!r}"
    if status in ("warn", "fail"):
        assert result.fix, result
    also_changed = also_changed or {}
    for other, expected in also_changed.items():
        assert after[other].status == expected, after[other]
    unexpected = {
        other: after[other]
        for other in before
        if other != check_id and other not in also_changed and after[other].status != before[other].status
    }
    assert not unexpected, unexpected
    return result
