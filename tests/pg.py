"""A throwaway PostgreSQL server for the test session (real server, real SQL).

CI installs the binaries (.ci/run); here we initdb into a temp folder, start it on a free
port and hand out one fresh database per test, cloned from a migrated template.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self):
        self.bin = _bin_dir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL binaries not found (install the postgresql package)")
        self.dir = Path(tempfile.mkdtemp(prefix="crm-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.user = None
        if os.geteuid() == 0:
            # the server refuses to run as root
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
            self.user = "postgres"
            shutil.chown(self.dir, user="postgres")
            os.chmod(self.dir, 0o755)

    def _run(self, *args: str, **kw) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--"] + cmd
        return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)

    def start(self) -> "PostgresServer":
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--encoding=UTF8", "--locale=C.UTF-8")
        for attempt in range(3):  # another process (a pytest-xdist worker's server) may take the port first
            opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            try:
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"),
                          "-w", "-t", "60", "start")
                return self
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise
                self.port = _free_port()
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_connectable(url: str, timeout: float = 30) -> None:
    import psycopg

    deadline = time.time() + timeout
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    while True:
        try:
            psycopg.connect(dsn).close()
            return
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
