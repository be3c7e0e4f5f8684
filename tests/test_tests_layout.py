"""The test suite's own layout, where a newcomer looks for things: modules named ``test_<subject>_<kind>.py``, and
no test module importing another test module or a conftest (what they share lives in ``tests/helpers/``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
NAME = re.compile(r"test_[a-z0-9]+(_[a-z0-9]+)+\.py")


def _test_modules() -> list[Path]:
    return sorted([*TESTS.glob("test_*.py"), *TESTS.glob("browser/test_*.py")])


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function, as a dotted name (``from a import b`` gives
    ``a`` and ``a.b``, since ``b`` may be a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_test_module_imports_another_test_module_or_a_conftest() -> None:
    offences = {
        path.relative_to(TESTS).as_posix(): sorted(
            name
            for name in _imported_modules(path)
            if name.startswith("tests.") and re.search(r"(^|\.)(test_\w+|conftest)$", name)
        )
        for path in _test_modules()
    }
    assert {path: names for path, names in offences.items() if names} == {}


def test_the_check_sees_an_import_of_a_test_module(tmp_path: Path) -> None:
    """The check above is not vacuous: each form of import it must catch is caught."""
    module = tmp_path / "test_probe_layout.py"
    module.write_text(
        "from tests.test_ingest_cli import run_cli\nimport tests.browser.conftest\n"
        "def f():\n    from tests import test_jobs\n"
    )
    assert {"tests.test_ingest_cli", "tests.browser.conftest", "tests.test_jobs"} <= _imported_modules(module)


def test_test_modules_are_named_subject_then_kind() -> None:
    assert [path.name for path in _test_modules() if not NAME.fullmatch(path.name)] == []
