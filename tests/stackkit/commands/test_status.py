"""The status table: one aligned row per component, under its headers."""

from __future__ import annotations

from stackkit.commands.status import StatusRow, format_status


def test_columns_are_aligned_and_lines_not_padded_at_the_end() -> None:
    rows = [
        StatusRow("phoenix", "native", "running, pid 12", "healthy", "http://127.0.0.1:6006/healthz", "20.26.1"),
        StatusRow("ai-demo", "native", "stopped", "-", "http://127.0.0.1:8000/healthz", "local"),
    ]
    lines = format_status(rows).splitlines()
    assert lines[0].split() == ["COMPONENT", "RUNTIME", "STATE", "HEALTH", "URL", "VERSION"]
    assert [line.index("http") for line in lines[1:]] == [lines[0].index("URL")] * 2
    assert lines[2].endswith("local") and not any(line.endswith(" ") for line in lines)
