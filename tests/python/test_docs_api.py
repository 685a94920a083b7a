"""Every Python example in docs/api.md runs, in order, from a fresh folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
API_DOC = ROOT / "docs" / "api.md"
BLOCKS = re.findall(r"```python\n(.*?)```", API_DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.slow
def test_every_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    for name in ("tiny_repo", "chunking"):
        fixture = tmp_path / "tests" / "python" / "fixtures" / name
        shutil.copytree(ROOT / "tests" / "python" / "fixtures" / name, fixture)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CODEINTEL_DATA_ROOT", raising=False)
    monkeypatch.delenv("CODEINTEL_DB_PATH", raising=False)
    for number, block in enumerate(BLOCKS, 1):
        try:
            exec(compile(block, f"docs/api.md example {number}", "exec"), {"__name__": "__api_example__"})
        except Exception as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"docs/api.md example {number} failed: {type(exc).__name__}: {exc}\n{block}")
    printed = capsys.readouterr().out
    assert "tinylib" in printed  # the search and the catalog examples print repository paths
