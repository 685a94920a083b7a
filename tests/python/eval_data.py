"""Helpers for the evaluation tests: a real data root built from tiny_repo by the project's code."""

from __future__ import annotations

import shutil
from pathlib import Path

from python_ext.config import DataRoot

_CACHE: dict[tuple[str, bool], Path] = {}


def build_tiny_data_root(tiny_repo: Path, target: DataRoot, *, index: bool = True) -> DataRoot:
    """Ingest tiny_repo with the lexical hashing embedder (and build + publish an index) into ``target``.

    The first build per session is kept in a cache folder and copied, so tests stay fast.
    """
    key = (str(tiny_repo), index)
    cached = _CACHE.get(key)
    if cached is None or not cached.exists():
        import tempfile

        from python_ext.ingest.chunk_ingest import ingest_repository

        cached = Path(tempfile.mkdtemp(prefix="h5-eval-data-")) / "data"
        root = DataRoot(cached)
        ingest_repository(root, tiny_repo, embedder="hashing")
        if index:
            from python_ext.index.build import build_index

            build_index(root, gpu="off")
        _CACHE[key] = cached
    shutil.copytree(cached, target.root, symlinks=True, dirs_exist_ok=True)
    return target
