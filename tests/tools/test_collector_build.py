"""The committed builder manifest is one consistent release, and the build is found by the manifest's hash."""

from __future__ import annotations

import dataclasses
import fcntl
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stackkit.components import otelcol
from tools import collector_build, system_packages


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
        [sys.executable, "-m", "tools.collector_build", "--check"],
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


def test_a_second_build_waits_for_the_first_and_finds_its_binary(tmp_path: Path) -> None:
    """Two `nox -s collector` at once (two checkouts, one cache): the second waits on the first's lock and
    takes what it built, rather than deleting the first's half-done folder and building again."""
    env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    final = tmp_path / "stackkit" / "otelcol" / otelcol.manifest_hash()
    final.parent.mkdir(parents=True)
    with open(final.with_name(final.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first build, running
        second = subprocess.Popen(
            [sys.executable, "-m", "tools.collector_build"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert second.stdout is not None
        assert "another build of this manifest is running; waiting for it" in second.stdout.readline()
        assert second.poll() is None
        # The first build finishes: its folder is renamed into place, then its lock released.
        final.mkdir()
        (final / otelcol.BINARY_NAME).write_bytes(b"")
    rest = second.communicate(timeout=60)[0]
    assert second.returncode == 0, rest
    assert f"built by the other build: {final / otelcol.BINARY_NAME}" in rest
