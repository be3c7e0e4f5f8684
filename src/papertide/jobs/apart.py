"""The embedded worker's jobs in a child process: a web process of ``papertide serve`` schedules work and keeps its
indexes, and while jobs are runnable it starts ``python -m papertide.jobs.apart``, which runs them until none is
left and ends. A model job (embedding, keyphrases and gists, topics) holds the encoder and its activations, 200 MB
and more (bench/RESULTS.md); in a child that memory leaves with it, and the web process's stays that of serving.
``PAPERTIDE_JOBS_APART=false`` runs the jobs in a thread of the web process instead (one process, a model loaded
once, the memory held).

The child is handed the web process's settings, pickled on its standard input (secrets included, so never on its
command line or in its environment). It lives in a session of its own: a terminal's Ctrl+C reaches the server,
which stops it with SIGTERM, and the child leaves off after its task's current batch, handing its job back to the
queue at once.
"""

from __future__ import annotations

import logging
import pickle
import signal
import subprocess
import sys
import threading
from types import FrameType

from papertide.config import Settings
from papertide.db import Database, connect
from papertide.jobs.queue import has_runnable
from papertide.jobs.worker import Worker, leave
from papertide.search.semantic import open_semantic

log = logging.getLogger(__name__)


def run_apart(
    database: Database, settings: Settings, stop: threading.Event, poll: float, stop_seconds: float
) -> int | None:
    """When a job is runnable, run the queue in a child process until it is empty or ``stop`` is set (then the
    child gets SIGTERM and ``stop_seconds`` to leave off); the child's exit code, None when nothing was runnable
    or the child outlasted the wait (it ends on its own after its batch)."""
    if not has_runnable(database):
        return None
    child = subprocess.Popen(
        [sys.executable, "-m", "papertide.jobs.apart"], stdin=subprocess.PIPE, start_new_session=True
    )
    assert child.stdin is not None
    with child.stdin:
        child.stdin.write(pickle.dumps(settings))
    while child.poll() is None:
        if stop.wait(poll):
            child.send_signal(signal.SIGTERM)
            try:
                return child.wait(timeout=stop_seconds)
            except subprocess.TimeoutExpired:
                log.warning("the jobs' process %d is still leaving off its batch; it ends on its own", child.pid)
                return None
    if child.returncode != 0:  # its own log says why; a job it held goes back to the queue when its lease lapses
        log.warning("the jobs' process %d ended with code %d", child.pid, child.returncode)
    return child.returncode


def main() -> int:
    """The child: run the queue until it is empty or SIGTERM asks it to stop; 0."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    settings = pickle.load(sys.stdin.buffer)
    database = connect(settings)
    semantic = open_semantic(settings)
    try:
        Worker(database, settings, semantic, stopping).run_until_empty(stopping)
    finally:
        if semantic is not None:
            semantic.close()
        database.dispose()
    return 0


if __name__ == "__main__":
    leave(main())  # without the interpreter's teardown, as ``papertide worker`` ends
