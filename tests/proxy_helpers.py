"""Debian's real nginx in front of a real Phoenix, terminating TLS with a private CA the test makes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests
from system import require

from stackkit.core.ports import free_ports


@dataclass(frozen=True)
class Tls:
    ca: Path
    cert: Path
    key: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_tls(folder: Path) -> Tls:
    """A private CA and a server certificate for 127.0.0.1 signed by it."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    key, request, cert = folder / "server.key", folder / "server.csr", folder / "server.pem"
    extensions = folder / "server.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=stackkit-test-ca",
             "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out",
             str(request))  # fmt: skip
    _openssl("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
             "-days", "2", "-extfile", str(extensions), "-out", str(cert))  # fmt: skip
    return Tls(ca, cert, key)


class Nginx:
    """nginx in the foreground on a free loopback port, everything it writes in its own folder."""

    def __init__(self, folder: Path, tls: Tls):
        self.folder, self.tls = folder, tls
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, locations: str, server_extra: str = "", wait_tls: bool = True) -> str:
        self.port = free_ports(1)[0]
        folder = self.folder
        config = folder / "nginx.conf"
        self._write_config(locations, server_extra)
        self.process = subprocess.Popen(
            [require("nginx")["nginx"], "-p", str(folder), "-c", str(config), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while not (folder / "nginx.pid").exists() or not _answers(self.port, self.tls.ca if wait_tls else None):
            if self.process.poll() is not None or time.monotonic() > deadline:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                pytest.fail(f"nginx did not start: {error}")
            time.sleep(0.05)
        return f"https://127.0.0.1:{self.port}"

    def reload(self, locations: str, server_extra: str = "") -> None:
        """A new configuration on the same port (SIGHUP to its PID), as an operator changes a running proxy:
        returns once the workers that serve the old one are gone."""
        master = psutil.Process(int((self.folder / "nginx.pid").read_text().strip()))
        old_workers = {worker.pid for worker in master.children()}
        self._write_config(locations, server_extra)
        master.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while True:
            workers = {worker.pid for worker in master.children()}
            if workers and not workers & old_workers:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"nginx did not reload its configuration: {self.folder / 'error.log'}")
            time.sleep(0.1)

    def _write_config(self, locations: str, server_extra: str) -> None:
        folder = self.folder
        (folder / "nginx.conf").write_text(f"""
user root;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log {folder}/access.log;
  client_body_temp_path {folder}/body;
  proxy_temp_path {folder}/proxy;
  fastcgi_temp_path {folder}/fastcgi;
  uwsgi_temp_path {folder}/uwsgi;
  scgi_temp_path {folder}/scgi;
  server {{
    listen 127.0.0.1:{self.port} ssl;
    ssl_certificate {self.tls.cert};
    ssl_certificate_key {self.tls.key};
    client_max_body_size 16m;
    {server_extra}
    {locations}
  }}
}}
""")

    def stop(self) -> None:
        pid_file = self.folder / "nginx.pid"
        if self.process is None:
            return
        if pid_file.exists():
            os.kill(int(pid_file.read_text().strip()), signal.SIGQUIT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def _answers(port: int, ca: Path | None) -> bool:
    """nginx answers on the port: over TLS verified with `ca`, or (a certificate meant to fail) a TCP connect."""
    try:
        if ca is None:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        else:
            requests.get(f"https://127.0.0.1:{port}/", verify=str(ca), timeout=1)
    except (OSError, requests.RequestException):
        return False
    return True
