"""stackkit/verify/checks/schema.py: what Alloy refuses at load (unknown, missing, mistyped or repeated
attributes and blocks), read against the derived schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from verify_helpers import RepoCopy, assert_only_check_changed, edit

from stackkit.alloy.syntax import parse_expression
from stackkit.verify.checks.schema import type_problem

EXPORTER = "phoenix-exporter.alloy.j2"
METRICS = "metrics.alloy.j2"
COMPOSE = "docker-compose.yml"
STABILITY_ARGUMENT = "      - --stability.level=${ALLOY_STABILITY_LEVEL:?run through invoke up}\n"


def edit_all(path: Path, old: str, new: str) -> None:
    """Replace every `old` (the metrics piece writes its processor in both branches of a condition)."""
    assert old in path.read_text(), f"{old!r} is not in {path}"
    path.write_text(path.read_text().replace(old, new))


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_stacks_own_files_load_in_alloy(copy: RepoCopy) -> None:
    results = copy.results()
    assert results["alloy.schema"].status == "pass", results["alloy.schema"]
    assert "6 components accept every attribute and block given" in results["alloy.schema"].summary
    assert "Alloy v1.18.1's schema" in results["alloy.schema"].summary
    stability = results["alloy.stability"]
    assert stability.status == "pass", stability
    assert "otelcol.storage.file (public-preview)" in stability.summary


def rendered_line(copy: RepoCopy, needle: str) -> int:
    copy.render()
    rendered = copy.tmp_path / "state" / "rendered" / "grafana-alloy" / "phoenix-exporter.alloy"
    return line_of(rendered.read_text(), needle)


@pytest.mark.parametrize(
    ("written", "misspelt", "block", "meant", "also_changing"),
    [
        (
            "    endpoint    = sys.env",
            "endpont",
            "client",
            "endpoint",
            ("alloy.exporter-endpoint", "alloy.exporter-protocol"),
        ),
        ("    queue_size        =", "queue_size_bytes", "sending_queue", "queue_size", ("alloy.queue",)),
    ],
)
def test_a_misspelt_attribute_of_the_exporter_is_named_at_its_line_with_the_closest_name(
    copy: RepoCopy, written: str, misspelt: str, block: str, meant: str, also_changing: tuple[str, ...]
) -> None:
    copy.render()
    before = copy.results()
    edit(copy.alloy(EXPORTER), written, written.replace(meant, misspelt, 1))
    line = rendered_line(copy, misspelt)
    after = copy.results()
    result = assert_only_check_changed(
        before,
        after,
        "alloy.schema",
        "fail",
        f"phoenix-exporter.alloy:{line} (rendered from stacks/grafana-alloy/phoenix-exporter.alloy.j2): "
        f"otelcol.exporter.otlphttp.phoenix: {block}: unknown attribute `{misspelt}`; did you mean `{meant}`?",
        also_changed={name: after[name].status for name in also_changing},
    )
    assert f"required attribute `{meant}`" not in result.summary  # one mistake, one finding
    assert f"rename `{misspelt}` to `{meant}`" in result.fix and "invoke render" in result.fix


def test_a_number_for_a_duration_fails_at_its_line(copy: RepoCopy) -> None:
    copy.render()
    before = copy.results()
    edit(copy.alloy(EXPORTER), 'flush_timeout = "{{ batch_flush_timeout }}"', "flush_timeout = 200")
    line = rendered_line(copy, "flush_timeout = 200")
    result = assert_only_check_changed(
        before,
        copy.results(),
        "alloy.schema",
        "fail",
        f"phoenix-exporter.alloy:{line} (rendered from stacks/grafana-alloy/phoenix-exporter.alloy.j2): "
        "otelcol.exporter.otlphttp.phoenix: sending_queue > batch: `flush_timeout` is 200, not a duration",
    )
    assert 'such as "200ms"' in result.fix


def test_a_block_given_twice_and_a_missing_required_block_fail(copy: RepoCopy) -> None:
    before = copy.results()
    config = copy.alloy("config.alloy")
    edit(config, "  http {\n", '  grpc {\n    endpoint = "0.0.0.0:4319"\n  }\n\n  http {\n')
    edit(
        config,
        "  output {\n    traces  = [otelcol.exporter.otlphttp.phoenix.input, otelcol.processor.batch.llm.input]\n"
        "    metrics = [otelcol.processor.batch.metrics.input]\n  }\n",
        "",
    )
    after = copy.results()
    result = assert_only_check_changed(
        before,
        after,
        "alloy.schema",
        "fail",
        "otelcol.receiver.otlp.default: block `grpc` is given twice",
        "otelcol.receiver.otlp.default: the required block `output` is missing",
        also_changed={
            name: after[name].status for name in ("alloy.pipeline", "alloy.receiver-bind", "alloy.listen-addr")
        },
    )
    assert "merge the two `grpc` blocks" in result.fix


def test_an_attribute_written_as_a_block_says_so(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy(EXPORTER), 'flush_timeout = "{{ batch_flush_timeout }}"', "flush_timeout { }")
    result = assert_only_check_changed(
        before, copy.results(), "alloy.schema", "fail", "`flush_timeout` is an attribute here, not a block"
    )
    assert "`flush_timeout = …`" in result.fix


def test_an_unknown_component_is_named_with_the_closest_one(copy: RepoCopy) -> None:
    before = copy.results()
    edit_all(copy.alloy(METRICS), 'otelcol.processor.batch "metrics" {', 'otelcol.processor.batches "metrics" {')
    after = copy.results()
    result = assert_only_check_changed(
        before,
        after,
        "alloy.schema",
        "fail",
        "no component `otelcol.processor.batches` in Alloy v1.18.1; did you mean `otelcol.processor.batch`?",
        also_changed={"alloy.syntax": "fail", "alloy.pipeline": after["alloy.pipeline"].status},
    )
    assert result.fix


def test_a_reference_to_an_export_the_component_lacks_is_named_with_the_closest_one(copy: RepoCopy) -> None:
    before = copy.results()
    config = copy.alloy("config.alloy")
    edit(
        config,
        "traces  = [otelcol.exporter.otlphttp.phoenix.input,",
        "traces  = [otelcol.exporter.otlphttp.phoenix.inputs,",
    )
    line = line_of(config.read_text(), "phoenix.inputs")
    result = assert_only_check_changed(
        before,
        copy.results(),
        "alloy.schema",
        "fail",
        f"stacks/grafana-alloy/config.alloy:{line}: otelcol.exporter.otlphttp.phoenix.inputs: "
        "otelcol.exporter.otlphttp exports no `inputs`; did you mean `input`?",
    )
    assert "use otelcol.exporter.otlphttp.phoenix.input" in result.fix


def test_labels_where_alloy_wants_none_and_a_component_without_one_fail(copy: RepoCopy) -> None:
    before = copy.results()
    config = copy.alloy("config.alloy")
    edit(config, "  grpc {\n", '  grpc "main" {\n')
    edit_all(copy.alloy(METRICS), 'otelcol.processor.batch "metrics" {', "otelcol.processor.batch {")
    after = copy.results()
    result = assert_only_check_changed(
        before,
        after,
        "alloy.schema",
        "fail",
        "otelcol.receiver.otlp.default: block `grpc` takes no label",
        "otelcol.processor.batch has no label; every component needs one",
        also_changed={name: after[name].status for name in ("alloy.syntax", "alloy.pipeline", "alloy.receiver-bind")},
    )
    assert 'give it a label: otelcol.processor.batch "default" {' in result.fix


@pytest.mark.parametrize(
    ("value", "type_name", "problem"),
    [
        ("200", "duration", "is 200, not a duration"),
        ('"5 seconds"', "duration", 'is "5 seconds", not a duration'),
        ('"1h30m"', "duration", None),
        ('"1.5s"', "duration", None),
        ("0", "duration", None),
        ('"yes"', "bool", "is a string, but Alloy expects a bool"),
        ("true", "bool", None),
        ('"abc"', "number", 'is the string "abc", which is not a number'),
        ('"42"', "number", None),  # Alloy converts a string holding a number
        ("-3", "number", None),
        ("42", "string", None),  # and a number to its text
        ("[1, 2]", "string", "is an array, but Alloy expects a string"),
        ('["a", true]', "list(string)", "is a bool, but Alloy expects a string"),
        ('{"a" = 1}', "map(string)", None),
        ('{"a" = [1]}', "map(string)", "is an array, but Alloy expects a string"),
        ('"x"', "list(string)", "is a string, but a list is expected"),
        ('sys.env("X")', "duration", None),  # computed: not checked statically
        ('{"__address__" = "h:1"}', "capsule(Target)", None),
        ('"token"', "secret", None),
    ],
)
def test_literal_types_as_alloy_decodes_them(value: str, type_name: str, problem: str | None) -> None:
    found = type_problem(parse_expression(value), type_name)
    if problem is None:
        assert found is None, found
    else:
        assert found is not None and problem in found[1], found
