"""What the benchmark scripts read of a running process (Linux /proc), with the standard library only, so that
bench/footprint.py runs in a bare install without the tests' dependencies."""

from __future__ import annotations

import re
from pathlib import Path


def high_water_kb(pid: int) -> int:
    """VmHWM, the peak resident set of the process's own memory (ru_maxrss would count the parent's pre-exec)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) if match else 0


def children(pid: int) -> list[int]:
    """The process's children now (those of every thread: Linux lists a child under the thread that started it)."""
    found: list[int] = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in listing.read_text().split()]
        except OSError:  # the thread ended meanwhile
            continue
    return found
