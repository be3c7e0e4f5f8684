"""Whether a source's host can be reached at all: its name resolves. Offline is a state, not an error: the demo
serves its bundled sample instead, and the schedule leaves a source whose host does not resolve for later rather
than failing a job every tick.

A name lookup can hang for tens of seconds on a machine with no route to its DNS server, so it runs in a thread and
counts as failed after ``timeout`` seconds. Answers are kept for ``ttl`` seconds, so a schedule that asks every
tick looks each name up a few times an hour.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

LOOKUP_TIMEOUT = 3.0
ANSWER_TTL = 300.0

_answers: dict[str, tuple[float, bool]] = {}
_lock = threading.Lock()


def host_of(url: str) -> str:
    return urlsplit(url).hostname or url


def host_resolves(url: str, *, timeout: float = LOOKUP_TIMEOUT, ttl: float = ANSWER_TTL) -> bool:
    """Whether the host of ``url`` resolves (within ``timeout`` seconds); remembered for ``ttl`` seconds."""
    host = host_of(url)
    now = time.monotonic()
    with _lock:
        cached = _answers.get(host)
    if cached is not None and now - cached[0] < ttl:
        return cached[1]
    answer = _resolves(host, timeout)
    with _lock:
        _answers[host] = (now, answer)
    return answer


def _resolves(host: str, timeout: float) -> bool:
    # A daemon thread of its own, not a pool: a pool's threads are joined at exit, and a hung lookup would then
    # hold Ctrl+C up for as long as the resolver takes.
    found: list[bool] = []

    def look_up() -> None:
        try:
            found.append(bool(socket.getaddrinfo(host, None)))
        except OSError:
            found.append(False)

    thread = threading.Thread(target=look_up, name=f"papertide-dns-{host}", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(found and found[0])
