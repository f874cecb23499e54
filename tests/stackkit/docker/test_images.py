"""Local image builds for a machine with no registry: the cheap rules first, then real builds (docker)."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from docker.errors import ImageNotFound
from isolation import isolated_settings

from stackkit.components import otelcol
from stackkit.docker import images


class _NoImages:
    """A docker client stand-in with no image at all: `images.get` always misses."""

    class images:
        @staticmethod
        def get(name: str) -> None:
            raise ImageNotFound(name)


def test_a_cached_rootfs_is_reused_without_debootstrap(tmp_path: Path) -> None:
    tarball = tmp_path / "rootfs-bookworm.tar"
    tarball.write_bytes(b"cached")
    lines: list[str] = []
    assert images.rootfs_tarball(tmp_path, progress=lines.append) == tarball
    assert lines == [f"rootfs: cached {tarball} (0 MB)"]


def test_a_missing_official_phoenix_image_is_not_built_under_its_name(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state")  # PHOENIX_IMAGE defaults to arizephoenix/phoenix
    with pytest.raises(images.ImageBuildError, match=re.escape("PHOENIX_IMAGE=stackkit/phoenix:20.26.1")):
        images.ensure_phoenix_image(settings, _NoImages(), tmp_path, progress=lambda _: None)


@pytest.mark.docker
def test_build_all_builds_once_then_skips(tmp_path: Path, docker_engine: object) -> None:
    settings = isolated_settings(
        tmp_path / "state",
        PHOENIX_IMAGE="stackkit/phoenix:20.26.1",
        AI_DEMO_BASE_IMAGE=images.LOCAL_BASE_IMAGE,
    )
    built = images.build_all(settings, progress=print)
    assert built == {
        "phoenix": "stackkit/phoenix:20.26.1",
        "ai-demo": settings.ai_demo_image,
    }

    started = time.monotonic()
    lines: list[str] = []
    images.build_all(settings, progress=lines.append)
    assert [line.split("] ", 1)[1] for line in lines] == [f"{name}: present" for name in built.values()]
    assert time.monotonic() - started < 10

    client = images.docker_client()
    try:
        config = client.images.get("stackkit/phoenix:20.26.1").attrs["Config"]
        # The layout of arizephoenix/phoenix, so the compose file treats both alike.
        assert config["Entrypoint"] == ["python3"]
        assert config["Cmd"] == ["-m", "phoenix.server.main", "serve"]
        assert config["WorkingDir"] == "/phoenix"
        assert set(config["ExposedPorts"]) == {"6006/tcp", "4317/tcp", "9090/tcp"}
        # The host's CA bundle was only in the build stage.
        listing = client.containers.run(
            "stackkit/phoenix:20.26.1",
            ["-c", "import os, phoenix; print(os.path.exists('/tmp/context'), phoenix.__file__)"],
            remove=True,
        ).decode()
        assert listing.split() == ["False", "/phoenix/env/phoenix/__init__.py"]
    finally:
        client.close()


def test_a_missing_official_collector_image_is_not_built_under_its_name(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state", STACK_COLLECTOR="otelcol")  # the official image by default
    binary = tmp_path / "otelcol-stackkit"
    binary.write_bytes(b"")
    with pytest.raises(images.ImageBuildError, match=re.escape("set OTELCOL_IMAGE=stackkit/components/otelcol:0123")):
        images.ensure_otelcol_image(
            settings, _NoImages(), binary, "stackkit/components/otelcol:0123", tmp_path, lambda _: None
        )


def test_a_local_collector_image_needs_the_stacks_own_build(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "state", OTELCOL_IMAGE="stackkit/components/otelcol:0123")
    missing = tmp_path / "not-built" / "otelcol-stackkit"
    with pytest.raises(images.ImageBuildError, match=re.escape(f"missing ({missing}): `nox -s collector` builds it")):
        images.ensure_otelcol_image(
            settings, _NoImages(), missing, "stackkit/components/otelcol:0123", tmp_path, lambda _: None
        )


@pytest.mark.docker
def test_the_collector_image_is_the_stacks_own_build_on_the_local_base(tmp_path: Path, docker_engine: object) -> None:
    tag = otelcol.local_image()
    settings = isolated_settings(tmp_path / "state", STACK_COLLECTOR="otelcol", OTELCOL_IMAGE=tag)
    client = images.docker_client()
    try:
        started = time.monotonic()
        assert otelcol.OTELCOL.build_image is not None
        assert otelcol.OTELCOL.build_image(settings, client, print) == tag
        print(f"{tag}: ready in {time.monotonic() - started:.1f}s ({images.image_size_mb(client, tag):.0f} MB)")
        config = client.images.get(tag).attrs["Config"]
        assert config["Entrypoint"] == ["/usr/local/bin/otelcol-stackkit"]
        assert config["Cmd"] == ["--config=/etc/otelcol-contrib/config.yaml"]
        assert set(config["ExposedPorts"]) == {f"{port}/tcp" for port in otelcol.CONTAINER_PORTS.values()}
        # Exec form with the base's python3, against the health_check extension's port.
        check = config["Healthcheck"]["Test"]
        assert check[:3] == ["CMD", "python3", "-c"] and f":{otelcol.CONTAINER_PORTS['health']}/" in check[3]
        # The very binary of `nox -s collector`, runnable with no network at all.
        listed = client.containers.run(tag, ["components"], network_mode="none", remove=True).decode()
        host = subprocess.run([str(otelcol.built_binary()), "components"], capture_output=True, text=True, check=True)
        assert listed.strip() == host.stdout.strip()
        assert "otelcol-stackkit" in listed
    finally:
        client.close()
