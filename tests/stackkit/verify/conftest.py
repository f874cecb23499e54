"""The `copy` fixture: a scratch copy of the repository's configuration (see tests/verify_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from verify_helpers import RepoCopy


@pytest.fixture
def copy(tmp_path: Path) -> RepoCopy:
    return RepoCopy(tmp_path)
