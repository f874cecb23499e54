"""The client matrix: the OpenTelemetry SDKs people run (Python HTTP/protobuf and gRPC; Node.js HTTP/JSON, the
default of @opentelemetry/exporter-trace-otlp-http, HTTP/protobuf and gRPC; the Collector project's telemetrygen
over HTTP and gRPC) send traces through the upstream Collector (STACK_COLLECTOR=otelcol) and straight to Phoenix,
with auth off and on. Each cell lands (read back through Phoenix's API, in the project its
`openinference.project.name` resource attribute or `x-project-name` header names) or is a limit the stack names
(`invoke up`'s lines, `invoke verify`'s phoenix.refused-clients). Alloy has no binary here: its column is a limit.

One Phoenix per auth setting serves every cell of it; the Collector in front of it is started for the fan-out
cells and stopped for the straight ones (cells run grouped by route, so it changes twice per stack).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from isolation import invoke, isolated_environ
from system import require, unavailable

from stackkit.commands import app_send
from stackkit.components import otelcol
from stackkit.core import secrets
from stackkit.core.settings import Settings, load_settings
from stackkit.phoenix.api import PhoenixClient
from stackkit.stack import lifecycle
from tools import client_tools

pytestmark = pytest.mark.phoenix

HERE = Path(__file__).resolve().parent
NODE_APP = HERE / "node_app.js"
PYTHON_APP = HERE / "python_app.py"
SPANS = 3  # per trace: a root and two children
READ_BACK_S = 60
FAN_OUT = "otelcol"
STRAIGHT = "phoenix"


@dataclass(frozen=True)
class Client:
    sdk: str  # python, python-register, node, telemetrygen
    protocol: str  # http/protobuf, http/json, grpc

    @property
    def name(self) -> str:
        return f"{self.sdk} {self.protocol}"


CLIENTS = (
    Client("python-register", "http/protobuf"),  # phoenix.otel.register(), README's and the seed's call
    Client("python", "http/protobuf"),
    Client("python", "grpc"),
    Client("node", "http/json"),
    Client("node", "http/protobuf"),
    Client("node", "grpc"),
    Client("telemetrygen", "http/protobuf"),
    Client("telemetrygen", "grpc"),
)


@dataclass
class Stack:
    environ: dict[str, str]
    auth: bool

    @property
    def settings(self) -> Settings:
        return load_settings(environ=self.environ)

    def invoke(self, *args: str) -> subprocess.CompletedProcess[str]:
        return invoke(self.environ, *args)

    @property
    def key(self) -> str:
        return secrets.load(self.settings).get("PHOENIX_API_KEY", "")

    def reader(self) -> PhoenixClient:
        return PhoenixClient(
            self.settings.phoenix_url, token=secrets.load(self.settings).get("PHOENIX_ADMIN_SECRET", "")
        )

    def route(self, via: str) -> app_send.AppEndpoint:
        """Start or stop the Collector so apps send `via` it or straight to Phoenix; the endpoint apps use then."""
        settings = self.settings
        runtime = lifecycle.recorded_runtime(settings)
        running = runtime.state(FAN_OUT).running
        if via == FAN_OUT and not running:
            if otelcol.binary() is None:
                unavailable(f"{otelcol.MISSING_BINARY}: `.venv/bin/nox -s collector` builds it")
            started = self.invoke("up", "--only", FAN_OUT)
            assert started.returncode == 0, started.stdout + started.stderr
            # up names the endpoint now in use: the Collector's, every encoding, no key.
            assert f"(HTTP: protobuf or JSON), 127.0.0.1:{settings.alloy_otlp_grpc_port} (gRPC), through otelcol" in (
                started.stdout
            ), started.stdout
        elif via == STRAIGHT and running:
            runtime.stop(FAN_OUT)
        target = app_send.running_endpoint(settings)
        assert target.via == via, target
        return target

    def landed(self, project: str, trace_id: str) -> int:
        """Spans read back from Phoenix: of the trace, or (a client that names no trace) of the whole project."""
        reader = self.reader()
        deadline = time.monotonic() + READ_BACK_S
        while True:
            count = len(reader.spans(project, trace_ids=[trace_id] if trace_id else ()))
            if count >= SPANS or time.monotonic() >= deadline:
                return count
            time.sleep(0.25)

    def landed_now(self, project: str) -> int:
        return len(self.reader().spans(project))

    def refused(self) -> dict[tuple[str, int], int]:
        """verify's phoenix.refused-clients findings: count by (path, status)."""
        result = self.invoke("verify", "--json")
        checks = {check["id"]: check for check in json.loads(result.stdout)}
        counts: dict[tuple[str, int], int] = {}
        for finding in checks["phoenix.refused-clients"].get("findings") or []:
            found = re.search(r": (\d+) OTLP request\(s\) to (\S+) refused with (\d{3})", finding["message"])
            if found:
                key = (found[2], int(found[3]))
                counts[key] = counts.get(key, 0) + int(found[1])
        return counts


