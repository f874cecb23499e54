"""stackkit/verify/checks/queue.py: Alloy's queue to Phoenix must be bounded in bytes (or spans) and on disk."""

from __future__ import annotations

from verify_helpers import RepoCopy, assert_only_check_changed, edit

EXPORTER = "phoenix-exporter.alloy.j2"


def test_the_shipped_queue_is_bounded_by_alloy_queue_mib_and_on_disk(copy: RepoCopy) -> None:
    result = copy.results(ALLOY_QUEUE_MIB="64")["alloy.queue"]
    assert result.status == "pass", result
    assert "queues at most 64 MiB in otelcol.storage.file.queue" in result.summary
    assert "2 consumers hold up to 2 x 16 MiB batches in memory while sending" in result.summary


def test_a_queue_counted_in_batches_fails_with_its_worst_case(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy(EXPORTER), '    sizer             = "bytes"\n', "")
    edit(copy.alloy(EXPORTER), "    queue_size        = {{ queue_bytes }}\n", "    queue_size        = 1000\n")
    result = assert_only_check_changed(
        before,
        copy.results(),
        "alloy.queue",
        "fail",
        "counts requests",
        "1000 requests of up to 8192 spans is 8,192,000",
    )
    assert 'sizer = "bytes"' in result.fix


def test_a_memory_only_queue_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy(EXPORTER), "    storage           = otelcol.storage.file.queue.handler\n", "")
    assert_only_check_changed(
        before, copy.results(), "alloy.queue", "fail", "in memory only", "lost when Alloy restarts"
    )


def test_no_queue_at_all_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy(EXPORTER), "    enabled           = true\n", "    enabled           = false\n")
    assert_only_check_changed(before, copy.results(), "alloy.queue", "fail", "disables its sending_queue")


def test_storage_naming_no_file_storage_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy(EXPORTER), 'otelcol.storage.file "queue" {', 'otelcol.storage.file "disk" {')
    assert_only_check_changed(
        before,
        copy.results(),
        "alloy.queue",
        "fail",
        "storage = otelcol.storage.file.queue.handler, which is not the handler",
        also_changed={"alloy.syntax": "fail"},
    )


def test_a_file_queue_without_fsync_warns(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy(EXPORTER), "  fsync = true\n", "")
    result = assert_only_check_changed(
        before, copy.results(), "alloy.queue", "warn", "otelcol.storage.file.queue writes without fsync"
    )
    assert "set fsync = true" in result.fix
