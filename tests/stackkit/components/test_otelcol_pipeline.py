"""The pipeline for real with the upstream Collector between the demo and Phoenix (STACK_COLLECTOR=otelcol, native):
every trace lands, through a 60 s Phoenix outage (with and without a Collector restart in it), with auth on,
through nginx with a private CA, and the metrics leg into a real Prometheus; `invoke verify` names each broken hop.

One stack (auth on, remote-write to the test's Prometheus) serves the module; a second stack (a Collector and a
demo of its own, PHOENIX_EXTERNAL_URL pointing at the first stack's Phoenix) shares the first one's outage, so
both outage scenarios cost one 60 s wait.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from collector_helpers import collector_binary
from isolation import invoke, isolated_environ
from proxy_helpers import Nginx, make_tls
from system import require, unavailable

from stackkit.commands import traffic
from stackkit.components import otelcol
from stackkit.core import secrets
from stackkit.core.health import wait_healthy
from stackkit.core.ports import free_ports
from stackkit.core.settings import Settings, load_settings
from stackkit.phoenix import keys as auth
from stackkit.phoenix.api import PhoenixClient
from stackkit.runtimes.native import NativeRuntime
from stackkit.stack.lifecycle import make_plan

pytestmark = pytest.mark.phoenix

OUTAGE_SECONDS = 60
SPANS_PER_CHAIN = 4  # the demo's chain: at least a root and its steps (smoke.read_back counts the same)


@dataclass
class Prometheus:
    url: str
    process: subprocess.Popen[bytes]

    def query(self, promql: str) -> list[dict]:
        answer = requests.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10).json()
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def wait_for(self, promql: str, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        while not (found := self.query(promql)) and time.monotonic() < deadline:
            time.sleep(0.5)  # a query is cheap: found within half a second of its first scrape
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # by the PID this test started
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """Debian's Prometheus 2.42 on a free port, its own storage, taking remote-write (it scrapes nothing)."""
    binary = require("prometheus")["prometheus"]
    folder = tmp_path_factory.mktemp("prometheus")
    (folder / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\n")
    port = free_ports(1)[0]
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-remote-write-receiver",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "prometheus.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    server = Prometheus(f"http://127.0.0.1:{port}", process)
    try:
        ready = wait_healthy(f"{server.url}/-/ready", 60, lambda: process.poll() is None)
        assert ready.ok, (folder / "prometheus.log").read_text()[-2000:]
        yield server
    finally:
        server.stop()


@dataclass
class Stack:
    environ: dict[str, str]

    @property
    def settings(self) -> Settings:
        return load_settings(environ=self.environ)

    def invoke(self, *args: str) -> subprocess.CompletedProcess[str]:
        return invoke(self.environ, *args)

    def down(self) -> None:
        """Everything this test started stops, by PID, even when a span could not be confirmed written."""
        if self.invoke("down").returncode != 0:
            self.invoke("down", "--force")

    def reader(self) -> PhoenixClient:
        settings = self.settings
        stored = secrets.load(settings)
        token = stored.get("PHOENIX_ADMIN_SECRET") or stored.get("PHOENIX_API_KEY", "")
        return PhoenixClient(settings.phoenix_url, token=token, verify=settings.phoenix_tls_verify)

    def traffic(self, requests_count: int) -> list[str]:
        report = traffic.run_traffic(self.settings.ai_demo_url, requests_count, 2, 2, 0.0, progress=False)
        assert report.failed == 0, [record.error for record in report.records if not record.ok]
        return list(report.trace_ids)

    def missing(self, trace_ids: list[str], timeout: float, project: str = "") -> list[str]:
        """The traces not (fully) in this stack's Phoenix (in `project`, else its own) after up to `timeout`."""
        project = project or self.settings.phoenix_project_name
        by_trace = self.reader().wait_for_traces(project, trace_ids, timeout, min_spans_per_trace=SPANS_PER_CHAIN)
        return [trace_id for trace_id, spans in by_trace.items() if len(spans) < SPANS_PER_CHAIN]

    def verify(self) -> tuple[str, dict[str, dict]]:
        result = self.invoke("verify", "--json")
        checks = {check["id"]: check for check in json.loads(result.stdout)}
        return result.stdout, checks

    def collector_metric(self, name: str, **labels: str) -> float:
        return otelcol.metric_sum(otelcol.metrics(self.settings), name, **labels)


def up(folder: Path, **settings: str) -> Stack:
    environ = isolated_environ(folder, STACK_COLLECTOR="otelcol", **settings)
    stack = Stack(environ)
    started = stack.invoke("up")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "otelcol: healthy" in started.stdout, started.stdout
    assert "alloy: skipped (STACK_COLLECTOR=otelcol)" in started.stdout, started.stdout
    return stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, prometheus: Prometheus) -> Iterator[Stack]:
    collector_binary()
    folder = tmp_path_factory.mktemp("otelcol") / "state"
    running = up(
        folder,
        PHOENIX_ENABLE_AUTH="true",
        PHOENIX_PROJECT_NAME="through-otelcol",
        PROMETHEUS_REMOTE_WRITE_URL=f"{prometheus.url}/api/v1/write",
        STACK_PHOENIX_METRICS="true",  # natively off unless asked: the metrics leg forwards them
    )
    try:
        yield running
    finally:
        running.down()


