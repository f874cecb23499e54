"""The chain end to end in one process: spans in OpenInference terms, session and user everywhere, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import pytest
from ai_demo.chain import Chain, parse_city
from ai_demo.providers import Completion, Message, OfflineProvider, ProviderError
from ai_demo.telemetry import DemoMetrics
from ai_demo.tools import OfflineWeather, WeatherTool
from demo_helpers import Traced
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.trace import StatusCode


@pytest.fixture
def metric_reader() -> Iterator[InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield reader
    provider.shutdown()


def make_chain(traced: Traced, reader: InMemoryMetricReader, provider=None) -> Chain:
    meter = reader._sdk_config.resource and None  # noqa: F841 - placeholder removed below
    raise NotImplementedError


def metric_points(reader: InMemoryMetricReader) -> dict[str, list]:
    points: dict[str, list] = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else []:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                points.setdefault(metric.name, []).extend(metric.data.data_points)
    return points
