"""A small client for the parts of Phoenix's REST API the stack uses: spans, keys, annotations."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from stackkit.core import secrets
from stackkit.core.errors import OperationFailed
from stackkit.core.settings import Settings


class PhoenixError(OperationFailed):
    """Phoenix answered with an error; the message carries the status and Phoenix's text."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class SystemKey:
    id: str
    name: str
    key: str  # the secret: never print it


class PhoenixClient:
    def __init__(self, base_url: str, token: str = "", timeout: float = 10.0, verify: str | bool = True):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        # A CA bundle path for a Phoenix behind a proxy with a private CA; given per request, because a
        # session-wide verify loses to REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in the environment.
        self.verify = verify
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(
            method, f"{self.base_url}{path}", timeout=self.timeout, verify=self.verify, **kwargs
        )
        if response.status_code >= 400:
            raise PhoenixError(
                response.status_code, f"{method} {path}: HTTP {response.status_code} {response.text[:300]}"
            )
        return response.json() if response.content else None

    def healthy(self) -> bool:
        try:
            return (
                self.session.get(f"{self.base_url}/healthz", timeout=self.timeout, verify=self.verify).status_code
                == 200
            )
        except requests.RequestException:
            return False

    def projects(self) -> list[dict[str, Any]]:
        return self._request("GET", "/v1/projects")["data"]

    def spans(
        self,
        project: str,
        trace_ids: Sequence[str] = (),
        limit: int = 1000,
        max_spans: int | None = None,
        **filters: str,
    ) -> list[dict[str, Any]]:
        """Every span matching the filters (at most max_spans), following the cursor; [] when the project
        does not exist yet."""
        params: list[tuple[str, Any]] = [("trace_id", trace_id) for trace_id in trace_ids]
        params += [("limit", limit), *filters.items()]
        spans: list[dict[str, Any]] = []
        cursor = None
        while True:
            page_params = [*params, ("cursor", cursor)] if cursor else params
            try:
                page = self._request("GET", f"/v1/projects/{project}/spans", params=page_params)
            except PhoenixError as error:
                if error.status == 404:
                    return []
                raise
            spans += page["data"]
            cursor = page.get("next_cursor")
            if max_spans is not None and len(spans) >= max_spans:
                return spans[:max_spans]
            if not cursor:
                return spans

    def spans_by_trace(self, project: str, trace_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """Every span of the given traces, by trace id (an empty list for a trace not in Phoenix)."""
        wanted = list(dict.fromkeys(trace_ids))
        by_trace: dict[str, list[dict[str, Any]]] = {trace_id: [] for trace_id in wanted}
        # The trace_id filter is repeatable; keep URLs short with chunks.
        for start in range(0, len(wanted), 50):
            for span in self.spans(project, trace_ids=wanted[start : start + 50]):
                by_trace.setdefault(span["context"]["trace_id"], []).append(span)
        return by_trace

    def wait_for_traces(
        self, project: str, trace_ids: Iterable[str], timeout: float, min_spans_per_trace: int = 1
    ) -> dict[str, list[dict[str, Any]]]:
        """Spans by trace id, polling until every trace has its spans or the timeout passes."""
        wanted = list(dict.fromkeys(trace_ids))
        deadline = time.monotonic() + timeout
        while True:
            by_trace = self.spans_by_trace(project, wanted)
            complete = all(len(by_trace[trace_id]) >= min_spans_per_trace for trace_id in wanted)
            if complete or time.monotonic() >= deadline:
                return by_trace
            time.sleep(0.25)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST /graphql (what the UI uses); PhoenixError when the answer carries errors."""
        answer = self._request("POST", "/graphql", json={"query": query, "variables": variables or {}})
        if answer.get("errors"):
            raise PhoenixError(200, f"POST /graphql: {answer['errors'][0].get('message', answer['errors'])}")
        return answer["data"]

    def create_system_key(self, name: str, description: str = "") -> SystemKey:
        """Needs the admin secret as token: an API key cannot mint keys (403)."""
        body = {"data": {"name": name, "description": description}}
        data = self._request("POST", "/v1/system/api_keys", json=body)["data"]
        return SystemKey(id=data["id"], name=data["name"], key=data["key"])

    def delete_system_key(self, key_id: str) -> None:
        self._request("DELETE", f"/v1/system/api_keys/{key_id}")

    def delete_span(self, span_id: str) -> None:
        """DELETE /v1/spans/{OpenTelemetry span id}: that span only; the trace goes with its last span."""
        self._request("DELETE", f"/v1/spans/{span_id}")

    def annotate_spans(self, annotations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._request("POST", "/v1/span_annotations", params={"sync": "true"}, json={"data": annotations})[
            "data"
        ]

    def span_annotations(self, project: str, span_ids: Sequence[str]) -> list[dict[str, Any]]:
        annotations: list[dict[str, Any]] = []
        for start in range(0, len(span_ids), 50):
            params = [("span_ids", span_id) for span_id in span_ids[start : start + 50]] + [("limit", 1000)]
            annotations += self._request("GET", f"/v1/projects/{project}/span_annotations", params=params)["data"]
        return annotations


def reader_token(settings: Settings) -> str:
    """The token that reads every project of the stack's Phoenix: the admin secret with auth on, else the
    ingestion key the user gave (an external Phoenix), else none."""
    stored = secrets.load(settings)
    token = stored.get("PHOENIX_ADMIN_SECRET", "") if settings.phoenix_enable_auth else ""
    if not token and settings.phoenix_wants_key:
        token = settings.phoenix_api_key or stored.get("PHOENIX_API_KEY", "")
    return token


def phoenix_client(settings: Settings, timeout: float = 10.0) -> PhoenixClient:
    """The REST client of the stack's Phoenix, with the token of reader_token."""
    return PhoenixClient(
        settings.phoenix_url, token=reader_token(settings), timeout=timeout, verify=settings.phoenix_tls_verify
    )