def test_up_status_logs_and_render_print_show_the_collector(stack: Stack) -> None:
    status = stack.invoke("status")
    rows = {line.split()[0]: line for line in status.stdout.splitlines()[1:] if line.strip()}
    assert "running, pid" in rows["otelcol"] and "healthy" in rows["otelcol"], status.stdout
    assert "skipped" in rows["alloy"], status.stdout
    logs = stack.invoke("logs", "--service", "otelcol", "--tail", "200")
    assert "Everything is ready" in logs.stdout, logs.stdout[-2000:]
    printed = stack.invoke("render", "--print", "otelcol-config")
    assert printed.returncode == 0, printed.stderr
    assert f"{otelcol.EXPORTER_ID}:" in printed.stdout and "PHOENIX_API_KEY=<an ingestion key" in printed.stdout


def test_every_trace_lands_through_the_collector_with_the_key_and_verify_passes(stack: Stack) -> None:
    trace_ids = stack.traffic(10)
    assert not stack.missing(trace_ids, timeout=60)
    # Auth is on: Phoenix takes spans only with the key, which the Collector alone holds.
    assert stack.collector_metric("otelcol_exporter_sent_spans", exporter=otelcol.EXPORTER_ID) >= 10
    assert "PHOENIX_API_KEY" not in stack.invoke("logs", "--service", "otelcol").stdout
    output, checks = stack.verify()
    print(output)
    for check_id in ("otelcol.config", "otelcol.ready", "otelcol.errors", "otelcol.queue", "phoenix.auth"):
        assert checks[check_id]["status"] == "pass", checks[check_id]
    assert checks["pipeline.canary"]["status"] == "pass", checks["pipeline.canary"]
    assert "the fan-out (otelcol)'s OTLP/HTTP receiver, where the apps send" in checks["pipeline.canary"]["summary"]
    assert checks["alloy.ready"]["status"] == "skip"


def test_a_60s_phoenix_outage_loses_nothing_even_with_the_collector_restarted_in_it(
    stack: Stack, tmp_path: Path
) -> None:
    stored = secrets.load(stack.settings)
    # A second Collector and demo on the same Phoenix: the restart scenario shares this outage.
    other = up(
        tmp_path / "state",
        PHOENIX_EXTERNAL_URL=stack.settings.phoenix_url,
        PHOENIX_API_KEY=stored["PHOENIX_API_KEY"],
        PHOENIX_PROJECT_NAME="through-otelcol-restarted",
    )
    try:
        before = {"kept": stack.traffic(3), "restarted": other.traffic(3)}
        other_project = other.settings.phoenix_project_name
        assert not stack.missing(before["kept"], 60)
        assert not stack.missing(before["restarted"], 60, project=other_project)
        runtime = NativeRuntime(stack.settings)
        phoenix_pid = runtime.pid("phoenix")
        assert runtime.stop("phoenix"), "Phoenix was not stopped"  # SIGTERM to its PID
        down_at = time.monotonic()
        during: dict[str, list[str]] = {"kept": [], "restarted": []}
        queued_peak = 0.0
        restarted = False
        while time.monotonic() - down_at < OUTAGE_SECONDS:
            during["kept"] += stack.traffic(3)
            during["restarted"] += other.traffic(3)
            queued_peak = max(
                queued_peak, stack.collector_metric("otelcol_exporter_queue_size", exporter=otelcol.EXPORTER_ID)
            )
            if not restarted and time.monotonic() - down_at > OUTAGE_SECONDS / 2:
                result = other.invoke("restart", "--service", "otelcol")
                assert result.returncode == 0, result.stdout + result.stderr
                restarted = True
            time.sleep(5)
        assert restarted
        print(f"Phoenix (pid {phoenix_pid}) down {time.monotonic() - down_at:.0f}s; queue peak {queued_peak:.0f} bytes")
        assert queued_peak > 0, "nothing was queued while Phoenix was down"
        runtime.start("phoenix", make_plan(runtime))
        health = wait_healthy(f"{stack.settings.phoenix_url}/healthz", 120, lambda: runtime.state("phoenix").running)
        assert health.ok, "\n".join(runtime.logs("phoenix", tail=30))
        results = {}
        for name, project in (("kept", ""), ("restarted", other_project)):
            sent = before[name] + during[name]
            lost = stack.missing(sent, timeout=120, project=project)
            results[name] = (len(sent), len(sent) - len(lost))
        print(f"traces sent/landed: Collector kept running {results['kept']}, restarted in the outage "
              f"{results['restarted']}")  # fmt: skip
        assert results["kept"][0] == results["kept"][1]
        assert results["restarted"][0] == results["restarted"][1]
    finally:
        other.down()


