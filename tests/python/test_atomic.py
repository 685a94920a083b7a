"""Atomic writes: all-or-nothing, readable modes, no temp files left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from python_ext.atomic import atomic_path, atomic_symlink, atomic_write_json, atomic_write_parquet


def test_failed_write_leaves_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    atomic_write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == '{\n  "v": 1\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_written_file_has_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = atomic_write_parquet(tmp_path / "t.parquet", pa.table({"a": [1, 2]}))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert pq.read_table(path).column("a").to_pylist() == [1, 2]


def test_symlink_flip(tmp_path: Path) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    link = tmp_path / "current"
    atomic_symlink("v1", link)
    atomic_symlink("v2", link)
    assert os.readlink(link) == "v2"
    assert link.resolve() == (tmp_path / "v2").resolve()
