"""The worker: claims jobs from the queue and runs their tasks, renewing its claim while a task runs.

``papertide worker`` runs it in the foreground (with the schedule, see ``jobs/scheduler.py``); in the embedded
mode ``papertide serve`` runs the same loop in a child process of each web process (``jobs/apart.py``), or in a
thread of it. ``leave`` ends a process that ran it. Any number of workers may share one
database: the queue hands each job to one of them, and a dead worker's job passes to another once its lease lapses.
A task that returns :class:`~papertide.jobs.tasks.Continued` gets its rest queued as a follow-up job, once per job
however often the job runs (the follow-up's dedupe key names the job it continues).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from papertide.config import Settings
from papertide.db import Database
from papertide.jobs import queue
from papertide.jobs.payloads import TaskArgumentError
from papertide.jobs.tasks import TASKS, Continued, JobContext, RetryLater
from papertide.search.semantic import Semantic
from papertide.services.leases import acquire_lease, release_lease
from papertide.sources.http import SourceOffline

log = logging.getLogger(__name__)
OFFLINE_RETRY_SECONDS = 300.0


def leave(code: int) -> None:
    """End the process now with ``code``, after flushing what it printed and logged, without the interpreter's
    teardown: a background thread still inside ONNX Runtime (a model loading) would make that teardown abort in
    C++ ("terminate called without an active exception"), and it costs a second more. Only for the end of a
    command whose own cleanup already ran: what it committed is stored, and what a background job was doing
    resumes at the next start."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@dataclass
class WorkerStats:
    done: int = 0
    failed: int = 0
    postponed: int = 0

    def summary(self) -> str:
        return f"{self.done} jobs done, {self.failed} failed, {self.postponed} postponed"


class Worker:
    """Runs jobs; ``stopping`` (set by whoever stops it) makes a long task leave off at its next batch."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        semantic: Semantic | None,
        stopping: threading.Event | None = None,
    ) -> None:
        self.context = JobContext(database, settings, semantic, stopping or threading.Event())
        self.database = database
        self.lease_seconds = settings.jobs_lease_seconds
        self.name = worker_name()
        self.stats = WorkerStats()
        self._in_hand: tuple[queue.ClaimedJob, str | None] | None = None  # the running job and its exclusive lease

    def run_one(self) -> bool:
        """Claim and run one job; False when nothing was runnable."""
        job = queue.claim(self.database, self.name, self.lease_seconds)
        if job is None:
            return False
        if queue.give_up_on_crashers(self.database, job, self.name):
            log.error("job %d (%s) abandoned: its worker died during every attempt", job.id, job.task)
            self.stats.failed += 1
            return True
        task = TASKS.get(job.task)
        if task is None:
            queue.fail(self.database, job, self.name, f"unknown task {job.task!r}; is this worker out of date?", 60)
            self.stats.failed += 1
            return True
        if task.exclusive and not acquire_lease(self.database, task.exclusive, self.name, self.lease_seconds):
            queue.postpone(self.database, job, self.name, min(30.0, self.lease_seconds))
            self.stats.postponed += 1
            return True
        self._in_hand = (job, task.exclusive)
        try:
            self._run(job, task.exclusive)
        finally:
            self._in_hand = None
            if task.exclusive:
                release_lease(self.database, task.exclusive, self.name)
        return True

    def hand_back(self) -> None:
        """Give the job in hand (and its exclusive lease) back at once, for a process leaving while its task still
        runs (a model loading, a slow answer): the next start takes it up without waiting for the leases to lapse.
        The task's own end, if it comes, finds the job no longer held and changes nothing."""
        in_hand = self._in_hand
        if in_hand is None:
            return
        job, exclusive = in_hand
        queue.postpone(self.database, job, self.name, 0)
        if exclusive:
            release_lease(self.database, exclusive, self.name)

    def _run(self, job: queue.ClaimedJob, exclusive: str | None) -> None:
        started = time.monotonic()
        try:
            with self._heartbeat(job.id, exclusive):
                outcome = TASKS[job.task].run(self.context, job.payload)
        except RetryLater as later:
            queue.postpone(self.database, job, self.name, later.seconds)
            self.stats.postponed += 1
            log.info("job %d (%s) postponed %.0f s: %s", job.id, job.task, later.seconds, later)
        except SourceOffline as offline:
            # Not the job's fault and not worth an attempt: it waits for the network like the schedule does.
            queue.postpone(self.database, job, self.name, OFFLINE_RETRY_SECONDS)
            self.stats.postponed += 1
            log.info("job %d (%s) waits %.0f s for the network: %s", job.id, job.task, OFFLINE_RETRY_SECONDS, offline)
        except TaskArgumentError as error:
            queue.fail(self.database, job, self.name, f"bad arguments: {error}", 0, final=True)
            self.stats.failed += 1
            log.error("job %d (%s) failed: bad arguments: %s", job.id, job.task, error)
        except Exception as error:  # any task failure is recorded on the job and retried by the queue
            status = queue.fail(
                self.database, job, self.name, _describe(error), self.context.settings.jobs_retry_backoff
            )
            self.stats.failed += status == "failed"
            log.warning("job %d (%s) attempt %d failed (%s): %s", job.id, job.task, job.attempts, status, error)
        except BaseException:
            # Ctrl+C in a foreground run (`papertide worker --burst`): the job goes back to the queue at once, not
            # after its lease, and not counted as an attempt; then the interruption goes on up.
            queue.postpone(self.database, job, self.name, 0)
            raise
        else:
            summary = self._follow_up(job, outcome) if isinstance(outcome, Continued) else outcome
            if queue.complete(self.database, job.id, self.name):
                self.stats.done += 1
                log.info("job %d (%s) done in %.1f s: %s", job.id, job.task, time.monotonic() - started, summary)
            else:
                log.warning("job %d (%s) finished after its lease passed to another worker", job.id, job.task)

    def _follow_up(self, job: queue.ClaimedJob, continued: Continued) -> str:
        # Queued before the job completes, keyed by the job: a rerun of it (its worker died in between, or its
        # lease passed on) finds the follow-up there and adds none.
        key = f"{job.task}:after:{job.id}"
        queue.enqueue(self.database, job.task, continued.payload, dedupe_key=key)
        return f"{continued.summary}; the rest is queued"

    @contextmanager
    def _heartbeat(self, job_id: int, exclusive: str | None) -> Iterator[None]:
        """Renew the job's lease (and its exclusive lease) every third of its length while the task runs."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.lease_seconds / 3):
                try:
                    queue.renew(self.database, job_id, self.name, self.lease_seconds)
                    if exclusive:
                        acquire_lease(self.database, exclusive, self.name, self.lease_seconds)
                except Exception:  # a missed beat only risks a second run, which tasks tolerate
                    log.exception("could not renew the lease of job %d", job_id)

        thread = threading.Thread(target=beat, name=f"papertide-heartbeat-{job_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def run_until_empty(self, stop: threading.Event | None = None) -> int:
        """Run jobs until none is runnable (or ``stop`` is set); the number run."""
        count = 0
        while (stop is None or not stop.is_set()) and self.run_one():
            count += 1
        return count


def _describe(error: Exception) -> str:
    return "".join(traceback.format_exception_only(error)).strip() + "\n" + traceback.format_exc(limit=8)
