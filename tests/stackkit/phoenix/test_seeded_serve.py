"""seeded_serve.py runs in Phoenix's own Python: the price it writes matches the API's, and whatever goes wrong
while writing it, it hands over to Phoenix's `serve` (the priced start itself: tests/stackkit/commands/test_up.py,
and on PostgreSQL tests/stackkit/commands/test_persistence.py)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stackkit.phoenix import pricing as model_pricing
from stackkit.phoenix import seeded_serve


def test_the_seeded_price_is_the_one_the_api_registers() -> None:
    seeded = json.loads(model_pricing.seed_argument())
    assert seeded["name"] == model_pricing.OFFLINE_MODEL
    assert seeded["name_pattern"] == "^offline\\-weather\\-1$"
    rates = {(price["token_type"], price["is_prompt"]): price["base_rate"] for price in seeded["token_prices"]}
    assert rates == {
        ("input", True): pytest.approx(model_pricing.INPUT_USD_PER_MILLION_TOKENS / 1e6),
        ("output", False): pytest.approx(model_pricing.OUTPUT_USD_PER_MILLION_TOKENS / 1e6),
    }


def test_it_imports_nothing_of_stackkit() -> None:
    """PHOENIX_VERSION's own environment has Phoenix but no stackkit."""
    tree = ast.parse(Path(seeded_serve.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert {name.split(".")[0] for name in imported} <= {
        "__future__",
        "asyncio",
        "json",
        "re",
        "sys",
        "typing",
        "sqlalchemy",
        "phoenix",
    }


@pytest.mark.phoenix
def test_a_failed_seed_is_one_line_and_phoenix_still_runs(tmp_path: Path) -> None:
    """An unreadable price: one line, then Phoenix's own `serve` runs (here it stops at once on its own bad
    setting, which only Phoenix's serve reads: proof that it was handed over)."""
    env = dict(os.environ, PHOENIX_WORKING_DIR=str(tmp_path), PHOENIX_PORT="not-a-port", PYTHONUNBUFFERED="1")
    result = subprocess.run(
        [sys.executable, seeded_serve.__file__, "{not json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert "--- stackkit: could not price the offline model before Phoenix's start (JSONDecodeError" in output
    assert "`invoke up` registers it through Phoenix's API" in output
    assert "PHOENIX_PORT" in output, output
    assert result.returncode != 0
