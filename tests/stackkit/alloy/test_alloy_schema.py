"""stackkit/alloy/schema.py: the derived component schema is the pinned Alloy's and covers what the
stack renders and what users' configs commonly use."""

from __future__ import annotations

import json

from stackkit.alloy.schema import STABILITY_LEVELS, for_version, is_go_duration, load, schema_files
from stackkit.core.settings import SPECS_BY_NAME

PINNED = SPECS_BY_NAME["ALLOY_VERSION"].default


def test_the_schema_is_derived_at_the_pinned_alloy_version() -> None:
    files = schema_files()
    assert [path.name for path in files] == [f"{PINNED}.json"], "derive the schema again for the new ALLOY_VERSION"
    data = json.loads(files[0].read_text())
    assert data["alloy_version"] == PINNED
    assert f"grafana/alloy {PINNED}" in data["source"]
    assert for_version(PINNED).alloy_version == PINNED


def test_it_covers_the_stacks_components_and_the_common_families() -> None:
    schema = load(schema_files()[-1])
    for family, at_least in (
        ("otelcol.receiver.", 15),
        ("otelcol.processor.", 10),
        ("otelcol.exporter.", 10),
        ("otelcol.auth.", 4),
        ("otelcol.storage.", 1),
        ("otelcol.connector.", 3),
        ("prometheus.", 30),
    ):
        assert sum(name.startswith(family) for name in schema.components) >= at_least, family
    for spec in schema.components.values():
        assert spec.stability in (*STABILITY_LEVELS, "community"), spec
    assert schema.components["otelcol.storage.file"].stability == "public-preview"
    for name in ("otelcol.receiver.otlp", "otelcol.processor.batch", "otelcol.exporter.otlphttp",
                 "otelcol.exporter.prometheus", "prometheus.remote_write", "prometheus.scrape"):  # fmt: skip
        assert schema.components[name].stability == "generally-available", name
    exporter = schema.body(schema.components["otelcol.exporter.otlphttp"].arguments)
    assert exporter is not None and exporter.blocks["client"].required
    client = schema.body(exporter.blocks["client"].body)
    assert client is not None and client.attributes["endpoint"].required
    assert client.attributes["timeout"].type == "duration" and client.attributes["headers"].type == "map(string)"
    queue = schema.body(exporter.blocks["sending_queue"].body)
    assert queue is not None and queue.attributes["storage"].type.startswith("capsule(")
    assert schema.components["otelcol.exporter.otlphttp"].exports == {"input": "capsule(Consumer)"}
    remote_write = schema.body(schema.components["prometheus.remote_write"].arguments)
    assert remote_write is not None and remote_write.blocks["endpoint"].repeatable


def test_durations_are_read_as_go_reads_them() -> None:
    for good in ("0", "200ms", "1h30m", "1.5s", "-5m", "300us", "2h45m10.5s"):
        assert is_go_duration(good), good
    for bad in ("", "200", "5 s", "1d", "ms", "1.2.3s"):
        assert not is_go_duration(bad), bad
