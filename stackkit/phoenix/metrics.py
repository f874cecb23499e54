"""Phoenix's own Prometheus metrics: when the stack turns them on, and reading them back.

Phoenix serves them on port 9090 of every interface when PHOENIX_ENABLE_PROMETHEUS=true; the port cannot
be changed. In a container that is harmless (the port is not published; Alloy scrapes phoenix:9090 on the
compose network). Natively it is a port on the host, open to the network: off unless STACK_PHOENIX_METRICS
is on, and then the stack turns metrics on only when 9090 is free,
and reads them only when the process holding 9090 is the Phoenix it started (never someone else's
server). So only one natively run Phoenix with metrics can run on a host at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psutil

from stackkit.core import ports
from stackkit.core.setting_values import PHOENIX_NAME
from stackkit.core.settings import Settings

METRICS_PORT = 9090
# Phoenix's compose project and service (stackkit.components.phoenix declares them from these).
PHOENIX_COMPOSE_PROJECT = "arize-phoenix"
PHOENIX_COMPOSE_SERVICE = PHOENIX_NAME
# What the ingest and storage checks read (names as Phoenix 20.x exports them).
SPAN_QUEUE_SIZE = "phoenix_span_queue_size"
SPAN_QUEUE_REJECTIONS = "phoenix_span_queue_rejections_total"
FAILED_SPANS = "phoenix_span_ingestion_failed_spans_total"
DISK_USAGE_RATIO = "database_disk_usage_ratio"
INSERTIONS_BLOCKED = "database_insertions_blocked"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def _phoenix_pid(settings: Settings) -> int | None:
    try:
        pid = int((settings.run_dir / "phoenix.pid").read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    return pid if psutil.pid_exists(pid) else None


def _port_holder_pids() -> set[int]:
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return set()
    return {
        connection.pid
        for connection in connections
        if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == METRICS_PORT
        if connection.pid
    }


def held_by_our_phoenix(settings: Settings) -> bool:
    pid = _phoenix_pid(settings)
    if pid is None:
        return False
    try:
        family = {pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))}
    except psutil.Error:
        return False
    return bool(family & _port_holder_pids())


def enabled(settings: Settings, runtime: str) -> bool:
    """Whether Phoenix is started with its metrics on: always in a container; natively when 9090 is free
    (or already held by the Phoenix this stack runs, when its files are rendered again while it runs)."""
    if runtime == "docker":
        return True
    if not settings.stack_phoenix_metrics:
        return False
    return ports.is_free(METRICS_PORT) or held_by_our_phoenix(settings)


def why_off(settings: Settings) -> str:
    if not settings.stack_phoenix_metrics:
        return (
            "Phoenix's metrics are off (STACK_PHOENIX_METRICS=false; natively Phoenix serves them on port "
            f"{METRICS_PORT} of every interface): set STACK_PHOENIX_METRICS=true and `invoke up` to turn them on"
        )
    held_by = ports.holder(METRICS_PORT) or "another process"
    return (
        f"Phoenix's metrics are off: port {METRICS_PORT} (hard-coded by Phoenix, every interface) is held by {held_by}"
    )


@dataclass(frozen=True)
class Metrics:
    samples: dict[str, float]  # summed over labels

    def get(self, name: str) -> float | None:
        return self.samples.get(name)


def parse(text: str) -> Metrics:
    samples: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match or line.startswith("#"):
            continue
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        samples[match.group(1)] = samples.get(match.group(1), 0.0) + value
    return Metrics(samples)


def _scrape_container(settings: Settings) -> Metrics | str:
    """The port is not published: ask from inside the container (the image has python, no curl)."""
    code = f"import urllib.request as u;print(u.urlopen('http://127.0.0.1:{METRICS_PORT}/metrics').read().decode())"
    labels = [
        f"com.docker.compose.project={PHOENIX_COMPOSE_PROJECT}",
        f"com.docker.compose.service={PHOENIX_COMPOSE_SERVICE}",
    ]
    # Imported here, like requests below: stackkit.phoenix.launch imports this module just before Phoenix starts,
    # and the Docker SDK costs ~0.9 s of it.
    from stackkit.docker import images

    try:
        client = images.docker_client(timeout=30)
        try:
            found = client.containers.list(filters={"label": labels})
            if not found:
                return "Phoenix's container is not running"
            exit_code, output = found[0].exec_run(["python3", "-c", code])
        finally:
            client.close()
    except Exception as error:  # the engine's errors come in many types; one line is enough
        return f"could not read Phoenix's metrics in its container ({str(error)[:150]})"
    text = output.decode(errors="replace")
    if exit_code != 0:
        return f"could not read Phoenix's metrics in its container ({text.strip()[-200:]})"
    return parse(text)


def scrape(settings: Settings, runtime: str) -> Metrics | str:
    """Phoenix's metrics, or why they cannot be read."""
    if runtime == "docker":
        return _scrape_container(settings)
    if not held_by_our_phoenix(settings):
        if not settings.stack_phoenix_metrics:
            return why_off(settings)
        return why_off(settings) + " (it was when Phoenix started: `invoke restart --service phoenix` once it is free)"
    # Imported here: stackkit.phoenix_launch imports this module just before Phoenix starts (0.3-0.7 s saved).
    import requests

    try:
        response = requests.get(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=5)
    except requests.RequestException as error:
        return f"Phoenix's metrics did not answer on 127.0.0.1:{METRICS_PORT} ({str(error)[:150]})"
    if response.status_code != 200:
        return f"Phoenix's metrics answered HTTP {response.status_code} on 127.0.0.1:{METRICS_PORT}"
    return parse(response.text)
