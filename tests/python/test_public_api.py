"""Every name in python_ext.__all__ resolves, is documented, and import stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import python_ext

API_DOC = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", python_ext.__all__)
def test_public_name_resolves_and_is_documented(name: str) -> None:
    obj = getattr(python_ext, name)
    if name != "__version__":
        assert (obj.__doc__ or "").strip(), f"python_ext.{name} has no docstring"
        assert f"`{name}`" in API_DOC, f"python_ext.{name} is missing from docs/api.md"


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = python_ext.nope


def test_import_does_not_load_heavy_dependencies() -> None:
    code = "import sys, python_ext; print(sorted(m for m in ('faiss', 'torch', 'dbt') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_all_is_the_lazy_table_plus_foundations_and_type_checkers_see_every_name() -> None:
    """``__all__`` lists exactly the lazy names plus the eager foundations, and the
    ``TYPE_CHECKING`` block imports every lazy name from the module the table names."""
    import ast

    source = Path(python_ext.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    checked: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom)
                for alias in stmt.names:
                    checked[alias.name] = stmt.module or ""
    assert checked == python_ext._LAZY
    eager = {"DataRoot", "EmbeddingInfo", "IndexctlError", "__version__", "chunk_id", "chunks_schema"}
    eager |= {"content_hash", "resolve_data_root"}
    assert set(python_ext.__all__) == eager | set(python_ext._LAZY)
    assert len(python_ext.__all__) == len(set(python_ext.__all__))


def test_every_function_a_command_calls_is_public() -> None:
    """Each ``python_ext.*`` function the CLI modules import is exported from ``python_ext``."""
    import ast

    cli = Path(python_ext.__file__).parent / "cli"
    called: set[str] = set()
    for path in cli.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("python_ext."):
                module = node.module or ""
                if module.startswith(
                    ("python_ext.cli", "python_ext.config", "python_ext.errors", "python_ext.atomic")
                ):
                    continue
                called |= {a.name for a in node.names if a.name[0].islower()}
    assert called, "no library calls found under python_ext/cli"
    assert sorted(called - set(python_ext.__all__)) == []
