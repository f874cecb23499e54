"""stackkit/core/llm_metrics.py rendered into both fan-outs: the Collector's LLM pipelines only with a remote-write URL
(the real binary validates them), Alloy's llm-metrics.alloy passing `invoke verify --static` (schema and
stability) with and without the token sums, and verify's alloy.stability following ALLOY_STABILITY_LEVEL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from collector_helpers import validate
from isolation import invoke, isolated_environ, isolated_settings

from stackkit.components import alloy, otelcol
from stackkit.components.component import Plan
from stackkit.core import envfile, llm_metrics
from stackkit.runtimes.render import render

REMOTE_WRITE = "http://127.0.0.1:9/api/v1/write"
SECRETS = {"PHOENIX_SECRET": "s3cret-for-signing-tokens-0123456789"}


def _static(environ: dict[str, str]) -> dict[str, dict[str, object]]:
    rendered = invoke(environ, "render")
    assert rendered.returncode == 0, rendered.stderr
    result = invoke(environ, "verify", "--static", "--json")
    return {entry["id"]: entry for entry in json.loads(result.stdout)}


@pytest.mark.parametrize(
    ("given", "components"),
    [
        ({}, {"otelcol.connector.spanmetrics"}),
        ({"PROMETHEUS_REMOTE_WRITE_URL": REMOTE_WRITE}, {"otelcol.connector.spanmetrics"}),
        (
            {"PROMETHEUS_REMOTE_WRITE_URL": REMOTE_WRITE, "ALLOY_STABILITY_LEVEL": "experimental"},
            {
                "otelcol.connector.spanmetrics",
                "otelcol.connector.signaltometrics",
                "otelcol.processor.deltatocumulative",
            },
        ),
    ],
    ids=["no-remote-write", "calls-only", "with-tokens"],
)
def test_alloy_pieces_pass_the_static_checks(tmp_path: Path, given: dict[str, str], components: set[str]) -> None:
    environ = isolated_environ(tmp_path / "state", **given)
    checks = _static(environ)
    failed = {name: entry for name, entry in checks.items() if entry["status"] == "fail"}
    assert failed == {}, failed
    piece = (tmp_path / "state" / "rendered" / alloy.ALLOY_DIR / "llm-metrics.alloy").read_text()
    used = {line.split('"')[0].strip() for line in piece.splitlines() if line.startswith("otelcol.")}
    assert used == {"otelcol.processor.batch", *components}, used
    assert ("metrics = [otelcol.exporter.prometheus.remote.input]" in piece) == bool(given)
    for name in llm_metrics.DIMENSIONS:
        assert f'name = "{name}"' in piece


def test_alloy_stability_follows_the_setting(tmp_path: Path) -> None:
    """Token sums rendered for experimental, Alloy then run at the default level: verify says it refuses."""
    tokens = {"PROMETHEUS_REMOTE_WRITE_URL": REMOTE_WRITE, "ALLOY_STABILITY_LEVEL": "experimental"}
    environ = isolated_environ(tmp_path / "state", **tokens)
    assert invoke(environ, "render").returncode == 0
    lowered = environ | {"ALLOY_STABILITY_LEVEL": "public-preview", "PROMETHEUS_REMOTE_WRITE_URL": REMOTE_WRITE}
    # verify reads what was rendered; the command line it judges follows the setting now given.
    result = invoke(lowered, "verify", "--static", "--json")
    stability = {entry["id"]: entry for entry in json.loads(result.stdout)}["alloy.stability"]
    assert stability["status"] == "fail", stability
    assert "otelcol.connector.signaltometrics is experimental" in str(stability["summary"])
    assert "runs Alloy with --stability.level=public-preview" in str(stability["summary"])
    settings = isolated_settings(tmp_path / "other", ALLOY_STABILITY_LEVEL="experimental")
    assert "--stability.level=experimental" in alloy.ALLOY.native_command(settings)  # type: ignore[misc]


def test_a_stability_level_alloy_does_not_offer_here_is_refused(tmp_path: Path) -> None:
    result = invoke(isolated_environ(tmp_path / "state", ALLOY_STABILITY_LEVEL="beta"), "render")
    assert result.returncode == 2
    assert "ALLOY_STABILITY_LEVEL" in result.stderr and "Traceback" not in result.stderr


def _collector_config(tmp_path: Path, **given: str) -> tuple[Path, dict, dict[str, str]]:
    tmp_path.mkdir()
    settings = isolated_settings(tmp_path / "state", STACK_COLLECTOR="otelcol", **given)
    render(settings, Plan(runtime="native", components=("phoenix", "otelcol", "ai-demo"), skipped={}), SECRETS)
    config = settings.rendered_dir / otelcol.STACK_DIR / otelcol.CONFIG_NAME
    return config, yaml.safe_load(config.read_text()), envfile.read(settings.rendered_dir / "env" / "otelcol.env")


def test_the_collector_counts_llm_spans_only_with_a_remote_write_url(tmp_path: Path) -> None:
    _, without, _ = _collector_config(tmp_path / "off")
    assert "connectors" not in without and set(without["service"]["pipelines"]) == {"traces", "metrics"}
    config, parsed, env = _collector_config(tmp_path / "on", PROMETHEUS_REMOTE_WRITE_URL=REMOTE_WRITE)
    pipelines = parsed["service"]["pipelines"]
    # The spans Phoenix gets are untouched: the LLM metrics have a pipeline of their own from the same receiver.
    assert pipelines["traces"] == without["service"]["pipelines"]["traces"]
    assert pipelines["traces/llm"] == {
        "receivers": ["otlp"],
        "exporters": ["span_metrics/llm", "signal_to_metrics/llm"],
    }
    assert pipelines["metrics/llm"]["exporters"] == ["prometheus_remote_write"]
    spanmetrics = parsed["connectors"]["span_metrics/llm"]
    assert [d["name"] for d in spanmetrics["dimensions"]] == list(llm_metrics.DIMENSIONS)
    assert spanmetrics["exclude_dimensions"] == list(llm_metrics.EXCLUDED_DIMENSIONS)
    sums = parsed["connectors"]["signal_to_metrics/llm"]["spans"]
    assert [s["name"] for s in sums] == [t.metric for t in llm_metrics.TOKEN_SUMS]
    result = validate(config, env)
    assert result.returncode == 0, result.stdout + result.stderr
