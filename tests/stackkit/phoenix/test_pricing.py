"""The offline model's price, registered in a real Phoenix, gives the demo's LLM spans a non-zero cost."""

from __future__ import annotations

import re
import secrets
import time
import uuid

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from stackkit.core.settings import REPO_ROOT, Settings
from stackkit.phoenix import canary
from stackkit.phoenix import pricing as model_pricing
from stackkit.phoenix.api import PhoenixClient

PROJECT_COST = """
query ($id: ID!) {
  node(id: $id) { ... on Project { costSummary { prompt { cost } completion { cost } total { cost } } } }
}
"""


def test_the_priced_name_is_the_one_the_demo_writes() -> None:
    providers = (REPO_ROOT / "services/ai-demo/ai_demo/providers.py").read_text()
    assert re.search(r'^OFFLINE_MODEL = "([^"]+)"$', providers, re.MULTILINE)[1] == model_pricing.OFFLINE_MODEL


def llm_span(project: str, prompt_tokens: int, completion_tokens: int) -> bytes:
    def attribute(key: str, value: str | int) -> KeyValue:
        any_value = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
        return KeyValue(key=key, value=any_value)

    now = time.time_ns()
    span = Span(
        trace_id=secrets.token_bytes(16),
        span_id=secrets.token_bytes(8),
        name="synthesize",
        start_time_unix_nano=now - 1_000_000,
        end_time_unix_nano=now,
        attributes=[
            attribute("openinference.span.kind", "LLM"),
            attribute("llm.provider", "offline"),
            attribute("llm.model_name", model_pricing.OFFLINE_MODEL),
            attribute("llm.token_count.prompt", prompt_tokens),
            attribute("llm.token_count.completion", completion_tokens),
            attribute("llm.token_count.total", prompt_tokens + completion_tokens),
        ],
    )
    resource = Resource(attributes=[attribute("openinference.project.name", project)])
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[span])])]
    ).SerializeToString()


@pytest.mark.phoenix
def test_registered_price_costs_the_offline_models_spans(phoenix: PhoenixClient, phoenix_settings: Settings) -> None:
    model_pricing.register_offline_model_price(phoenix)
    assert model_pricing.register_offline_model_price(phoenix) is False  # once only
    assert model_pricing.OFFLINE_MODEL in model_pricing.registered_model_names(phoenix)
    # Phoenix prices with it from its next reload of prices: the probe says when.
    assert model_pricing.wait_until_live(phoenix) is not None
    assert phoenix.spans(canary.STACK_PROJECT) == [], "every probe is deleted once read"

    project = f"pricing-{uuid.uuid4().hex[:8]}"
    response = requests.post(
        f"{phoenix_settings.phoenix_url}/v1/traces",
        data=llm_span(project, prompt_tokens=2_000_000, completion_tokens=1_000_000),
        headers={"Content-Type": "application/x-protobuf"},
        timeout=10,
    )
    assert response.status_code == 200
    deadline = time.monotonic() + 30
    while not phoenix.spans(project) and time.monotonic() < deadline:
        time.sleep(0.25)
    [found] = [p for p in phoenix.projects() if p["name"] == project]
    summary = phoenix.graphql(PROJECT_COST, {"id": found["id"]})["node"]["costSummary"]
    # 2 M prompt tokens at $0.15/M and 1 M completion tokens at $0.60/M
    assert summary["prompt"]["cost"] == pytest.approx(2 * model_pricing.INPUT_USD_PER_MILLION_TOKENS)
    assert summary["completion"]["cost"] == pytest.approx(model_pricing.OUTPUT_USD_PER_MILLION_TOKENS)
    assert summary["total"]["cost"] == pytest.approx(0.9)
