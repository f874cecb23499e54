"""stackkit/monitoring/text.py: the three `invoke render --print` outputs; docs/operations.md says where each goes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from isolation import invoke, isolated_environ

from stackkit import monitoring
from stackkit.core.settings import REPO_ROOT


@pytest.mark.parametrize("piece", monitoring.PRINTABLE)
def test_render_prints_each_piece_and_writes_nothing(tmp_path: Path, piece: str) -> None:
    environ = isolated_environ(tmp_path / "state")
    result = invoke(environ, "render", "--print", piece)
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout) if piece == "grafana-dashboard" else yaml.safe_load(result.stdout)
    assert parsed["panels"] if piece == "grafana-dashboard" else parsed
    if piece == "prometheus-rules":
        assert [group["name"] for group in parsed["groups"]] == ["stackkit-traces", "stackkit-llm-cost"]
    if piece == "prometheus-scrape":
        assert isinstance(parsed["scrape_configs"], list)
    assert not (tmp_path / "state" / "rendered").exists()


def test_render_print_of_an_unknown_piece_names_every_choice(tmp_path: Path) -> None:
    result = invoke(isolated_environ(tmp_path / "state"), "render", "--print", "grafana")
    assert result.returncode == 2
    for piece in ("phoenix-exporter", *monitoring.PRINTABLE):
        assert piece in result.stderr


def test_docs_say_where_each_printed_piece_goes() -> None:
    readme = (REPO_ROOT / "docs" / "operations.md").read_text()
    for piece in monitoring.PRINTABLE:
        assert f"invoke render --print {piece}" in readme
    for place in ("rule_files:", "scrape_configs:", "provisioning/dashboards"):
        assert place in readme


# --- a real Prometheus scraping the real Phoenix ------------------------------------------------------------------
