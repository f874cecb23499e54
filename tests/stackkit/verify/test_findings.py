"""A check's findings are data: `verify --json` names the file, line and column of each one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from isolation import invoke, isolated_environ

from stackkit.verify import CHECK_ORDER, Finding, Stage, check, to_json
from stackkit.verify.findings import conclude, fail, warn
from stackkit.verify.registry import registered_checks
from stackkit.verify.report import Location


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ("stacks/x.alloy:12:5: bad token", Finding("stacks/x.alloy", 12, 5, "bad token")),
        ("/tmp/y.alloy:8 column 1: expected expression", Finding("/tmp/y.alloy", 8, 1, "expected expression")),
        (
            "rendered/grafana-alloy/p.alloy:3 (rendered from p.alloy.j2): no key",
            Finding("rendered/grafana-alloy/p.alloy", 3, None, "no key"),
        ),
        ("stacks/a/docker-compose.yml:7: no volume", Finding("stacks/a/docker-compose.yml", 7, None, "no volume")),
        ("Phoenix is not answering", Finding(None, None, None, "Phoenix is not answering")),
    ],
)
def test_a_problem_is_read_into_file_line_column_and_message(problem: str, expected: Finding) -> None:
    assert Finding.parse(problem) == expected


def test_conclude_keeps_every_finding_worst_first() -> None:
    result = conclude([warn("a.alloy:1: odd", "look"), fail("b.alloy:2:3: broken", "mend")], "fine")
    assert result.status == "fail"
    assert result.summary == "b.alloy:2:3: broken; a.alloy:1: odd"
    assert [(f.file, f.line, f.column, f.fix) for f in result.findings] == [
        ("b.alloy", 2, 3, "mend"),
        ("a.alloy", 1, None, "look"),
    ]
    assert json.loads(to_json([result]))[0]["findings"][0] == {
        "file": "b.alloy",
        "line": 2,
        "column": 3,
        "message": "broken",
        "fix": "mend",
    }
    assert "findings" not in json.loads(to_json([conclude([], "fine")]))[0]


def test_verify_json_names_the_file_and_line_of_a_syntax_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.alloy"
    broken.write_text('logging {\n  level = "info"\n}\n\notelcol.receiver.otlp "in" {\n  grpc {\n}\n')
    result = invoke(isolated_environ(tmp_path / "state"), "verify", "--static", "--json", "--alloy-config", str(broken))
    assert result.returncode == 1, result.stderr
    syntax = json.loads(result.stdout)[0]
    assert syntax["id"] == "alloy.syntax" and syntax["status"] == "fail"
    [finding] = syntax["findings"]
    assert finding["file"] == str(broken) and finding["line"] == 8 and finding["column"] == 1
    assert finding["message"] and finding["fix"].startswith(f"in {broken}")


def test_a_located_finding_keeps_its_fields_and_reads_as_before() -> None:
    """A check that passes its place as fields is never parsed back: a file name with ": " in it survives,
    and the summary is worded as the text-only findings are."""
    rendered = Location("odd: name.alloy", 3, note="rendered from p.alloy.j2")
    result = fail("no key", "mend", at=rendered)
    assert result.summary == "odd: name.alloy:3 (rendered from p.alloy.j2): no key"
    assert result.findings == (Finding("odd: name.alloy", 3, None, "no key", "mend"),)
    assert fail("expected expression", "mend", at=Location("/tmp/y.alloy", 8).at_column(1)).summary == (
        "/tmp/y.alloy:8 column 1: expected expression"
    )
    assert warn("no volume", "mend", at=Location("docker-compose.yml")).findings[0].line is None


def test_verify_json_names_the_file_and_line_of_a_receiver_bound_to_loopback(tmp_path: Path) -> None:
    config = tmp_path / "loopback.alloy"
    config.write_text(
        'otelcol.receiver.otlp "in" {\n  http {\n    endpoint = "127.0.0.1:4318"\n  }\n'
        "  output {\n    traces = []\n  }\n}\n"
    )
    result = invoke(isolated_environ(tmp_path / "state"), "verify", "--static", "--json", "--alloy-config", str(config))
    by_id = {entry["id"]: entry for entry in json.loads(result.stdout)}
    bind = by_id["alloy.receiver-bind"]
    assert bind["status"] == "fail", bind
    assert all(finding["file"] == str(config) and finding["line"] for finding in bind["findings"]), bind
    [loopback] = [finding for finding in bind["findings"] if "127.0.0.1:4318" in finding["message"]]
    assert loopback["line"] == 3 and str(config) not in loopback["message"], loopback


def test_user_files_get_exactly_the_checks_that_say_they_read_them() -> None:
    reading = [registered.id for registered in registered_checks(static_only=True) if registered.reads_user_files]
    assert reading == [
        "alloy.syntax",
        "alloy.receiver-bind",
        "alloy.exporter-protocol",
        "alloy.exporter-endpoint",
        "alloy.pipeline",
        "alloy.schema",
        "alloy.stability",
    ]
    assert list(CHECK_ORDER) == [registered.id for registered in registered_checks(static_only=False)]


def test_a_check_declares_a_stage_exactly_when_it_needs_the_running_stack() -> None:
    with pytest.raises(ValueError, match="names the stage"):
        check("x.runtime", static=False)
    with pytest.raises(ValueError, match=r"Stage\.FILES"):
        check("x.static", static=True, stage=Stage.PIPELINE)
    with pytest.raises(ValueError, match="only a static check"):
        check("x.user", static=False, stage=Stage.PIPELINE, reads_user_files=True)
