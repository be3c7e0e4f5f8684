"""The docs tell the truth: every setting is documented, every CLI command and option is in the README, the
deployment files name only real commands, options and settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from papertide.cli import app
from papertide.config import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("document", [".env.sample", "docs/configuration.md"])
def test_every_setting_is_documented(document: str) -> None:
    text = (ROOT / document).read_text()
    missing = [name for name in Settings.model_fields if f"PAPERTIDE_{name.upper()}" not in text]
    assert not missing, f"{document} lacks {missing}"


def _commands(group: Any, prefix: str = "papertide") -> list[tuple[str, Any]]:
    # Typer ships its own copy of click, so walk the command tree by shape rather than by class.
    found: list[tuple[str, Any]] = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if hasattr(command, "commands"):
            found.extend(_commands(command, path))
        else:
            found.append((path, command))
    return found


def test_readme_cli_reference_lists_every_command_and_option() -> None:
    readme = (ROOT / "README.md").read_text()
    reference = readme.split("<!-- cli-reference", 1)[1].split("```", 2)[1]
    commands = _commands(typer.main.get_command(app))
    assert len(commands) >= 8
    for path, command in commands:
        assert re.search(rf"^{re.escape(path)}\b", reference, re.MULTILINE), f"README lacks {path}"
        entry = reference.split(path, 1)[1].split("\npapertide ", 1)[0]
        for parameter in command.params:
            for option in getattr(parameter, "opts", []):
                if option.startswith("--") and option != "--help":
                    assert option in entry, f"README entry for {path} lacks {option}"


def test_env_sample_defaults_match_settings() -> None:
    sample = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.sample").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for name, field in Settings.model_fields.items():
        assert sample[f"PAPERTIDE_{name.upper()}"] == str(field.default), name


def _invocations(root: Path) -> list[tuple[str, list[str]]]:
    """Every papertide command line in the deployment files: compose commands, systemd ExecStart lines, and
    `papertide …` spans in docs/deployment.md."""
    found: list[tuple[str, list[str]]] = []
    compose = yaml.safe_load((root / "deploy" / "compose.yaml").read_text())
    for name, service in compose["services"].items():
        command = service.get("command") or []
        if command[:1] == ["papertide"]:
            found.append((f"compose {name}", command[1:]))
    for unit in sorted((root / "deploy" / "systemd").glob("*.service")):
        for line in re.findall(r"^ExecStart=(.*)$", unit.read_text(), re.MULTILINE):
            for invocation in re.findall(r"bin/papertide ([^'&|]*)", line):
                found.append((unit.name, invocation.split()))
    for span in re.findall(r"`papertide ([^`]+)`", (root / "docs" / "deployment.md").read_text()):
        found.append(("deployment.md", span.split()))
    return found


def test_deployment_files_use_real_commands_and_settings() -> None:
    """deploy/ and docs/deployment.md only name commands, options and settings that exist."""
    commands = dict(_commands(typer.main.get_command(app)))
    invocations = _invocations(ROOT)
    assert len(invocations) >= 10
    for where, words in invocations:
        path = next(
            (f"papertide {' '.join(words[:n])}" for n in (2, 1) if f"papertide {' '.join(words[:n])}" in commands), None
        )
        assert path is not None, f"{where}: papertide {' '.join(words)}"
        options = {
            option
            for parameter in commands[path].params
            for option in [*getattr(parameter, "opts", []), *getattr(parameter, "secondary_opts", [])]
        }
        for word in words:
            option = word.strip("[]").split("=", 1)[0]
            assert not option.startswith("--") or option in options, f"{where}: {path} has no {option}"
    for path in [*sorted((ROOT / "deploy").rglob("*")), ROOT / "docs" / "deployment.md"]:
        if path.is_file():
            for name in re.findall(r"PAPERTIDE_([A-Z_]+)", path.read_text()):
                assert name.lower() in Settings.model_fields, f"{path.name}: PAPERTIDE_{name}"
