"""health.probe and wait_healthy against a real HTTP server on a free port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stackkit.core.health import probe, wait_healthy
from stackkit.core.ports import free_ports


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_probe_says_ok_only_for_200(server: str) -> None:
    assert probe(f"{server}/healthz").ok
    unhealthy = probe(f"{server}/other")
    assert not unhealthy.ok and unhealthy.detail == "HTTP 503"


def test_nothing_listening_is_connection_refused() -> None:
    [port] = free_ports(1)
    assert probe(f"http://127.0.0.1:{port}/healthz").detail == "connection refused"


def test_wait_healthy_stops_early_for_a_dead_process_and_at_the_timeout(server: str) -> None:
    assert wait_healthy(f"{server}/healthz", timeout=5).ok
    dead = wait_healthy(f"{server}/other", timeout=30, still_running=lambda: False)
    assert not dead.ok and dead.detail == "process exited (HTTP 503)"
    slow = wait_healthy(f"{server}/other", timeout=0.3, interval=0.1)
    assert not slow.ok and slow.detail.startswith("not healthy after 0.3s")
