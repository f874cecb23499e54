"""A Phoenix the stack does not run, reached through a proxy or tunnel: each way that path breaks, named the way a
user meets it, with its fix.

Three requests, none of which stores a span: GET /healthz, an empty OTLP export (a valid protobuf of zero
bytes) and an OTLP export padded past nginx's default body limit with a resource attribute but no span.
What answers is judged by status and Content-Type: Phoenix answers OTLP with protobuf, a proxy with HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

import requests

from stackkit.core import secrets
from stackkit.core.settings import Settings

# Above nginx's default client_max_body_size (1m) and well above a batch the SDKs send by default; small
# enough to send on every verify.
LARGE_BODY_BYTES = 1_200_000
TIMEOUT_S = 10.0
PROXY_BODY_FIX = (
    "raise the proxy's body limit above your largest OTLP batch: nginx `client_max_body_size 16m;` in the "
    "server or location that proxies Phoenix (the default is 1m); Cloudflare allows 100 MB"
)
UPSTREAM_FIX = (
    "the proxy answers but cannot reach Phoenix behind it: start Phoenix, and check the proxy's upstream "
    "(nginx proxy_pass, cloudflared's `service:`) points at Phoenix's port 6006 (HTTP/1.1, not gRPC)"
)


@dataclass(frozen=True)
class Problem:
    summary: str
    fix: str


def _ingest_token(settings: Settings) -> str:
    return settings.phoenix_api_key or secrets.load(settings).get("PHOENIX_API_KEY", "")


def _looks_like_html(response: requests.Response) -> bool:
    return "text/html" in response.headers.get("Content-Type", "") or response.text.lstrip()[:15].lower().startswith(
        ("<!doctype html", "<html")
    )


def _server(response: requests.Response) -> str:
    server = response.headers.get("Server", "")
    return f" (Server: {server})" if server else ""


def connection_problem(url: str, error: requests.RequestException, settings: Settings) -> Problem:
    """Why a request never got an HTTP answer: the name, TLS, or nothing listening."""
    text = str(error)
    host = urlparse(url).hostname or url
    if isinstance(error, requests.exceptions.SSLError):
        lowered = text.lower()
        if "hostname mismatch" in lowered or "doesn't match" in lowered or "not valid for" in lowered:
            return Problem(
                f"TLS: the certificate at {host} is not issued for the name {host!r} (wrong host name)",
                "use the host name the certificate names in PHOENIX_EXTERNAL_URL, or reissue the certificate with "
                f"{host} in its subjectAltName",
            )
        if "expired" in lowered:
            return Problem(
                f"TLS: the certificate at {host} has expired",
                "renew the proxy's certificate (certbot renew, or the tunnel's dashboard)",
            )
        if "wrong version number" in lowered or "record layer failure" in lowered:
            return Problem(
                f"TLS: {host} does not speak TLS on that port (https:// to a plain-http listener)",
                "use http:// in PHOENIX_EXTERNAL_URL, or the port where the proxy terminates TLS",
            )
        given = f" (PHOENIX_CA_BUNDLE={settings.phoenix_ca_bundle})" if settings.phoenix_ca_bundle else ""
        return Problem(
            f"TLS: the certificate at {host} is signed by a CA this machine does not trust{given}: "
            "certificate verify failed",
            "set PHOENIX_CA_BUNDLE to the PEM file of the CA that signed the proxy's certificate (the stack gives "
            "it to Alloy's `tls { ca_file }`, the demo and its own checks)",
        )
    if isinstance(error, requests.Timeout):
        return Problem(
            f"no answer from {url} within {TIMEOUT_S:g}s",
            "check that the proxy or tunnel runs and a firewall lets this machine reach it",
        )
    if any(mark in text for mark in ("NameResolutionError", "Name or service not known", "Failed to resolve")) or (
        "nodename nor servname" in text or "Temporary failure in name resolution" in text
    ):
        return Problem(
            f"the name {host!r} does not resolve (DNS)",
            "check the host name in PHOENIX_EXTERNAL_URL; a tunnel's hostname exists only once its DNS record "
            "is created (cloudflared tunnel route dns …)",
        )
    return Problem(
        f"nothing answers at {url}: connection refused",
        "start the proxy (or tunnel) in front of Phoenix, and check the port in PHOENIX_EXTERNAL_URL",
    )


def _status_problem(what: str, response: requests.Response, settings: Settings) -> Problem | None:
    code, html = response.status_code, _looks_like_html(response)
    if code in (502, 503, 504) and (html or code != 503):
        return Problem(f"{what}: the proxy answered {code}{_server(response)}: its upstream is down", UPSTREAM_FIX)
    if code == 413:
        return Problem(f"{what}: 413 Request Entity Too Large from the proxy{_server(response)}", PROXY_BODY_FIX)
    if code == 404:
        prefix = urlparse(settings.phoenix_url).path or "/"
        return Problem(
            f"{what}: 404: no Phoenix at that path (path prefix {prefix!r} missing or doubled)",
            "PHOENIX_EXTERNAL_URL must name Phoenix's base URL with the prefix the proxy serves it under "
            "(https://host/phoenix, never ending in /v1/traces); the proxy must strip that prefix "
            "(nginx `location /phoenix/ { proxy_pass http://phoenix:6006/; }`) and Phoenix needs "
            "PHOENIX_HOST_ROOT_PATH=/phoenix for its UI",
        )
    if code in (401, 403):
        if html:
            return Problem(
                f"{what}: {code} with an HTML page from the proxy{_server(response)}: the proxy refuses the request "
                "before Phoenix sees it",
                "let the OTLP path through the proxy's access rules (Cloudflare Access: a service token or a bypass "
                "for /v1/traces); gRPC through an HTTP/1.1 tunnel also ends here: use OTLP/HTTP",
            )
        key = "no key" if not _ingest_token(settings) else f"key {secrets.fingerprint(_ingest_token(settings))}"
        return Problem(
            f"{what}: Phoenix answered {code}: the ingestion key is missing or rejected ({key})",
            "set PHOENIX_API_KEY to an ingestion key of that Phoenix (Settings > API keys), or PHOENIX_ADMIN_SECRET "
            "with PHOENIX_ENABLE_AUTH=true to mint one",
        )
    if code >= 400:
        return Problem(
            f"{what}: HTTP {code}{_server(response)}: {response.text[:120]!r}",
            "read the proxy's and Phoenix's logs for this request",
        )
    if html:
        return Problem(
            f"{what}: HTTP {code} with an HTML page{_server(response)}: a proxy answered, not Phoenix "
            "(spans sent there are dropped while the sender counts them as delivered)",
            "route the whole Phoenix base URL to Phoenix in the proxy (no catch-all page or login wall in front of "
            "/v1/traces), and check PHOENIX_EXTERNAL_URL names that route",
        )
    return None


def _post_otlp(settings: Settings, body: bytes) -> requests.Response:
    headers = {"Content-Type": "application/x-protobuf"}
    if token := _ingest_token(settings):
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(
        f"{settings.phoenix_url}/v1/traces",
        data=body,
        headers=headers,
        timeout=TIMEOUT_S,
        verify=settings.phoenix_tls_verify,
    )


def padded_export(size: int) -> bytes:
    """An OTLP export of about `size` bytes that holds no span: Phoenix accepts it and stores nothing."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

    padding = KeyValue(key="stackkit.body-limit-probe", value=AnyValue(string_value="x" * size))
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=Resource(attributes=[padding]))]
    ).SerializeToString()


