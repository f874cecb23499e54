"""What the Alloy checks share: component names, the standard library, endpoints, and which exporter sends
to Phoenix."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from stackkit.alloy.syntax import Attribute, Expr, evaluate, reads_env
from stackkit.components.registry import PHOENIX
from stackkit.verify.files import AlloyComponent
from stackkit.verify.registry import VerifyContext

OTLP_RECEIVER = "otelcol.receiver.otlp"
GRPC_EXPORTER = "otelcol.exporter.otlp"
PHOENIX_NAMES = (PHOENIX.compose_service, "arize")
HTTP_EXPORTER = "otelcol.exporter.otlphttp"
EXPORTER_PREFIX = "otelcol.exporter."
PROCESSOR_PREFIX = "otelcol.processor."
PHOENIX_ENDPOINT_VARIABLE = "PHOENIX_OTLP_ENDPOINT"
PHOENIX_KEY_VARIABLE = "PHOENIX_API_KEY"
OTLPHTTP_DOC = "grafana/alloy docs/sources/reference/components/otelcol/otelcol.exporter.otlphttp.md"
RECEIVER_DOC = "grafana/alloy docs/sources/reference/components/otelcol/otelcol.receiver.otlp.md"

# Identifiers a reference may start with that are not components (Alloy's standard library).
STDLIB_ROOTS = {"sys", "constants", "string", "array", "encoding", "convert", "file", "coalesce", "json_path"}
# grafana/alloy syntax/internal/stdlib/stdlib.go: DeprecatedIdentifiers, and what replaces each.
DEPRECATED_FUNCTIONS = {
    "env": "sys.env",
    "nonsensitive": "convert.nonsensitive",
    "concat": "array.concat",
    "json_decode": "encoding.from_json",
    "yaml_decode": "encoding.from_yaml",
    "base64_decode": "encoding.from_base64",
    "format": "string.format",
    "join": "string.join",
    "replace": "string.replace",
    "split": "string.split",
    "to_lower": "string.to_lower",
    "to_upper": "string.to_upper",
    "trim": "string.trim",
    "trim_prefix": "string.trim_prefix",
    "trim_suffix": "string.trim_suffix",
    "trim_space": "string.trim_space",
}
NON_COMPONENT_ROOTS = STDLIB_ROOTS | set(DEPRECATED_FUNCTIONS) | {"argument"}
RECEIVER_SERVERS = (("grpc", 4317), ("http", 4318))
ALL_INTERFACES = {"0.0.0.0", "", "::"}
PHOENIX_COMPRESSIONS = {"gzip", "deflate", "none", ""}
TEMPORARY_ROOTS = ("/tmp", "/dev/shm", "/run")
POSTGRES_DATA_DIR = "/var/lib/postgresql/data"
REGISTER_WITH_HTTP_PROTOBUF = re.compile(r"""protocol\s*=\s*["']http/protobuf["']""")


@dataclass(frozen=True)
class Endpoint:
    url: str  # as written
    scheme: str  # "" for host:port
    host: str
    port: int | None
    path: str


def parse_endpoint(value: str) -> Endpoint | None:
    """A URL (scheme://host[:port][/path]) or a host:port; None when it is neither."""
    if "://" in value:
        parts = urlsplit(value)
        try:
            port = parts.port
        except ValueError:
            return None
        return Endpoint(value, parts.scheme, parts.hostname or "", port, parts.path)
    host, colon, port_text = value.rpartition(":")
    if not colon or not port_text.isdigit():
        return None
    return Endpoint(value, "", host.strip("[]"), int(port_text), "")


def string_value(expr: Expr, env: Mapping[str, str]) -> str | None:
    value = evaluate(expr, env)
    return value if isinstance(value, str) else None


def client_attribute(component: AlloyComponent, name: str) -> Attribute | None:
    client = component.block.block("client")
    return client.attribute(name) if client else None


def endpoint_expressions(component: AlloyComponent) -> list[Expr]:
    found = [client_attribute(component, "endpoint"), component.block.attribute("traces_endpoint")]
    return [attribute.value for attribute in found if attribute is not None]


def aims_at_phoenix(component: AlloyComponent, ctx: VerifyContext) -> bool:
    """Whether an exporter sends to Phoenix: its endpoint reads PHOENIX_OTLP_ENDPOINT or names Phoenix."""
    # 4317 alone is not Phoenix's: Alloy listens there too. Phoenix's gRPC is 14317 on the host.
    phoenix_ports = {6006, ctx.settings.phoenix_ui_port, ctx.settings.phoenix_grpc_host_port}
    external_host = urlsplit(ctx.settings.phoenix_external_url).hostname if ctx.settings.phoenix_external_url else None
    # In a config of one's own, the Phoenix exporter is known by its label or its host (a tunnel's name).
    if any(name in (component.block.label or "").lower() for name in PHOENIX_NAMES):
        return True
    for expr in endpoint_expressions(component):
        if reads_env(expr, PHOENIX_ENDPOINT_VARIABLE):
            return True
        value = string_value(expr, ctx.files.alloy_env.values)
        endpoint = parse_endpoint(value) if value else None
        if endpoint and (endpoint.host == PHOENIX.compose_service or endpoint.port in phoenix_ports):
            return True
        if endpoint and (endpoint.host == external_host or any(name in endpoint.host for name in PHOENIX_NAMES)):
            return True
    return False


def phoenix_http_exporters(ctx: VerifyContext) -> list[AlloyComponent]:
    return [exporter for exporter in ctx.files.alloy.named(HTTP_EXPORTER) if aims_at_phoenix(exporter, ctx)]


def env_origin(expr: Expr, variable: str, ctx: VerifyContext) -> str:
    """Where a value read with sys.env comes from, for messages that say what to change."""
    if reads_env(expr, variable):
        return f" ({variable} in {ctx.files.alloy_env.shown}, written by stackkit/runtimes/render.py)"
    return ""
