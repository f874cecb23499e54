"""A price for the demo's offline model, registered in Phoenix so its cost columns mean something.

Phoenix prices an LLM span when it is written, from the first registered model whose `name_pattern` matches
the span's `llm.model_name` (phoenix/server/cost_tracking/cost_model_lookup.py): spans written before the
price was registered stay at $0. Phoenix reads new prices into memory every 5 s (server/daemons/
generative_model_store.py), so the stack registers it as soon as Phoenix is healthy, waits that out, and
only then sends traffic.

The price: the offline model stands in for a small hosted model, so it is priced like OpenAI's gpt-4o-mini,
US$0.15 per million input tokens and US$0.60 per million output tokens (https://openai.com/api/pricing/,
as listed for gpt-4o-mini). It is an illustration, not a bill.
"""

from __future__ import annotations

import re
import time

from stackkit.phoenix.api import PhoenixClient

# The name the demo's offline provider writes as llm.model_name (services/ai-demo/ai_demo/providers.py).
OFFLINE_MODEL = "offline-weather-1"
INPUT_USD_PER_MILLION_TOKENS = 0.15
OUTPUT_USD_PER_MILLION_TOKENS = 0.60
PRICE_SOURCE = "priced like OpenAI's gpt-4o-mini: $0.15 / $0.60 per million input / output tokens"
# Phoenix's GenerativeModelStore refresh interval (5 s) and a margin.
PRICE_PICKUP_SECONDS = 6.0

_MODEL_NAMES = "query { generativeModels(first: 1000) { edges { node { name } } } }"
_CREATE_MODEL = """
mutation ($input: CreateModelMutationInput!) { createModel(input: $input) { model { name } } }
"""


def registered_model_names(client: PhoenixClient) -> set[str]:
    edges = client.graphql(_MODEL_NAMES)["generativeModels"]["edges"]
    return {edge["node"]["name"] for edge in edges}


def register_offline_model_price(client: PhoenixClient) -> bool:
    """Register the offline model's price once (True when this call added it; False when already there).
    Needs a token that may write (the admin secret when auth is on). After adding it, waits until Phoenix
    prices spans with it."""
    if OFFLINE_MODEL in registered_model_names(client):
        return False
    costs = [
        {"tokenType": "input", "costPerMillionTokens": INPUT_USD_PER_MILLION_TOKENS, "kind": "PROMPT"},
        {"tokenType": "output", "costPerMillionTokens": OUTPUT_USD_PER_MILLION_TOKENS, "kind": "COMPLETION"},
    ]
    # Provider-agnostic: the pattern alone picks the price.
    model_input = {"name": OFFLINE_MODEL, "namePattern": f"^{re.escape(OFFLINE_MODEL)}$", "costs": costs}
    client.graphql(_CREATE_MODEL, {"input": model_input})
    time.sleep(PRICE_PICKUP_SECONDS)
    return True
