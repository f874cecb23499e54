"""Who can reach the stack: the addresses its ports listen on (native) or are published on (docker).

Natively Phoenix binds 127.0.0.1 for its UI and OTLP/HTTP (the stack sets PHOENIX_HOST), the demo and
Alloy's UI bind 127.0.0.1 too; but Phoenix hard-codes its OTLP/gRPC listener on [::]
(phoenix/server/grpc_server.py) and, with PHOENIX_ENABLE_PROMETHEUS=true, its metrics on [::]:9090
(phoenix/server/prometheus.py): no setting narrows those. On docker, the compose files publish the UIs and
APIs on STACK_UI_ADDRESS (127.0.0.1 unless opened on purpose) and Alloy's OTLP ports on ALLOY_OTLP_ADDRESS.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import psutil

from stackkit.core.settings import Settings

PHOENIX_METRICS_PORT = 9090


@dataclass(frozen=True)
class Listener:
    component: str
    port: int
    address: str  # "127.0.0.1", "0.0.0.0", "::"

    @property
    def loopback_only(self) -> bool:
        return is_loopback(self.address)

    def describe(self) -> str:
        shown = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.component} {shown}:{self.port}"


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return address == "localhost"


def open_without_auth(settings: Settings, runtime: str) -> str | None:
    """The warning `invoke up` prints once: a UI published beyond loopback while auth is off."""
    if settings.phoenix_enable_auth or runtime != "docker" or is_loopback(settings.stack_ui_address):
        return None
    return (
        f"STACK_UI_ADDRESS={settings.stack_ui_address} publishes Phoenix's UI (port {settings.phoenix_ui_port}) "
        f"and Alloy's UI (port {settings.alloy_ui_port}) beyond this machine with PHOENIX_ENABLE_AUTH=false: "
        "anyone who reaches them reads every trace. Set PHOENIX_ENABLE_AUTH=true, or STACK_UI_ADDRESS=127.0.0.1 "
        "and open access through a TLS proxy or an SSH tunnel (docs/security.md)"
    )


def process_listeners(component: str, pid: int) -> list[Listener]:
    """The TCP sockets the process (and its children) listen on."""
    try:
        parent = psutil.Process(pid)
        family = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    found: set[Listener] = set()
    for process in family:
        try:
            connections = process.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for connection in connections:
            if connection.status == psutil.CONN_LISTEN and connection.laddr:
                found.add(Listener(component, connection.laddr.port, connection.laddr.ip))
    return sorted(found, key=lambda listener: (listener.port, listener.address))


def published_listeners(component: str, ports: dict[str, list[dict[str, str]] | None]) -> list[Listener]:
    """The host addresses a container's ports are published on (its NetworkSettings.Ports)."""
    found = set()
    for bindings in ports.values():
        for binding in bindings or []:
            found.add(Listener(component, int(binding["HostPort"]), binding.get("HostIp") or "0.0.0.0"))
    return sorted(found, key=lambda listener: (listener.port, listener.address))
