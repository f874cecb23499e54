"""What the compose files make of Alloy: the server's listen address and the ports published."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from stackkit.components import alloy as alloy_component
from stackkit.components.registry import ALLOY
from stackkit.runtimes import render
from stackkit.verify.alloy_model import (
    HTTP_EXPORTER,
    OTLP_RECEIVER,
    RECEIVER_SERVERS,
    parse_endpoint,
    string_value,
)
from stackkit.verify.files import (
    DEFAULT_PLAN,
    PLACEHOLDER_SECRETS,
    compose_service,
    interpolate,
)
from stackkit.verify.findings import conclude, fail
from stackkit.verify.registry import CheckResult, VerifyContext, check
from stackkit.verify.report import Location

# ---------------------------------------------------------------------------------------------------
# alloy.listen-addr


def container_ports(entries: Iterable[Any], variables: Mapping[str, str]) -> set[int]:
    """Container ports a compose `ports:` list publishes ("8080:80", "127.0.0.1:80:80/tcp", long syntax)."""
    ports: set[int] = set()
    for entry in entries or []:
        if isinstance(entry, dict):
            text = interpolate(str(entry.get("target", "")), variables)
        else:
            text = interpolate(str(entry), variables).split("/")[0].rsplit(":", 1)[-1]
        first, _, last = text.partition("-")
        if first.isdigit() and (not last or last.isdigit()):
            ports.update(range(int(first), int(last or first) + 1))
    return ports


def listen_flag(args: list[str]) -> str | None:
    for index, arg in enumerate(args):
        name, equals, value = arg.lstrip("-").partition("=")
        if arg.startswith("-") and name == "server.http.listen-addr":
            if equals:
                return value
            return args[index + 1] if index + 1 < len(args) else ""
    return None


@check("alloy.listen-addr", static=True)
def alloy_listen_addr(ctx: VerifyContext) -> CheckResult:
    compose = ctx.files.compose[ALLOY.name]
    if compose.error:
        return CheckResult.failed(compose.error, f"fix {compose.shown}")
    service = compose_service(compose, ALLOY.compose_service)
    if service is None:
        return CheckResult.failed(f"{compose.shown}: no services.alloy", f"define services.alloy in {compose.shown}")
    variables = render.compose_environment(ctx.settings)
    command = service.get("command")
    where = (
        compose.where("services", ALLOY.compose_service, "command")
        if command
        else compose.where("services", ALLOY.compose_service)
    )
    add_flag = f"in {compose.shown}, add --server.http.listen-addr=0.0.0.0:12345 to services.alloy.command"
    if not command:
        return fail(
            "no command, so Alloy runs the image's default, whose UI, /-/ready and /metrics "
            "listen on 127.0.0.1:12345, unreachable from outside the container (grafana/alloy#1469)",
            f"in {compose.shown}, set command: [run, /etc/alloy, --server.http.listen-addr=0.0.0.0:12345, "
            "--storage.path=/var/lib/alloy/data]",
            at=where,
        )
    args = shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]
    args = [interpolate(arg, variables) for arg in args]
    findings: list[CheckResult] = []
    if not args or args[0] != "run":
        findings.append(
            fail(
                "the command does not start with `run` (a compose command replaces the image's whole default command)",
                f"in {compose.shown}, start services.alloy.command with run /etc/alloy",
                at=where,
            )
        )
    elif len(args) > 1 and args[1].endswith(".alloy"):
        findings.append(
            fail(
                f"`run {args[1]}` loads that one file, not the folder: the rendered pieces "
                f"(phoenix-exporter.alloy, metrics.alloy) are ignored and {HTTP_EXPORTER}.phoenix is "
                "undefined",
                f"in {compose.shown}, run the folder: run /etc/alloy",
                at=where,
            )
        )
    published = container_ports(service.get("ports") or [], variables)
    ports_where = compose.where("services", ALLOY.compose_service, "ports")
    listen = listen_flag(args)
    if listen is None:
        findings.append(
            fail(
                "no --server.http.listen-addr, so Alloy's UI, /-/ready and /metrics listen on the "
                "default 127.0.0.1:12345, unreachable from outside the container (grafana/alloy#1469)",
                add_flag,
                at=where,
            )
        )
    else:
        endpoint = parse_endpoint(listen)
        if endpoint is None or endpoint.host != "0.0.0.0":
            findings.append(
                fail(
                    f"--server.http.listen-addr={listen}: only 0.0.0.0 is reachable from outside the container",
                    add_flag,
                    at=where,
                )
            )
        elif endpoint.port not in published:
            findings.append(
                fail(
                    f"Alloy's UI listens on container port {endpoint.port}, which is not "
                    f"published (published: {sorted(published)})",
                    f'in {compose.shown}, publish "${{ALLOY_UI_PORT:-12345}}:{endpoint.port}"',
                    at=ports_where,
                )
            )
    findings += receiver_port_findings(ctx, published, ports_where, compose.shown)
    return conclude(
        findings,
        f"Alloy listens on {listen} and publishes container ports {', '.join(map(str, sorted(published)))}",
    )


def receiver_port_findings(
    ctx: VerifyContext, published: set[int], ports_where: Location, shown: str
) -> list[CheckResult]:
    """The receiver's ports in a container (docker's alloy.env) must be among the published ones."""
    docker_env = alloy_component.environment(ctx.settings, DEFAULT_PLAN, PLACEHOLDER_SECRETS)
    findings = []
    for receiver in ctx.files.alloy.named(OTLP_RECEIVER):
        for server, _default_port in RECEIVER_SERVERS:
            server_block = receiver.block.block(server)
            attribute = server_block.attribute("endpoint") if server_block else None
            value = string_value(attribute.value, docker_env) if attribute else None
            endpoint = parse_endpoint(value) if value else None
            if attribute and endpoint and endpoint.port is not None and endpoint.port not in published:
                findings.append(
                    fail(
                        f"{receiver.id} listens for OTLP/{server} on container port "
                        f"{endpoint.port} ({receiver.where(attribute.line)}), but {shown} publishes "
                        f"{sorted(published)}: apps on the host cannot reach it",
                        f"in {shown}, publish the receiver's port, or change the receiver's endpoint to match",
                        at=ports_where,
                    )
                )
    return findings
