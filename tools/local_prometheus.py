"""A throwaway Prometheus for tests: Debian's `prometheus` on a free loopback port, its own storage in a
temporary folder, the scrape jobs and rules `invoke render --print` gives a user, and short intervals so
alerts move in seconds. Stopped by its PID."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from stackkit.core.errors import OperationFailed
from stackkit.core.ports import free_ports
from tools import system_packages


class PrometheusUnavailable(OperationFailed):
    """No prometheus binary here; the message says what to install."""


def prometheus_binary() -> str:
    (program,) = system_packages.programs_named(["prometheus"])
    found = program.locate()
    if not found:
        raise PrometheusUnavailable(f"needs {system_packages.describe([program])}")
    return found


@dataclass
class PrometheusServer:
    process: subprocess.Popen[bytes]
    url: str
    folder: Path
    scrape_interval: float
    evaluation_interval: float

    @property
    def remote_write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    @property
    def log_file(self) -> Path:
        return self.folder / "prometheus.log"

    def api(self, path: str, **params: str) -> Any:
        """The `data` of a /api/v1 answer; OperationFailed with Prometheus's error otherwise."""
        response = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=30)
        body = response.json()
        if body.get("status") != "success":
            raise OperationFailed(f"Prometheus /api/v1/{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=expr)["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = self.api("alerts")["alerts"]
        return alerts

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_prometheus(
    folder: Path,
    scrape_configs: list[dict[str, Any]],
    rules: str,
    scrape_interval: float = 2,
    evaluation_interval: float = 1,
    timeout: float = 60,
    remote_write_receiver: bool = False,
) -> PrometheusServer:
    """Prometheus with `rules` (a rules file's text) loaded, scraping `scrape_configs`, ready to answer;
    with `remote_write_receiver`, also taking samples at <url>/api/v1/write (what a fan-out remote-writes)."""
    binary = prometheus_binary()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yml").write_text(rules)
    config = {
        "global": {
            "scrape_interval": f"{scrape_interval:g}s",
            "scrape_timeout": f"{scrape_interval:g}s",
            "evaluation_interval": f"{evaluation_interval:g}s",
        },
        "rule_files": [str(folder / "rules.yml")],
        "scrape_configs": scrape_configs,
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (port,) = free_ports(1)
    with (folder / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                *(["--web.enable-remote-write-receiver"] if remote_write_receiver else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
    server = PrometheusServer(process, f"http://127.0.0.1:{port}", folder, scrape_interval, evaluation_interval)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise OperationFailed(f"prometheus exited ({process.returncode}):\n{server.log_file.read_text()[-2000:]}")
        try:
            if requests.get(f"{server.url}/-/ready", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.3)
    server.stop()
    raise OperationFailed(f"prometheus was not ready in {timeout:g}s:\n{server.log_file.read_text()[-2000:]}")
