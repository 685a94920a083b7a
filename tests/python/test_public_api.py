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
