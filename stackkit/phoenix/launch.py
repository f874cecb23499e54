"""How the native runtime starts Phoenix: decide its metrics at the last moment, then become Phoenix.

`python -m stackkit.phoenix.launch PHOENIX_PYTHON metrics|no-metrics [PRICE_JSON]` (STACK_PHOENIX_METRICS)
turns PHOENIX_ENABLE_PROMETHEUS on only when asked to, this process gets the host-wide metrics lock and port
9090 is free, then execs PHOENIX_PYTHON -m phoenix.server.main serve (same PID), or with PRICE_JSON
PHOENIX_PYTHON seeded_serve.py PRICE_JSON, which writes that price into Phoenix's database first. The lock's
descriptor is inherited by Phoenix, so it is held exactly as long as that Phoenix runs: two Phoenixes started
at once never both try 9090 (Phoenix exits when it cannot bind it).
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from stackkit.core import ports
from stackkit.phoenix import metrics as phoenix_metrics
from stackkit.phoenix import versions as phoenix_env


def metrics_lock_path() -> str:
    root = phoenix_env.cache_root().parent
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return str(root / "phoenix-metrics-9090.lock")


def claim_metrics_port() -> tuple[bool, str]:
    """(on, why): on with the lock kept open (inheritable) for the Phoenix this process becomes."""
    descriptor = os.open(metrics_lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return False, "another Phoenix started by stackkit has port 9090"
    if not ports.is_free(phoenix_metrics.METRICS_PORT):
        os.close(descriptor)
        return False, f"port 9090 is held by {ports.holder(phoenix_metrics.METRICS_PORT) or 'another process'}"
    os.set_inheritable(descriptor, True)
    return True, "port 9090 (every interface, not configurable in Phoenix)"


def main(argv: list[str]) -> None:
    python = argv[1]
    environment = dict(os.environ)
    if len(argv) > 2 and argv[2] == "no-metrics":
        on, why = False, "STACK_PHOENIX_METRICS=false (Phoenix would serve them on [::]:9090)"
    else:
        on, why = claim_metrics_port()
    environment["PHOENIX_ENABLE_PROMETHEUS"] = "true" if on else "false"
    print(f"--- stackkit: Phoenix's metrics {'on, ' if on else 'off: '}{why}", flush=True)
    if len(argv) > 3:
        serve = [str(Path(__file__).with_name("seeded_serve.py")), argv[3]]
    else:
        serve = ["-m", "phoenix.server.main", "serve"]
    os.execve(python, [python, *serve], environment)


if __name__ == "__main__":
    main(sys.argv)
