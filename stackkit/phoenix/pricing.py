"""A price for the demo's offline model, registered in Phoenix so its cost columns mean something.

Phoenix prices an LLM span when it is written, from the first registered model whose `name_pattern` matches
the span's `llm.model_name` (phoenix/server/cost_tracking/cost_model_lookup.py): spans written before the
price is loaded stay at $0. Phoenix loads every price when it starts, then new ones every 5 s (server/daemons/
generative_model_store.py), and nothing in its API says which prices it has loaded: only a span's cost shows
it. So the native runtime writes the price into Phoenix's database before Phoenix starts (seeded_serve.py), and
Phoenix loads it with the rest; otherwise (a container, or that step failed) the stack registers it through
the API as soon as Phoenix is healthy, live from the next reload, ~5 s later. Either way `invoke up` asks
Phoenix with a probe (an LLM span of the offline model, sent into the stack's own project, read back and
deleted) until that span comes back priced, and reports the stack ready only then.

The price: the offline model stands in for a small hosted model, so it is priced like OpenAI's gpt-4o-mini,
US$0.15 per million input tokens and US$0.60 per million output tokens (https://openai.com/api/pricing/,
as listed for gpt-4o-mini). It is an illustration, not a bill.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from stackkit.phoenix import canary
from stackkit.phoenix.api import PhoenixClient, PhoenixError

# The name the demo's offline provider writes as llm.model_name (services/ai-demo/ai_demo/providers.py).
OFFLINE_MODEL = "offline-weather-1"
INPUT_USD_PER_MILLION_TOKENS = 0.15
OUTPUT_USD_PER_MILLION_TOKENS = 0.60
PRICE_SOURCE = "priced like OpenAI's gpt-4o-mini: $0.15 / $0.60 per million input / output tokens"
# Phoenix's GenerativeModelStore reloads prices every 5 s: a few reloads, on a loaded machine.
PRICE_LIVE_TIMEOUT_SECONDS = 20.0
PROBE_INTERVAL_SECONDS = 0.25
PROBE_SPAN_NAME = "stackkit.price-probe"
# Enough tokens for a cost that cannot round to 0.
PROBE_TOKENS = 1000

_MODEL_NAMES = "query { generativeModels(first: 1000) { edges { node { name } } } }"
_CREATE_MODEL = """
mutation ($input: CreateModelMutationInput!) { createModel(input: $input) { model { name } } }
"""
_SPAN_COST = "query ($id: ID!) { node(id: $id) { ... on Span { costSummary { total { cost } } } } }"


def _costs() -> list[dict[str, Any]]:
    return [
        {"tokenType": "input", "costPerMillionTokens": INPUT_USD_PER_MILLION_TOKENS, "kind": "PROMPT"},
        {"tokenType": "output", "costPerMillionTokens": OUTPUT_USD_PER_MILLION_TOKENS, "kind": "COMPLETION"},
    ]


def _name_pattern() -> str:
    return f"^{re.escape(OFFLINE_MODEL)}$"


def seed_argument() -> str:
    """The price as stackkit/phoenix/seeded_serve.py writes it into Phoenix's database before Phoenix starts:
    Phoenix's own columns, converted as its createModel mutation converts the API's costs."""
    token_prices = [
        {
            "token_type": cost["tokenType"],
            "is_prompt": cost["kind"] == "PROMPT",
            "base_rate": cost["costPerMillionTokens"] / 1_000_000,
        }
        for cost in _costs()
    ]
    return json.dumps({"name": OFFLINE_MODEL, "name_pattern": _name_pattern(), "token_prices": token_prices})


def registered_model_names(client: PhoenixClient) -> set[str]:
    edges = client.graphql(_MODEL_NAMES)["generativeModels"]["edges"]
    return {edge["node"]["name"] for edge in edges}


def register_offline_model_price(client: PhoenixClient) -> bool:
    """Register the offline model's price once (True when this call added it; False when already there).
    Needs a token that may write (the admin secret when auth is on). Phoenix prices spans with it only from
    its next reload: `wait_until_live`."""
    if OFFLINE_MODEL in registered_model_names(client):
        return False
    # Provider-agnostic: the pattern alone picks the price.
    model_input = {"name": OFFLINE_MODEL, "namePattern": _name_pattern(), "costs": _costs()}
    client.graphql(_CREATE_MODEL, {"input": model_input})
    return True


def probe_is_priced(client: PhoenixClient, written_within: float = 5.0) -> bool:
    """Ask Phoenix whether it prices the offline model now: one LLM span of it, sent to Phoenix's /v1/traces
    with the client's token into the stack's own project, read back, then deleted. PhoenixError when the
    probe is refused or not written within `written_within` seconds."""
    trace_id, span_id = secrets.token_bytes(16), secrets.token_bytes(8)
    attributes: dict[str, str | int] = {
        "openinference.span.kind": "LLM",
        "llm.model_name": OFFLINE_MODEL,
        "llm.token_count.prompt": PROBE_TOKENS,
        "llm.token_count.completion": PROBE_TOKENS,
        "llm.token_count.total": 2 * PROBE_TOKENS,
    }
    body = canary.canary_request(PROBE_SPAN_NAME, trace_id, span_id, attributes)
    response = client.session.post(
        f"{client.base_url}/v1/traces",
        data=body,
        headers={"Content-Type": "application/x-protobuf"},
        timeout=client.timeout,
        verify=client.verify,
    )
    if response.status_code != 200:
        raise PhoenixError(response.status_code, f"the price probe was refused: HTTP {response.status_code}")
    deadline = time.monotonic() + written_within
    while not (spans := client.spans(canary.STACK_PROJECT, trace_ids=[trace_id.hex()])):
        if time.monotonic() >= deadline:
            raise PhoenixError(200, f"the price probe was not written within {written_within:g} s")
        time.sleep(0.1)
    try:
        summary = client.graphql(_SPAN_COST, {"id": spans[0]["id"]})["node"]["costSummary"]
    finally:
        canary.forget(client, trace_id.hex())
    return bool(summary and (summary["total"]["cost"] or 0) > 0)


@dataclass(frozen=True)
class Live:
    seconds: float
    probes: int  # 1: priced at the first ask (already loaded), more: it came with a reload


def wait_until_live(client: PhoenixClient, timeout: float = PRICE_LIVE_TIMEOUT_SECONDS) -> Live | None:
    """How long and how many probes until one came back priced; None when none did within `timeout`."""
    start = time.monotonic()
    probes = 1
    while not probe_is_priced(client):
        if time.monotonic() - start >= timeout:
            return None
        time.sleep(PROBE_INTERVAL_SECONDS)
        probes += 1
    return Live(time.monotonic() - start, probes)
