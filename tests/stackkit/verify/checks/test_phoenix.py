"""stackkit/verify/checks/phoenix.py: where Phoenix's data lives, and auth as configured."""

from __future__ import annotations

from pathlib import Path

from verify_helpers import (
    RepoCopy,
    assert_only_check_changed,
    edit,
)

from stackkit.verify import format_lines, to_json
from stackkit.verify.files import PLACEHOLDER_SECRETS

# ---------------------------------------------------------------------------------------------------
# phoenix.volume


PHOENIX_COMPOSE = Path("stacks/arize-phoenix/docker-compose.yml")
PHOENIX_VOLUME_LINE = "      - phoenix-data:${PHOENIX_WORKING_DIR:-/mnt/data}\n"


def test_a_volume_mounted_beside_the_working_dir_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.root / PHOENIX_COMPOSE, PHOENIX_VOLUME_LINE, "      - phoenix-data:/data\n")
    result = assert_only_check_changed(
        before,
        copy.results(),
        "phoenix.volume",
        "fail",
        "stacks/arize-phoenix/docker-compose.yml:16",
        "no named volume is mounted at /mnt/data",
        "phoenix-data at /data",
        "every restart loses all traces",
    )
    assert "services.phoenix.volumes" in result.fix


def test_no_volume_at_all_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(
        copy.root / PHOENIX_COMPOSE,
        "    volumes:\n      # Without this volume every restart loses all traces.\n" + PHOENIX_VOLUME_LINE,
        "",
    )
    assert_only_check_changed(before, copy.results(), "phoenix.volume", "fail", "named volumes mounted: none")


def test_a_bind_mount_is_not_a_named_volume(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.root / PHOENIX_COMPOSE, PHOENIX_VOLUME_LINE, "      - ./data:${PHOENIX_WORKING_DIR:-/mnt/data}\n")
    assert_only_check_changed(before, copy.results(), "phoenix.volume", "fail", "no named volume is mounted")


def test_postgres_without_its_volume_fails(copy: RepoCopy) -> None:
    before = copy.results(PHOENIX_DB="postgres")
    edit(
        copy.root / "stacks/arize-phoenix/docker-compose.postgres.yml",
        "      - postgres-data:/var/lib/postgresql/data\n",
        "",
    )
    after = copy.results(PHOENIX_DB="postgres")
    assert_only_check_changed(before, after, "phoenix.volume", "fail", "/var/lib/postgresql/data")


def test_native_data_under_tmp_warns(copy: RepoCopy) -> None:
    # tmp_path is itself under the system's temporary folder, which is the point here.
    result = copy.results(STACK_RUNTIME="native")["phoenix.volume"]
    assert result.status == "warn"
    assert "every reboot loses all traces" in result.summary
    assert "STACK_STATE_DIR" in result.fix


def test_native_data_in_a_persistent_state_folder_passes(copy: RepoCopy) -> None:
    # Only the path is inspected: nothing is written to this folder.
    result = copy.results(STACK_RUNTIME="native", STACK_STATE_DIR="/srv/stackkit-state-never-created")
    assert result["phoenix.volume"].status == "pass", result["phoenix.volume"]
    assert not Path("/srv/stackkit-state-never-created").exists()


# ---------------------------------------------------------------------------------------------------
# phoenix.auth-config


AUTH_HEADER_TEMPLATE = """{%- if auth_enabled %}

    // PHOENIX_ENABLE_AUTH=true: without this header Phoenix answers 401 and drops every span.
    headers = {
      "authorization" = "Bearer " + sys.env("PHOENIX_API_KEY"),
    }
{%- endif %}"""


def test_auth_on_without_the_header_fails(copy: RepoCopy) -> None:
    before = copy.results(PHOENIX_ENABLE_AUTH="true")
    edit(copy.alloy("phoenix-exporter.alloy.j2"), AUTH_HEADER_TEMPLATE, "")
    assert_only_check_changed(
        before, copy.results(PHOENIX_ENABLE_AUTH="true"), "phoenix.auth-config", "fail", "answers 401"
    )


def test_auth_off_with_a_rendered_header_left_over_fails(copy: RepoCopy) -> None:
    copy.render(PHOENIX_ENABLE_AUTH="true", secrets={**PLACEHOLDER_SECRETS, "PHOENIX_API_KEY": "sk-left-over-1"})
    results = copy.results(PHOENIX_ENABLE_AUTH="false")
    result = results["phoenix.auth-config"]
    assert result.status == "fail"
    assert "dangling" in result.summary
    assert "sk-left-over-1" not in to_json(list(results.values()))


def test_auth_on_with_an_empty_key_fails_and_never_prints_keys(copy: RepoCopy) -> None:
    copy.render(PHOENIX_ENABLE_AUTH="true", secrets={**PLACEHOLDER_SECRETS, "PHOENIX_API_KEY": ""})
    result = copy.results(PHOENIX_ENABLE_AUTH="true")["phoenix.auth-config"]
    assert result.status == "fail"
    assert "PHOENIX_API_KEY is empty" in result.summary

    copy.render(PHOENIX_ENABLE_AUTH="true", secrets={**PLACEHOLDER_SECRETS, "PHOENIX_API_KEY": "sk-real-2"})
    results = copy.results(PHOENIX_ENABLE_AUTH="true")
    assert results["phoenix.auth-config"].status == "pass"
    printed = to_json(list(results.values())) + format_lines(list(results.values()))
    assert "sk-real-2" not in printed
    assert PLACEHOLDER_SECRETS["PHOENIX_SECRET"] not in printed


def test_a_key_written_into_the_config_fails(copy: RepoCopy) -> None:
    before = copy.results(PHOENIX_ENABLE_AUTH="true")
    edit(copy.alloy("phoenix-exporter.alloy.j2"), '"Bearer " + sys.env("PHOENIX_API_KEY")', '"Bearer abc"')
    assert_only_check_changed(
        before, copy.results(PHOENIX_ENABLE_AUTH="true"), "phoenix.auth-config", "fail", "not built from"
    )
