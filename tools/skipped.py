"""The tests a run skipped, with their reasons, read from pytest's JUnit XML files: `python -m tools.skipped
.nox/reports/*.xml`. .ci/run ends with it, so a skip is seen even when every session is green. Standard library
only."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Skip:
    report: str  # the file's stem: the nox session
    test: str
    reason: str


def skips(report: Path) -> list[Skip]:
    found = []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        for skipped in case.iter("skipped"):
            test = f"{case.get('classname', '')}::{case.get('name', '')}"
            found.append(Skip(report.stem, test, skipped.get("message", "") or (skipped.text or "").strip()))
    return found


def main(argv: list[str] | None = None) -> int:
    reports = [Path(argument) for argument in (sys.argv[1:] if argv is None else argv)]
    existing = [report for report in reports if report.is_file()]
    found = [skip for report in existing for skip in skips(report)]
    print(f"skipped tests ({len(existing)} pytest report(s)): {len(found) or 'none'}")
    for skip in found:
        print(f"  [{skip.report}] {skip.test}: {skip.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
