"""Docs cannot drift: every command has help text, is in the generated reference and the guide."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from python_ext.cli._reference import (
    REFERENCE_PATH,
    is_group,
    iter_commands,
    render_reference,
    root_context,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _commands() -> list[tuple[str, Any]]:
    root, ctx = root_context()
    return [(path, cmd) for path, cmd, _ in iter_commands(root, ctx) if path != "indexctl"]


COMMANDS = _commands()


def test_there_are_commands() -> None:
    assert len(COMMANDS) >= 5, [p for p, _ in COMMANDS]


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_command_has_help(path: str, cmd: Any) -> None:
    text = (cmd.help or "").strip()
    assert text, f"{path} has no help text"
    assert len(text.splitlines()[0]) <= 100, f"{path}: first help line too long"
    if not is_group(cmd):
        assert "Example" in text, f"{path}: the docstring needs an 'Example:' with a real invocation"


def test_reference_is_up_to_date() -> None:
    committed = REFERENCE_PATH.read_text(encoding="utf-8") if REFERENCE_PATH.exists() else ""
    assert committed == render_reference(), (
        "docs/cli-reference.md is stale: run `python -m python_ext.cli._reference --write`"
    )


@pytest.mark.parametrize("path", [p for p, c in COMMANDS if not is_group(c)])
def test_command_is_in_a_guide(path: str) -> None:
    guides = "\n".join(
        p.read_text(encoding="utf-8") for p in DOCS.glob("*.md") if p.name != "cli-reference.md"
    )
    assert re.search(rf"`{re.escape(path)}[` ]", guides), f"{path} is not shown in any guide under docs/"