def _phoenix_at_shorter_path(settings: Settings) -> str:
    """The base URL, with fewer path segments than the one given, where Phoenix's /healthz answers; "" if none."""
    parsed = urlparse(settings.phoenix_url)
    segments = [segment for segment in parsed.path.split("/") if segment]
    for keep in range(len(segments) - 1, -1, -1):
        candidate = f"{parsed.scheme}://{parsed.netloc}" + "".join(f"/{segment}" for segment in segments[:keep])
        try:
            response = requests.get(f"{candidate}/healthz", timeout=TIMEOUT_S, verify=settings.phoenix_tls_verify)
        except requests.RequestException:
            return ""
        if response.status_code == 200 and response.text.strip() == "OK":
            return candidate
    return ""


def _not_phoenix_health(response: requests.Response) -> bool:
    """A 2xx or 404 that is not Phoenix's "OK": some other page is served at that path."""
    return (response.status_code < 300 or response.status_code == 404) and response.text.strip() != "OK"


def _health_problem(settings: Settings) -> Problem | None:
    url = f"{settings.phoenix_url}/healthz"
    what = f"GET /healthz at {url}"
    try:
        response = requests.get(url, timeout=TIMEOUT_S, verify=settings.phoenix_tls_verify)
    except requests.RequestException as error:
        return connection_problem(url, error, settings)
    if _not_phoenix_health(response) and (shorter := _phoenix_at_shorter_path(settings)):
        return Problem(
            f"{what}: HTTP {response.status_code}, not Phoenix; Phoenix answers at {shorter}: the path prefix in "
            "PHOENIX_EXTERNAL_URL is doubled or wrong (its /v1/traces would 404 or hit the UI)",
            f"set PHOENIX_EXTERNAL_URL={shorter}",
        )
    if problem := _status_problem(what, response, settings):
        return problem
    if _not_phoenix_health(response):
        return Problem(
            f"{what}: HTTP {response.status_code} but not Phoenix's 'OK'{_server(response)}: a proxy answered, "
            "not Phoenix",
            "point PHOENIX_EXTERNAL_URL at the route the proxy forwards to Phoenix",
        )
    return None


def diagnose(settings: Settings) -> Problem | None:
    """The first thing wrong on the way to the external Phoenix, or None when OTLP of any size gets to it."""
    if problem := _health_problem(settings):
        return problem
    url = f"{settings.phoenix_url}/v1/traces"
    exports = {
        "POST /v1/traces (an empty export)": b"",
        f"POST /v1/traces (a {LARGE_BODY_BYTES / 1e6:.1f} MB export, no span)": padded_export(LARGE_BODY_BYTES),
    }
    for what, body in exports.items():
        try:
            response = _post_otlp(settings, body)
        except requests.RequestException as error:
            return connection_problem(url, error, settings)
        if problem := _status_problem(f"{what} at {url}", response, settings):
            return problem
    return None
