"""Tell which format a local file is in, so ``papertide demo --from`` can take any mix of files."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from papertide.sources.snapshot import open_lines

FileFormat = Literal["snapshot", "daily", "unknown"]
_PEEK_CHARS = 4096


def sniff_format(path: Path) -> FileFormat:
    """A Daily Papers export is one JSON array; a snapshot is one JSON object per line (either may be gzipped)."""
    try:
        with open_lines(path) as lines:
            head = lines.read(_PEEK_CHARS).lstrip()
    except (OSError, EOFError, UnicodeDecodeError):
        return "unknown"
    if head.startswith("["):
        return "daily"
    if head.startswith("{") and '"id"' in head.split("\n", 1)[0]:
        return "snapshot"
    return "unknown"