def test_the_demo_and_phoenix_metrics_reach_prometheus(stack: Stack, prometheus: Prometheus) -> None:
    stack.traffic(3)
    demo = prometheus.wait_for('{__name__=~"ai_demo_requests.*"}', timeout=90)
    assert demo, "the demo's request counter never reached Prometheus"
    _, checks = stack.verify()
    assert checks["pipeline.metrics"]["status"] == "pass", checks["pipeline.metrics"]
    config = stack.settings.rendered_dir / otelcol.STACK_DIR / otelcol.CONFIG_NAME
    if "prometheus/phoenix" not in config.read_text():
        # Port 9090 was held by another Phoenix when the stack started (a shared machine): nothing to forward.
        unavailable(f"Phoenix's metrics were off when the Collector's config was rendered ({config})")
    found = prometheus.wait_for('{__name__=~"phoenix_span_queue_size|database_disk_usage_bytes"}', timeout=90)
    assert found, "Phoenix's own metrics never reached Prometheus"


def test_behind_nginx_with_a_private_ca_traces_land_and_a_413_is_named(
    stack: Stack, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    require("nginx")
    tls = make_tls(tmp_path_factory.mktemp("tls"))
    (tmp_path / "nginx").mkdir()
    proxy = Nginx(tmp_path / "nginx", tls)

    def to_phoenix(extra: str = "") -> str:
        return f"""location / {{
      {extra}
      proxy_pass http://127.0.0.1:{stack.settings.phoenix_ui_port};
      proxy_http_version 1.1;
    }}"""

    url = proxy.start(to_phoenix())
    stored = secrets.load(stack.settings)
    try:
        behind = up(
            tmp_path / "state",
            PHOENIX_EXTERNAL_URL=url,
            PHOENIX_CA_BUNDLE=str(tls.ca),
            PHOENIX_API_KEY=stored["PHOENIX_API_KEY"],
            PHOENIX_PROJECT_NAME="through-otelcol-nginx",
        )
        try:
            trace_ids = behind.traffic(5)
            assert not stack.missing(trace_ids, timeout=60, project=behind.settings.phoenix_project_name)
            assert '"POST /v1/traces HTTP/1.1" 200' in (proxy.folder / "access.log").read_text()
            # An operator lowers the body limit below a batch: nginx answers 413, the Collector drops the batch.
            proxy.reload(to_phoenix("client_max_body_size 100;"))
            output, checks = behind.verify()
            print(output)
            canary = checks["pipeline.canary"]
            assert canary["status"] == "fail", canary
            assert "the Collector -> Phoenix hop" in canary["summary"] and "HTTP 413" in canary["summary"], canary
            assert "client_max_body_size" in canary["summary"], canary
            # otelcol.errors ran before the canary was dropped; on the next verify it names the 413 too.
            assert "HTTP Status Code 413" in behind.invoke("logs", "--service", "otelcol", "--tail", "50").stdout
        finally:
            behind.down()
    finally:
        proxy.stop()


def test_a_revoked_key_is_named_401_at_the_collector_to_phoenix_hop(stack: Stack) -> None:
    settings = stack.settings
    stored = secrets.load(settings)
    auth.revoke(settings, stored, stored["PHOENIX_API_KEY_ID"])
    output, checks = stack.verify()
    print(output)
    assert checks["phoenix.auth"]["status"] == "fail" and "401" in checks["phoenix.auth"]["summary"]
    canary = checks["pipeline.canary"]
    assert canary["status"] == "fail", canary
    assert "the Collector -> Phoenix hop" in canary["summary"] and "HTTP 401" in canary["summary"], canary


def test_a_stopped_prometheus_is_named_at_the_collector_to_prometheus_hop(stack: Stack, prometheus: Prometheus) -> None:
    prometheus.stop()
    _, checks = stack.verify()
    metrics = checks["pipeline.metrics"]
    assert metrics["status"] == "fail", metrics
    assert "the Collector -> Prometheus hop" in metrics["summary"], metrics
    assert "PROMETHEUS_REMOTE_WRITE_URL" in metrics["summary"]
