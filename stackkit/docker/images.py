"""Build the images the docker runtime needs on a machine with no image registry.

1. A Debian bookworm root filesystem from `debootstrap`, cached as a tarball between runs.
2. `docker import` of it as LOCAL_BASE_IMAGE, with a venv first on PATH so `python` and `pip` behave as
   in python:3.11-slim (Debian's own python3 has no `python`, no `pip` and refuses system installs).
3. Phoenix (stacks/arize-phoenix/image) and the AI demo (services/ai-demo) built on it with pip from PyPI.
4. The upstream Collector (stacks/otelcol/image): the stack's own build (`nox -s collector`) copied onto it,
   nothing downloaded at all.

Builds run with the host network (the default bridge cannot reach the package index here) and the host's
CA bundle in the build context as `host-ca.crt` (egress goes through a proxy whose CA only the host
trusts). Every step is skipped when its result already exists. `python -m stackkit.docker.images` runs it all.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import docker
from docker.errors import ImageNotFound

from stackkit.core.errors import OperationFailed
from stackkit.core.output import Printer
from stackkit.core.setting_values import AI_DEMO_NAME, PHOENIX_NAME
from stackkit.core.settings import REPO_ROOT, Settings, load_settings

LOCAL_BASE_IMAGE = "stackkit/debian-python:bookworm"
DEBIAN_SUITE = "bookworm"
DEBIAN_PACKAGES = "python3,python3-venv,ca-certificates"
DEFAULT_CACHE_DIR = Path("~/.cache/stackkit")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CA_IN_CONTEXT = "host-ca.crt"
PHOENIX_CONTEXT = REPO_ROOT / "stacks" / "arize-phoenix" / "image"
AI_DEMO_CONTEXT = REPO_ROOT / "services/ai-demo"
OTELCOL_CONTEXT = REPO_ROOT / "stacks/otelcol/image"
# The name the Collector's Dockerfile copies the binary from (its build context).
OTELCOL_BINARY_IN_CONTEXT = "otelcol-stackkit"
# The venv that stands in for python:3.11-slim's /usr/local python.
BASE_VENV = "/opt/python"
BASE_IMAGE_CHANGES = [
    f"ENV PATH={BASE_VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
]


class ImageBuildError(OperationFailed):
    """A build step failed; the message carries the end of its output."""


class ElapsedPrinter:
    """Prints each progress line with the seconds since this printer was made."""

    def __init__(self, out: Printer):
        self.out = out
        self.start = time.monotonic()

    def __call__(self, text: str) -> None:
        self.out(f"[{time.monotonic() - self.start:6.1f}s] {text}")


def docker_client(timeout: int = 600) -> docker.DockerClient:
    # "auto": Debian's engine speaks API 1.41, older than the SDK's default.
    return docker.from_env(version="auto", timeout=timeout)


def image_exists(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
        return True
    except ImageNotFound:
        return False


def image_size_mb(client: docker.DockerClient, name: str) -> float:
    return client.images.get(name).attrs["Size"] / 1e6


def rootfs_tarball(cache_dir: Path = DEFAULT_CACHE_DIR, progress: Printer = print) -> Path:
    """The cached bookworm root filesystem tarball, made with debootstrap when missing (root only)."""
    cache_dir = cache_dir.expanduser()
    tarball = cache_dir / f"rootfs-{DEBIAN_SUITE}.tar"
    if tarball.exists():
        progress(f"rootfs: cached {tarball} ({tarball.stat().st_size / 1e6:.0f} MB)")
        return tarball
    if shutil.which("debootstrap") is None:
        raise ImageBuildError("debootstrap is not installed: apt-get install debootstrap")
    cache_dir.mkdir(parents=True, exist_ok=True)
    rootfs = Path(tempfile.mkdtemp(prefix="rootfs-", dir=cache_dir))
    try:
        _run(
            ["debootstrap", "--variant=minbase", f"--include={DEBIAN_PACKAGES}", DEBIAN_SUITE, str(rootfs)],
            "debootstrap",
        )
        progress(f"rootfs: debootstrap {DEBIAN_SUITE} done")
        _run(["chroot", str(rootfs), "python3", "-m", "venv", BASE_VENV], "python3 -m venv in the rootfs")
        progress(f"rootfs: venv {BASE_VENV} created")
        # Leave the apt lists out: they are 20 MB an image never needs without network anyway.
        for lists in (rootfs / "var/lib/apt/lists").glob("*_*"):
            lists.unlink()
        partial = tarball.with_suffix(".tar.partial")
        _run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], "tar of the rootfs")
        partial.rename(tarball)  # only a complete tarball ever carries the cached name
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    progress(f"rootfs: wrote {tarball} ({tarball.stat().st_size / 1e6:.0f} MB)")
    return tarball


def ensure_base_image(
    client: docker.DockerClient, cache_dir: Path = DEFAULT_CACHE_DIR, progress: Printer = print
) -> str:
    if image_exists(client, LOCAL_BASE_IMAGE):
        progress(f"{LOCAL_BASE_IMAGE}: present")
        return LOCAL_BASE_IMAGE
    tarball = rootfs_tarball(cache_dir, progress)
    repository, tag = LOCAL_BASE_IMAGE.split(":")
    client.api.import_image_from_file(str(tarball), repository=repository, tag=tag, changes=BASE_IMAGE_CHANGES)
    progress(f"{LOCAL_BASE_IMAGE}: imported ({image_size_mb(client, LOCAL_BASE_IMAGE):.0f} MB)")
    return LOCAL_BASE_IMAGE


def build_image(
    client: docker.DockerClient,
    context: Path,
    tag: str,
    buildargs: dict[str, str],
    progress: Printer = print,
    extra_files: dict[str, Path] | None = None,
) -> None:
    """`docker build --network host` of a copy of `context` with the host CA bundle added to it, and
    `extra_files` (name in the context -> file here) copied in beside it."""
    with tempfile.TemporaryDirectory(prefix="stackkit-build-") as copy:
        shutil.copytree(context, copy, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        if HOST_CA_BUNDLE.exists():
            shutil.copyfile(HOST_CA_BUNDLE, Path(copy) / CA_IN_CONTEXT)
        for name, source in (extra_files or {}).items():
            shutil.copy2(source, Path(copy) / name)  # copy2: the binary keeps its executable bit
        output: list[str] = []
        # The low-level API streams the build's JSON messages; the high-level one hides them until the end.
        for message in client.api.build(
            path=copy, tag=tag, buildargs=buildargs, network_mode="host", rm=True, forcerm=True, decode=True
        ):
            output.append(_message_text(message))
            if "error" in message:
                tail = "".join(output[-25:])
                raise ImageBuildError(f"building {tag} from {context} failed:\n{tail}")
    progress(f"{tag}: built ({image_size_mb(client, tag):.0f} MB)")


def ensure_phoenix_image(
    settings: Settings,
    client: docker.DockerClient,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    progress: Printer = print,
) -> str:
    tag = settings.phoenix_image
    if image_exists(client, tag):
        progress(f"{tag}: present")
        return tag
    if tag.startswith("arizephoenix/"):
        # A local build must not pass for the official image.
        raise ImageBuildError(
            f"{tag} is not present locally; to build Phoenix here set PHOENIX_IMAGE to a local name, "
            f"e.g. PHOENIX_IMAGE=stackkit/phoenix:{settings.phoenix_version}"
        )
    base = ensure_base_image(client, cache_dir, progress)
    progress(f"{tag}: building arize-phoenix=={settings.phoenix_version} from PyPI")
    build_image(
        client,
        PHOENIX_CONTEXT,
        tag,
        {"BASE_IMAGE": base, "PHOENIX_VERSION": settings.phoenix_version},
        progress,
    )
    return tag


def ensure_ai_demo_image(
    settings: Settings,
    client: docker.DockerClient,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    progress: Printer = print,
) -> str:
    tag = settings.ai_demo_image
    if image_exists(client, tag):
        progress(f"{tag}: present")
        return tag
    if settings.ai_demo_base_image == LOCAL_BASE_IMAGE:
        ensure_base_image(client, cache_dir, progress)
    progress(f"{tag}: building from {AI_DEMO_CONTEXT} on {settings.ai_demo_base_image}")
    try:
        build_image(client, AI_DEMO_CONTEXT, tag, {"BASE_IMAGE": settings.ai_demo_base_image}, progress)
    except ImageBuildError as error:
        if image_exists(client, settings.ai_demo_base_image):
            raise
        raise ImageBuildError(
            f"{error}\nThe base image {settings.ai_demo_base_image} is not present locally and could not be "
            f"pulled; with no registry set AI_DEMO_BASE_IMAGE={LOCAL_BASE_IMAGE} (built here)"
        ) from None
    return tag


def ensure_otelcol_image(
    settings: Settings,
    client: docker.DockerClient,
    binary: Path,
    local_tag: str,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    progress: Printer = print,
) -> str:
    """OTELCOL_IMAGE, built from `binary` (the stack's own Collector build) on the local base when missing.
    `local_tag` is the name a local build goes by (it carries the build's manifest hash)."""
    tag = settings.otelcol_image
    if image_exists(client, tag):
        progress(f"{tag}: present")
        return tag
    if not tag.startswith("stackkit/"):
        # A local build must not pass for the official image (or for one the user names).
        raise ImageBuildError(
            f"{tag} is not present locally; to run the stack's own Collector build in a container set "
            f"OTELCOL_IMAGE={local_tag}"
        )
    if not binary.is_file():
        raise ImageBuildError(
            f"{tag} needs the stack's own Collector build, which is missing ({binary}): `nox -s collector` builds it"
        )
    base = ensure_base_image(client, cache_dir, progress)
    progress(f"{tag}: building from {binary} on {base}")
    build_image(client, OTELCOL_CONTEXT, tag, {"BASE_IMAGE": base}, progress, {OTELCOL_BINARY_IN_CONTEXT: binary})
    return tag


def build_all(settings: Settings, cache_dir: Path = DEFAULT_CACHE_DIR, progress: Printer = print) -> dict[str, str]:
    """The Phoenix and demo images (and the local base when they need it); returns names by component."""
    step = ElapsedPrinter(progress)
    client = docker_client()
    try:
        return {
            PHOENIX_NAME: ensure_phoenix_image(settings, client, cache_dir, step),
            AI_DEMO_NAME: ensure_ai_demo_image(settings, client, cache_dir, step),
        }
    finally:
        client.close()


def _message_text(message: dict[str, Any]) -> str:
    if "error" in message:
        return f"ERROR: {message['error']}\n"
    return str(message.get("stream", ""))


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise ImageBuildError(f"{what} failed (exit {result.returncode}):\n" + "\n".join(output[-20:]))


if __name__ == "__main__":
    build_all(load_settings())
