"""A throwaway PostgreSQL for tests and benchmarks: initdb and pg_ctl in a temporary folder, on a free loopback port.

initdb and postgres refuse to run as root. Run as root (CI on a fresh machine), the server runs as the
`postgres` user that the distribution's package creates; where there is none, as `nobody`; where neither
exists, a `postgres` system user is created (idempotently, with useradd). Its folder is made with
tempfile.mkdtemp under /tmp, not pytest's tmp_path: pytest's root-owned tree is mode 0700, which that user
could not enter.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackkit.core.errors import OperationFailed
from stackkit.core.ports import free_ports
from stackkit.phoenix.database import connect, pg_tool

SUPERUSER = "stackkit"


class PostgresUnavailable(OperationFailed):
    """No PostgreSQL server binaries here; the message says what to install."""


def _server_account() -> pwd.struct_passwd | None:
    """None: run as ourselves. As root: an unprivileged account to run initdb and the server as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"], check=True)
    return pwd.getpwnam("postgres")


@dataclass
class PostgresServer:
    base: Path  # holds data/, the log, and the Unix socket
    port: int
    password: str
    account: pwd.struct_passwd | None
    pg_ctl: str

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def log_file(self) -> Path:
        return self.base / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        name = name or f"phoenix_{uuid.uuid4().hex[:12]}"
        connection: Any = connect(self.url())
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.url(name)

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            stop = [self.pg_ctl, "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]
            _run_as(self.account, stop, self.base)
        shutil.rmtree(self.base, ignore_errors=True)


def _run_as(account: pwd.struct_passwd | None, command: list[str], cwd: Path) -> None:
    ids: dict[str, Any] = {}
    if account is not None:
        ids = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    result = subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False, **ids
    )
    if result.returncode != 0:
        output = result.stdout + result.stderr
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{output}")


def start_postgres() -> PostgresServer:
    initdb, pg_ctl = pg_tool("initdb"), pg_tool("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin: "
            "apt-get install postgresql"
        )
    account = _server_account()
    base = Path(tempfile.mkdtemp(prefix="stackkit-pg-"))
    if account is not None:
        os.chown(base, account.pw_uid, account.pw_gid)
    server = PostgresServer(base, free_ports(1)[0], secrets.token_hex(16), account, pg_ctl)
    password_file = base / "password"
    password_file.write_text(server.password + "\n")
    if account is not None:
        os.chown(password_file, account.pw_uid, account.pw_gid)
    try:
        # A password and scram on TCP, as a real deployment has: the tests check it is never printed.
        _run_as(
            account,
            [
                initdb,
                "-D",
                str(server.data_dir),
                f"--username={SUPERUSER}",
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
            base,
        )
        password_file.unlink()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={server.port} -c unix_socket_directories={base} "
            # A test server: durability against power loss is not what is tested, speed is welcome.
            "-c fsync=off -c full_page_writes=off"
        )
        start = [pg_ctl, "-D", str(server.data_dir), "-l", str(server.log_file), "-o", options, "-w", "start"]
        _run_as(account, start, base)
    except BaseException:
        log = server.log_file.read_text() if server.log_file.exists() else ""
        server.stop()
        if log:
            raise RuntimeError(f"PostgreSQL did not start; its log:\n{log}") from None
        raise
    return server
