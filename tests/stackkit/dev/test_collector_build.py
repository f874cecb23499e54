"""The committed builder manifest is one consistent release, and the build is found by the manifest's hash."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stackkit.dev import collector_build, system_packages
from stackkit.otelcol import component as otelcol


def modules() -> dict[str, str]:
    manifest = yaml.safe_load(otelcol.MANIFEST.read_text())
    pairs = [entry["gomod"].split() for kind, entries in manifest.items() if kind != "dist" for entry in entries]
    return {module: version for module, version in pairs}


def test_core_contrib_and_providers_are_one_release_and_the_builder_matches_it() -> None:
    core = collector_build.BUILDER_VERSION
    minor = re.fullmatch(r"v0\.(\d+)\.0", core)
    assert minor, core
    for module, version in modules().items():
        if module.startswith("go.opentelemetry.io/collector/confmap/"):
            assert version.startswith("v1."), (module, version)  # the stable modules of that release
        elif module.startswith("go.opentelemetry.io/collector/"):
            assert version == core, (module, version)
        else:
            assert module.startswith("github.com/open-telemetry/opentelemetry-collector-contrib/"), module
            assert re.fullmatch(rf"v0\.{minor.group(1)}\.\d+", version), (module, version)


def test_the_build_folder_follows_the_manifest_and_the_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert otelcol.built_binary() == tmp_path / "stackkit" / "otelcol" / otelcol.manifest_hash() / "otelcol-stackkit"
    assert otelcol.binary() is None or not otelcol.binary().startswith(str(tmp_path))


def test_check_says_how_to_build_when_nothing_is_built(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stackkit.dev.collector_build", "--check"],
        env={"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "nox -s collector" in result.stdout


def test_without_go_the_build_names_where_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nowhere = dataclasses.replace(system_packages.BY_NAME["go"], candidates=(str(tmp_path / "go"),))
    monkeypatch.setitem(system_packages.BY_NAME, "go", nowhere)
    with pytest.raises(collector_build.UsageError, match=r"go\.dev/doc/install"):
        collector_build.find_go()
