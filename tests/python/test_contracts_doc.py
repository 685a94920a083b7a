"""docs/contracts.md states every contract column with its Arrow type, as python_ext.contracts does."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

from python_ext import contracts

DOC = (Path(__file__).resolve().parents[2] / "docs" / "contracts.md").read_text(encoding="utf-8")

SCHEMAS: dict[str, pa.Schema] = {"chunks": contracts.chunks_schema(384, optional=True), **contracts.CONTRACTS}
HEADINGS = {name: name.replace("eval_", "eval ") for name in SCHEMAS}


def _section(heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)} \{{#[^}}]+\}}$(.*?)(?=^## |\Z)", DOC, re.M | re.S)
    assert match, f"docs/contracts.md has no section '## {heading}'"
    return match.group(1)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_column_is_documented_with_its_type(name: str) -> None:
    section = _section(HEADINGS[name])
    rows = dict(re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|", section, re.M))
    schema = SCHEMAS[name]
    assert list(rows) == schema.names, f"{name}: documented columns differ from contracts.py"
    for field in schema:
        assert rows[field.name] == str(field.type), f"{name}.{field.name}: type differs"
