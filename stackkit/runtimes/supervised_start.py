"""What supervisord runs for each native component: load its rendered environment, record the start, then become it.

`python -m stackkit.runtimes.supervised_start --name N --env-file F --pid-file P -- command...`

The environment comes from the component's rendered env file (0600), read at each start, so no secret is
written into the supervisord configuration. The process execs the component: supervisord's PID for it is the
component's own PID, and the PID file (PID and creation stamp, as `stackkit.core.processes` writes them) stays right
across the exec.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from stackkit.core import envfile
from stackkit.core.processes import write_pid_file


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="stackkit.runtimes.supervised_start")
    parser.add_argument("--name", required=True)
    parser.add_argument("--env-file", type=Path, required=True)
    parser.add_argument("--pid-file", type=Path, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given after --")
    os.environ.update(envfile.read(args.env_file))
    pid = os.getpid()
    now = time.time()
    # Written whole then renamed (as ManagedProcess does): a task reading it meanwhile never finds it empty.
    write_pid_file(args.pid_file, pid)
    shown = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
    print(f"--- stackkit: starting {args.name} at {shown} (pid {pid}, under supervisord)", flush=True)
    try:
        os.execvp(command[0], command)
    except OSError as error:
        print(f"stackkit: cannot run {command[0]}: {error}", file=sys.stderr, flush=True)
        sys.exit(127)


if __name__ == "__main__":
    main()
