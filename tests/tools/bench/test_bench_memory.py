"""RSS read from /proc: the VmRSS line, and a process together with its children."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tools.bench.memory import process_tree, rss_mb, vmrss_kb

STATUS = """Name:\tpython3
State:\tS (sleeping)
VmPeak:\t  500000 kB
VmRSS:\t  461234 kB
RssAnon:\t  300000 kB
"""


def test_vmrss_is_read_from_its_own_line() -> None:
    assert vmrss_kb(STATUS) == 461234


def test_a_process_without_vmrss_counts_zero() -> None:
    assert vmrss_kb("Name:\tkthreadd\nState:\tS (sleeping)\n") == 0


def test_rss_includes_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; data = bytearray(50_000_000); time.sleep(30)"])
    try:
        # Wait until the child has allocated its 50 MB (its RSS is read from the same file rss_mb reads).
        status = Path(f"/proc/{child.pid}/status")
        deadline = time.monotonic() + 20
        while vmrss_kb(status.read_text()) < 50_000 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert child.pid in process_tree(os.getpid())
        own = vmrss_kb(Path(f"/proc/{os.getpid()}/status").read_text()) / 1024
        total = rss_mb(os.getpid())
        assert total is not None and total >= own + 45
    finally:
        child.kill()
        child.wait()


def test_rss_of_a_finished_process_is_none() -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    assert rss_mb(finished.pid) is None
