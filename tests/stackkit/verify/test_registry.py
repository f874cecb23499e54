"""stackkit/verify/registry.py: the shipped configuration passes every check; checks run in the declared order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from verify_helpers import (
    REPO,
    STATIC_IDS,
    RepoCopy,
    edit,
)

from stackkit.core.settings import load_settings
from stackkit.verify import CheckResult, format_lines, has_failures, run_checks, to_json
from stackkit.verify.files import FileLocations
from stackkit.verify.registry import registered_checks

# ---------------------------------------------------------------------------------------------------
# The shipped configuration


def test_shipped_config_passes_every_static_check(tmp_path: Path) -> None:
    env_file = tmp_path / "empty.env"
    env_file.touch()
    settings = load_settings(
        # docker: a native state folder under /tmp would rightly warn in phoenix.volume.
        environ={
            "STACK_ENV_FILE": str(env_file),
            "STACK_STATE_DIR": str(tmp_path / "state"),
            "STACK_RUNTIME": "docker",
        },
        repo_root=REPO,
    )
    results = run_checks(settings, static_only=True)
    assert [result.id for result in results] == STATIC_IDS
    assert {result.id: result.status for result in results if result.status != "pass"} == {}


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"PHOENIX_ENABLE_AUTH": "true"},
        {"PROMETHEUS_REMOTE_WRITE_URL": "http://mimir:9009/api/v1/push"},
        {"PHOENIX_DB": "postgres"},
        {"PHOENIX_WORKING_DIR": "/srv/phoenix"},
    ],
)
def test_shipped_config_passes_every_static_check_in_every_configuration(
    copy: RepoCopy, overrides: dict[str, str]
) -> None:
    results = copy.results(**overrides)
    assert list(results) == STATIC_IDS
    assert {check_id: result.summary for check_id, result in results.items() if result.status != "pass"} == {}


def test_rendered_files_are_checked_like_the_templates(copy: RepoCopy) -> None:
    copy.render(PHOENIX_ENABLE_AUTH="true")
    results = copy.results(PHOENIX_ENABLE_AUTH="true")
    assert all(result.status == "pass" for result in results.values()), results
    assert "rendered/env/alloy.env" in results["phoenix.auth-config"].summary


# ---------------------------------------------------------------------------------------------------
# Framework and report


def test_static_only_runs_exactly_the_static_checks() -> None:
    static = registered_checks(static_only=True)
    assert [registered.id for registered in static] == STATIC_IDS
    assert all(registered.static for registered in static)
    everything = registered_checks(static_only=False)
    assert [registered.id for registered in everything][: len(STATIC_IDS)] == STATIC_IDS


def test_locations_can_be_given_explicitly(copy: RepoCopy) -> None:
    settings = load_settings(
        environ={"STACK_ENV_FILE": str(copy.env_file), "STACK_STATE_DIR": str(copy.tmp_path / "state")},
        repo_root=REPO,
    )
    locations = FileLocations(repo_root=copy.root, rendered_dir=copy.tmp_path / "elsewhere")
    edit(copy.alloy("config.alloy"), "0.0.0.0:", "127.0.0.1:")
    results = {result.id: result for result in run_checks(settings, static_only=True, locations=locations)}
    assert results["alloy.receiver-bind"].status == "fail"


def test_format_lines_and_json() -> None:
    results = [
        CheckResult("alloy.syntax", "pass", "3 files parse"),
        CheckResult("phoenix.volume", "fail", "no volume", "mount one"),
        CheckResult("sdk.exporter", "warn", "odd", "look"),
        CheckResult("pipeline.canary", "skip", "not running"),
    ]
    lines = format_lines(results).splitlines()
    assert lines[0] == "PASS  alloy.syntax     3 files parse"
    assert lines[1] == "FAIL  phoenix.volume   no volume"
    assert lines[2] == "                       fix: mount one"
    assert lines[3].startswith("WARN  sdk.exporter     odd")
    assert lines[5] == "SKIP  pipeline.canary  not running"
    assert lines[-1] == "1 passed, 1 warned, 1 failed, 1 skipped"
    assert json.loads(to_json(results))[1] == {
        "id": "phoenix.volume",
        "status": "fail",
        "summary": "no volume",
        "fix": "mount one",
    }
    assert has_failures(results) and not has_failures(results[:1])
    with pytest.raises(ValueError):
        CheckResult("x", "ok", "")


def test_docs_list_the_checks_in_the_order_they_run() -> None:
    import re

    from stackkit.verify import CHECK_ORDER

    table = (REPO / "docs" / "checks.md").read_text()
    documented = re.findall(r"^\| `([a-z.-]+)` \|", table, flags=re.MULTILINE)
    assert documented == list(CHECK_ORDER)
    assert [check.id for check in registered_checks(static_only=False)] == list(CHECK_ORDER)


def test_json_status_is_the_plain_word() -> None:
    from stackkit.verify.report import Status

    result = CheckResult.failed("broken", "mend it")
    assert result.status is Status.FAIL and result.status == "fail"
    assert json.loads(to_json([result])) == [{"id": "", "status": "fail", "summary": "broken", "fix": "mend it"}]
