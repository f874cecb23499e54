"""Health is checked from the host over HTTP: Phoenix's image has no shell or curl, Alloy's has no curl."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class Probe:
    url: str
    ok: bool
    detail: str  # "200 OK", "connection refused", ...


def probe(url: str, timeout: float = 2.0, verify: str | bool = True) -> Probe:
    """GET url; `verify` is a CA bundle path for a private CA behind https."""
    try:
        response = requests.get(url, timeout=timeout, verify=verify)
    except requests.exceptions.SSLError:
        return Probe(url, False, "TLS handshake failed (see `invoke verify`)")
    except requests.ConnectionError:
        return Probe(url, False, "connection refused")
    except requests.Timeout:
        return Probe(url, False, f"no answer within {timeout:g}s")
    except requests.RequestException as error:
        return Probe(url, False, type(error).__name__)
    return Probe(url, response.status_code == 200, f"HTTP {response.status_code}")


def wait_healthy(
    url: str, timeout: float, still_running: Callable[[], bool] = lambda: True, interval: float = 0.1
) -> Probe:
    """Poll until 200, the timeout, or the process dying (no point waiting for a corpse)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe(url)
        if result.ok:
            return result
        if not still_running():
            return Probe(url, False, f"process exited ({result.detail})")
        if time.monotonic() >= deadline:
            return Probe(url, False, f"not healthy after {timeout:g}s ({result.detail})")
        time.sleep(interval)
