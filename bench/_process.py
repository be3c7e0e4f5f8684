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