def _bring_up(folder: Path, auth: bool) -> Stack:
    environ = isolated_environ(
        folder,
        STACK_COLLECTOR=FAN_OUT,
        PHOENIX_ENABLE_AUTH="true" if auth else "false",
        STACK_HEALTH_TIMEOUT="600",  # a loaded machine starts Phoenix slowly
    )
    stack = Stack(environ, auth)
    started = stack.invoke("up", "--only", STRAIGHT)
    assert started.returncode == 0, started.stdout + started.stderr
    settings = stack.settings
    assert f"OTLP for apps:     {settings.phoenix_url}/v1/traces (HTTP, straight to Phoenix" in started.stdout
    assert "OTLP/JSON gets 415" in started.stdout, started.stdout
    assert ("authorization: Bearer <ingestion key>" in started.stdout) == auth, started.stdout
    return stack


def _stack(tmp_path_factory: pytest.TempPathFactory, auth: bool) -> Iterator[Stack]:
    stack = _bring_up(tmp_path_factory.mktemp(f"clients-auth-{'on' if auth else 'off'}") / "state", auth)
    try:
        yield stack
    finally:
        if stack.invoke("down").returncode != 0:
            stack.invoke("down", "--force")


@pytest.fixture(scope="module")
def auth_off(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _stack(tmp_path_factory, auth=False)


@pytest.fixture(scope="module")
def auth_on(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _stack(tmp_path_factory, auth=True)


@pytest.fixture(scope="module")
def tools() -> dict[str, str]:
    """node (its OpenTelemetry packages from npm) and telemetrygen (from Go modules), installed by the test
    session (`python -m tools.client_tools`) into the user's cache."""
    found = require("node")
    for path in (client_tools.node_modules(), client_tools.telemetrygen()):
        if not path.exists():
            unavailable(f"{path} is not installed: run `.nox/stack/bin/python -m tools.client_tools`")
    return {
        "node": found["node"],
        "node_path": str(client_tools.node_modules()),
        "telemetrygen": str(client_tools.telemetrygen()),
    }


@dataclass(frozen=True)
class Sent:
    trace_id: str
    export: str  # "ok" or what the client reported


def app_environment(target: app_send.AppEndpoint, client: Client, project: str, key: str) -> dict[str, str]:
    """The standard OTEL_* variables for this cell, as `render --print app-env` prints them (gRPC: its port)."""
    base = f"http://{target.grpc_address}" if client.protocol == "grpc" else target.http_base
    environ = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": base,
        "OTEL_EXPORTER_OTLP_PROTOCOL": client.protocol,
        "OTEL_RESOURCE_ATTRIBUTES": f"{app_send.PROJECT_ATTRIBUTE}={project}",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    if target.needs_key:
        environ["OTEL_EXPORTER_OTLP_HEADERS"] = f"authorization=Bearer%20{key}"
    return environ


def send(client: Client, environ: dict[str, str], tools: dict[str, str]) -> Sent:
    """Run the client once: one trace of SPANS spans."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    if client.sdk == "telemetrygen":
        return _telemetrygen(client, environ, tools, clean)
    if client.sdk == "node":
        command = [tools["node"], str(NODE_APP), client.protocol, str(SPANS)]
        clean["NODE_PATH"] = tools["node_path"]
    elif client.sdk == "python-register":
        command = [sys.executable, str(PYTHON_APP), "register", str(SPANS)]
    else:
        command = [sys.executable, str(PYTHON_APP), client.protocol, str(SPANS)]
    result = subprocess.run(command, env={**clean, **environ}, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip(), result.stderr[-2000:]
    reported = json.loads(result.stdout.strip().splitlines()[-1])
    return Sent(reported["trace_id"], reported["export"])


def _telemetrygen(client: Client, environ: dict[str, str], tools: dict[str, str], clean: dict[str, str]) -> Sent:
    address = environ["OTEL_EXPORTER_OTLP_ENDPOINT"].removeprefix("http://")
    project = environ["OTEL_RESOURCE_ATTRIBUTES"].split("=", 1)[1]
    command = [
        tools["telemetrygen"],
        "traces",
        f"--otlp-endpoint={address}",
        "--otlp-insecure",
        "--traces=1",
        f"--child-spans={SPANS - 1}",
        "--rate=0",
        f'--otlp-attributes={app_send.PROJECT_ATTRIBUTE}="{project}"',
    ]
    if client.protocol != "grpc":
        command.append("--otlp-http")
    if headers := environ.get("OTEL_EXPORTER_OTLP_HEADERS"):
        name, value = headers.split("=", 1)
        command.append(f'--otlp-header={name}="{value.replace("%20", " ")}"')
    result = subprocess.run(command, env=clean, capture_output=True, text=True, timeout=120)
    errors = [line for line in result.stderr.splitlines() if "\tERROR\t" in line or "failed" in line.lower()]
    return Sent("", "ok" if result.returncode == 0 and not errors else (errors or [result.stderr[-300:]])[0])


# --- the matrix -------------------------------------------------------------------------------------------


def limit(client: Client, via: str) -> str:
    """The cell's documented limit ("" when it lands), as README's table and `invoke up` name it."""
    if via == STRAIGHT and client.protocol == "http/json":
        return "415: Phoenix takes OTLP/HTTP protobuf only"
    return ""


CELLS = [
    pytest.param(auth, via, client, id=f"auth-{auth}-{via}-{client.sdk}-{client.protocol.replace('/', '-')}")
    for auth in ("off", "on")
    for via in (FAN_OUT, STRAIGHT)
    for client in CLIENTS
]


@pytest.mark.parametrize(("auth", "via", "client"), CELLS)
def test_cell(auth: str, via: str, client: Client, tools: dict[str, str], request: pytest.FixtureRequest) -> None:
    stack: Stack = request.getfixturevalue(f"auth_{auth}")
    target = stack.route(via)
    project = f"m-{auth}-{via}-{client.sdk}-{client.protocol.replace('/', '-')}"
    sent = send(client, app_environment(target, client, project, stack.key), tools)
    expected_limit = limit(client, via)
    # A refused export is not waited for: nothing can land.
    landed = stack.landed(project, sent.trace_id) if sent.export == "ok" else stack.landed_now(project)
    print(f"CELL auth={auth} via={via} client={client.name}: {landed}/{SPANS} landed, export {sent.export}")
    if expected_limit:
        assert landed == 0 and sent.export != "ok", sent
        assert "415" in expected_limit and "Unsupported Media Type" in sent.export, sent
    else:
        assert sent.export == "ok", sent
        assert landed == SPANS, (landed, sent)


def _run_app(command: list[str], snippet: Path, tools: dict[str, str]) -> Sent:
    """A stock app started from a shell that sourced the snippet `render --print app-env` printed."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    clean["NODE_PATH"] = tools["node_path"]
    shell = f". {snippet} && exec {' '.join(command)}"
    result = subprocess.run(["bash", "-c", shell], env=clean, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip(), result.stderr[-2000:]
    reported = json.loads(result.stdout.strip().splitlines()[-1])
    return Sent(reported["trace_id"], reported["export"])


STOCK_APPS = {
    "python": [sys.executable, str(PYTHON_APP), "env", str(SPANS)],
    "node": ["node", str(NODE_APP), "env", str(SPANS)],
}


@pytest.mark.parametrize("via", [STRAIGHT, FAN_OUT])
def test_app_env_pasted_into_a_shell_makes_stock_apps_land_with_auth_on(
    via: str, auth_on: Stack, tools: dict[str, str], tmp_path: Path
) -> None:
    target = auth_on.route(via)
    printed = auth_on.invoke("render", "--print", "app-env", "--show")
    assert printed.returncode == 0, printed.stderr
    snippet = tmp_path / "app-env.sh"
    snippet.write_text(printed.stdout)
    assert f"OTEL_EXPORTER_OTLP_ENDPOINT={target.http_base}" in printed.stdout, printed.stdout
    assert "environment:" in printed.stdout, printed.stdout  # the compose block, inert in a shell
    assert ("authorization=Bearer%20" in printed.stdout) == (via == STRAIGHT), printed.stdout
    project = auth_on.settings.phoenix_project_name
    for sdk, command in STOCK_APPS.items():
        sent = _run_app(command, snippet, tools)
        assert sent.export == "ok", (sdk, sent)
        assert auth_on.landed(project, sent.trace_id) == SPANS, (sdk, sent)
        print(f"APP-ENV via={via} {sdk}: {SPANS}/{SPANS} landed in {project}")
    if via == STRAIGHT:
        # Without --show the key is a placeholder: the shell snippet says how to get it, and never holds it.
        hidden = auth_on.invoke("render", "--print", "app-env")
        assert auth_on.key not in hidden.stdout and "<ingestion-key>" in hidden.stdout, hidden.stdout
        assert "--show" in hidden.stdout


def test_up_and_status_tell_a_node_app_and_verify_names_its_mistakes(auth_on: Stack, tools: dict[str, str]) -> None:
    """A Node.js app with its default exporter pointed at the endpoint status prints (straight to Phoenix) is
    refused 415 and verify names it; each other mistake too: no key (401), /v1/traces doubled and metrics (405)."""
    target = auth_on.route(STRAIGHT)
    status = auth_on.invoke("status").stdout
    printed = re.search(r"OTLP for apps:\s+(\S+)/v1/traces", status)
    assert printed and printed[1] == target.http_base, status
    assert "OTLP/JSON gets 415" in status and "authorization: Bearer <ingestion key>" in status, status
    before = auth_on.refused()
    key_header = {"OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer%20{auth_on.key}"}
    default_node = Client("node", "http/json")
    base = {"OTEL_EXPORTER_OTLP_ENDPOINT": printed[1], "OTEL_RESOURCE_ATTRIBUTES": "service.name=mistakes"}
    sent = send(default_node, {**base, **key_header}, tools)
    assert "Unsupported Media Type" in sent.export, sent
    assert send(Client("python", "http/protobuf"), base, tools).export != "ok"  # no key: 401
    doubled = {**base, **key_header, "OTEL_EXPORTER_OTLP_ENDPOINT": f"{printed[1]}/v1/traces"}
    assert send(Client("python", "http/protobuf"), doubled, tools).export != "ok"
    address = printed[1].removeprefix("http://")
    metrics_command = [tools["telemetrygen"], "metrics", f"--otlp-endpoint={address}", "--otlp-http", "--otlp-insecure"]
    metrics_command += ["--metrics=1", "--rate=0", f'--otlp-header=authorization="Bearer {auth_on.key}"']
    metrics = subprocess.run(metrics_command, capture_output=True, text=True, timeout=120)
    assert metrics.returncode != 0 or "405" in metrics.stderr, metrics.stderr[-1000:]
    after = auth_on.refused()
    grew = {key: after.get(key, 0) - before.get(key, 0) for key in after}
    print(f"REFUSED (path, status) -> count since the test started: {grew}")
    assert grew.get(("/v1/traces", 415), 0) >= 1, (before, after)
    assert grew.get(("/v1/traces", 401), 0) >= 1, (before, after)
    assert grew.get(("/v1/traces/v1/traces", 405), 0) >= 1, (before, after)
    assert grew.get(("/v1/metrics", 405), 0) >= 1, (before, after)
    verify = auth_on.invoke("verify", "--json")
    check = {item["id"]: item for item in json.loads(verify.stdout)}["phoenix.refused-clients"]
    assert check["status"] == "warn", check
    assert "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf" in check["fix"], check
    assert "127.0.0.1:" in check["summary"] or "127.0.0.1" in check["summary"], check


@pytest.mark.parametrize("via", [STRAIGHT, FAN_OUT])
def test_the_project_header_is_honoured_straight_and_not_through_the_fan_out(
    via: str, auth_off: Stack, tools: dict[str, str]
) -> None:
    """`x-project-name` picks the project at Phoenix; the Collector does not forward request headers, so through
    it the resource attribute is what names the project (the header's spans land in Phoenix's `default`)."""
    target = auth_off.route(via)
    project = f"header-{via}"
    environ = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": target.http_base,
        "OTEL_EXPORTER_OTLP_HEADERS": f"x-project-name={project}",
    }
    sent = send(Client("python", "http/protobuf"), environ, tools)
    assert sent.export == "ok", sent
    where = project if via == STRAIGHT else "default"
    assert auth_off.landed(where, sent.trace_id) == SPANS, (via, where)
    print(f"HEADER via={via}: {SPANS}/{SPANS} landed in {where}")
