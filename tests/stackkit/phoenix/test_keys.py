"""Phoenix auth end to end on the real Phoenix: generated secrets, a minted key, rotation, nothing leaked."""

from __future__ import annotations

import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from isolation import invoke, isolated_environ

from stackkit.core import secrets
from stackkit.core.settings import REPO_ROOT, Settings, load_settings
from stackkit.phoenix.api import PhoenixClient
from stackkit.phoenix.canary import STACK_PROJECT, send_canary

pytestmark = pytest.mark.phoenix


@pytest.fixture(scope="module")
def secured_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Settings, str]]:
    environ = isolated_environ(tmp_path_factory.mktemp("auth") / "state", PHOENIX_ENABLE_AUTH="true")
    result = invoke(environ, "up")
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield environ, load_settings(environ=environ), result.stdout + result.stderr
    finally:
        invoke(environ, "down")


def admin(settings: Settings) -> PhoenixClient:
    return PhoenixClient(settings.phoenix_url, token=secrets.load(settings)["PHOENIX_ADMIN_SECRET"])


def canary_lands(settings: Settings, token: str) -> tuple[int, bool]:
    result = send_canary(f"{settings.phoenix_url}/v1/traces", token)
    spans = admin(settings).wait_for_traces(STACK_PROJECT, [result.trace_id], timeout=5)
    return result.status_code, bool(spans[result.trace_id])


def test_up_generates_secrets_privately_and_mints_a_key(secured_stack) -> None:
    _, settings, output = secured_stack
    stored = secrets.load(settings)
    assert stat.S_IMODE(settings.secrets_file.stat().st_mode) == 0o600
    assert {
        "PHOENIX_SECRET",
        "PHOENIX_ADMIN_SECRET",
        "PHOENIX_API_KEY",
        "PHOENIX_API_KEY_ID",
    } <= stored.keys()
    assert stored["PHOENIX_SECRET"] != stored["PHOENIX_ADMIN_SECRET"]
    assert f"minted ingestion key {secrets.fingerprint(stored['PHOENIX_API_KEY'])}" in output
    for name in ("PHOENIX_SECRET", "PHOENIX_ADMIN_SECRET", "PHOENIX_API_KEY"):
        assert stored[name] not in output
    for env_file in (settings.rendered_dir / "env").glob("*.env"):
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_no_secret_is_tracked_by_git(secured_stack) -> None:
    _, settings, _ = secured_stack
    for value in secrets.load(settings).values():
        found = subprocess.run(["git", "grep", "-F", "-q", "-e", value], cwd=REPO_ROOT)
        assert found.returncode == 1, "a generated secret appears in a tracked file"


def test_unauthenticated_export_is_rejected_and_lost(secured_stack) -> None:
    _, settings, _ = secured_stack
    assert canary_lands(settings, token="") == (401, False)


def test_minted_key_lands_a_canary(secured_stack) -> None:
    _, settings, _ = secured_stack
    assert canary_lands(settings, secrets.load(settings)["PHOENIX_API_KEY"]) == (200, True)


def test_demo_exports_with_the_key(secured_stack) -> None:
    _, settings, _ = secured_stack
    answer = requests.post(f"{settings.ai_demo_url}/chat", json={"message": "Weather in Oslo?"}, timeout=30).json()
    spans = admin(settings).wait_for_traces(settings.phoenix_project_name, [answer["trace_id"]], timeout=15)
    assert spans[answer["trace_id"]]


def test_rotation_revokes_the_old_key(secured_stack) -> None:
    environ, settings, _ = secured_stack
    old_key = secrets.load(settings)["PHOENIX_API_KEY"]
    result = invoke(environ, "rotate-key")
    assert result.returncode == 0, result.stdout + result.stderr
    new_key = secrets.load(settings)["PHOENIX_API_KEY"]
    assert new_key != old_key
    assert old_key not in result.stdout and new_key not in result.stdout
    assert canary_lands(settings, old_key) == (401, False)
    assert canary_lands(settings, new_key) == (200, True)
    # The demo was restarted with the new key and still lands its traces.
    test_demo_exports_with_the_key(((), settings, ""))


def test_second_up_reuses_a_working_key(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path / "state", PHOENIX_ENABLE_AUTH="true")
    try:
        first = invoke(environ, "up", "--only", "phoenix")
        assert first.returncode == 0, first.stderr
        key = secrets.load(load_settings(environ=environ))["PHOENIX_API_KEY"]
        assert invoke(environ, "down").returncode == 0
        time.sleep(0.5)
        second = invoke(environ, "up", "--only", "phoenix")
        assert second.returncode == 0, second.stderr
        assert f"reusing ingestion key {secrets.fingerprint(key)}" in second.stdout
    finally:
        invoke(environ, "down")


AWKWARD_ADMIN_SECRET = "Adm1n$HOME#\"q'zz0123456789abcdefghijkl"


def test_an_awkward_admin_secret_from_env_file_works_verbatim(tmp_path: Path) -> None:
    """`$`, `#` and both quotes survive .env -> secrets.env -> Phoenix's env and work as the bearer token."""
    environ = isolated_environ(tmp_path / "state", PHOENIX_ENABLE_AUTH="true")
    Path(environ["STACK_ENV_FILE"]).write_text("PHOENIX_ADMIN_SECRET='Adm1n$HOME#\"q\\'zz0123456789abcdefghijkl'\n")
    result = invoke(environ, "up", "--only", "phoenix")
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        settings = load_settings(environ=environ)
        assert settings.phoenix_admin_secret == AWKWARD_ADMIN_SECRET
        response = requests.get(
            f"{settings.phoenix_url}/v1/projects",
            headers={"Authorization": f"Bearer {AWKWARD_ADMIN_SECRET}"},
            timeout=10,
        )
        assert response.status_code == 200
        assert AWKWARD_ADMIN_SECRET not in result.stdout + result.stderr
    finally:
        invoke(environ, "down")
