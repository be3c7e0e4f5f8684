"""Every benchmark script under bench/ still imports: they reuse the tests' helpers (a PostgreSQL cluster, a free
port, a snapshot subset) and papertide's internals, so a helper moved or a function renamed breaks here, under CI,
rather than in the next person's benchmark run (tests.pg moved to tests/helpers/ once and six scripts broke)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

SCRIPTS = sorted(path.stem for path in (Path(__file__).resolve().parents[1] / "bench").glob("*.py"))


def test_there_are_scripts_to_check() -> None:
    assert len(SCRIPTS) > 20 and "search_quality" in SCRIPTS


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_benchmark_script_imports(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert callable(getattr(module, "main", None)), f"bench/{name}.py has no main()"
