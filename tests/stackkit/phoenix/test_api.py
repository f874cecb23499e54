"""The Phoenix client against a real Phoenix."""

from __future__ import annotations

import pytest

from stackkit.phoenix.api import PhoenixClient

pytestmark = pytest.mark.phoenix


def test_unknown_project_has_no_spans(phoenix: PhoenixClient) -> None:
    assert phoenix.healthy()
    assert phoenix.spans("no-such-project", trace_ids=["0" * 32]) == []
