"""What the Collector tests share: the stack's own Collector build (missing: a failure under CI=true, a skip
naming the command that builds it otherwise) and its `validate`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from system import unavailable

from stackkit.components import otelcol


def collector_binary() -> Path:
    """The stack's own build from the committed manifest (not an otelcol-contrib: the tests check ours)."""
    binary = otelcol.built_binary()
    if not binary.is_file():
        unavailable(f"the stack's Collector is not built ({binary}): run `.venv/bin/nox -s collector`")
    return binary


def validate(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real binary's `validate`: unknown components, keys and bad values fail it, nothing is started."""
    return subprocess.run(
        [str(collector_binary()), "validate", f"--config={config}"],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
