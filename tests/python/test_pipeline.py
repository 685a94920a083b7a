"""The end-to-end pipeline on tiny_repo with the lexical hashing embedder (what CI runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from python_ext.config import DataRoot
from python_ext.errors import ConfigError, RepositoryNotFoundError
from python_ext.evaluate.pools import read_runs
from python_ext.pipeline import STAGES, default_repository, run_pipeline


def test_pipeline_runs_every_stage_and_is_rerunnable(tiny_repo: Path, data_root: DataRoot) -> None:
    first = run_pipeline(tiny_repo, data_root, embedder="hashing", scip=False, catalog=False, k=5)
    assert [s.name for s in first.stages] == list(STAGES)
    assert [s.name for s in first.stages if s.skipped] == ["catalog refresh"]
    assert first.embedding_kind == "lexical" and first.embedder.startswith("hashing")
    assert first.counts["chunks"] > 20 and first.counts["files"] >= 15
    assert first.counts["queries"] == first.counts["queries_docstring"] + first.counts["queries_name"]
    assert [m["source"] for m in first.metrics] == ["faiss", "flat", "bm25", "hybrid"]
    assert all(0 < m["recall_at_k"] <= 1 for m in first.metrics)
    assert first.index_version and (data_root.version_dir(first.index_version) / "tuning.json").exists()
    ingest = first.stages[0].summary
    assert ingest["chunks_added"] == first.counts["chunks"]

    second = run_pipeline(tiny_repo, data_root, embedder="hashing", scip=False, catalog=False, k=5)
    ingest2 = second.stages[0].summary
    assert ingest2["chunks_unchanged"] == second.counts["chunks"] and ingest2["embedded"] == 0
    skipped = {s.name: s.skipped for s in second.stages}
    assert skipped["index build"].startswith(f"published version {first.index_version} was built")
    assert second.index_version == first.index_version
    assert len(read_runs(data_root)) == 2
    doc = second.to_dict()
    assert doc["stages"][1]["skipped"] and doc["counts"] == second.counts


def test_default_repository_is_this_checkout(repo_root: Path) -> None:
    assert default_repository() == repo_root


def test_bad_inputs(tmp_path: Path, data_root: DataRoot) -> None:
    with pytest.raises(RepositoryNotFoundError, match="does not exist"):
        run_pipeline(tmp_path / "missing", data_root, embedder="hashing")
    with pytest.raises(ConfigError, match="--embedder 'bert' is not one of minilm, hashing"):
        run_pipeline(tmp_path, data_root, embedder="bert")
