"""Free ports for tests: parallel pytest processes never draw the same port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from stackkit.core import ports


def _draw(worker: str, count: int) -> list[int]:
    code = f"from stackkit.core.ports import free_ports; print(*free_ports({count}))"
    env = {**os.environ, "PYTEST_XDIST_WORKER": worker}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return [int(port) for port in result.stdout.split()]


def test_each_parallel_worker_draws_from_its_own_slice_below_the_ephemeral_range() -> None:
    drawn = {worker: _draw(worker, 40) for worker in ("gw0", "gw1", "gw2", "gw3")}
    for index, worker in enumerate(drawn):
        first = 20000 + index * 1500
        assert all(first <= port < first + 1500 for port in drawn[worker]), (worker, drawn[worker])
        assert len(set(drawn[worker])) == 40
    every = [port for chosen in drawn.values() for port in chosen]
    assert len(set(every)) == len(every)


def test_a_held_port_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw5")
    monkeypatch.setattr(ports, "_cursor", [0])
    with socket.socket() as held:
        held.bind(("0.0.0.0", 20000 + 5 * 1500))
        held.listen()
        chosen = ports.free_ports(3)
    assert chosen == [20000 + 5 * 1500 + 1, 20000 + 5 * 1500 + 2, 20000 + 5 * 1500 + 3]
