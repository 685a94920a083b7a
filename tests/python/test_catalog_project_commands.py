"""The catalog over a data root made by the project's own commands on the tiny fixture repo:
`indexctl ingest` (+ SCIP when scip-python is installed) → `index build` → `eval queries` →
`eval run` → `catalog refresh`; every model and test passes and the marts agree with the
Parquet the other stages wrote."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from python_ext.catalog.hydrate import close_connections, hydrate

REPO_ROOT = Path(__file__).resolve().parents[2]


def _scip_python() -> str | None:
    local = REPO_ROOT / ".cache" / "node" / "node_modules" / ".bin" / "scip-python"
    return shutil.which("scip-python") or (str(local) if local.exists() else None)


@pytest.fixture(scope="module")
def pipeline_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from python_ext.cli import main

    root = tmp_path_factory.mktemp("project") / "data"
    tiny = Path(__file__).parent / "fixtures" / "tiny_repo"
    scip = _scip_python()
    old_path = os.environ.get("PATH", "")
    if scip:
        os.environ["PATH"] = str(Path(scip).parent) + os.pathsep + old_path
    ingest = ["ingest", str(tiny), "--embedder", "hashing", "--out", str(root), "-q"]
    steps = [
        ingest + (["--run-scip"] if scip else []),
        ["index", "build", "--data-root", str(root), "-q"],
        ["eval", "queries", "--data-root", str(root), "-q"],
        ["eval", "run", "--data-root", str(root), "-q"],
        ["catalog", "refresh", "--data-root", str(root), "-q", "--json"],
    ]
    try:
        for step in steps:
            assert main(step) == 0, step
    finally:
        os.environ["PATH"] = old_path
    yield root
    close_connections()


def _q(root: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(root / "db" / "codeintel.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_mart_is_populated_and_consistent(pipeline_root: Path) -> None:
    root = pipeline_root
    n_chunks = sum(pq.read_metadata(p).num_rows for p in (root / "vectors" / "chunks").glob("*.parquet"))
    assert _q(root, "select count(*) from v_chunks")[0][0] == n_chunks > 0
    assert _q(root, "select count(*), bool_and(has_chunk) from v_faiss_join")[0] == (n_chunks, True)
    assert _q(root, "select count(*) from faiss_idmap_mat")[0][0] == n_chunks
    assert _q(root, "select count(*) from v_chunk_modules where module_id is not null")[0][0] > 0
    published = "select count(*) from v_index_versions where is_published and is_idmap_verified"
    assert _q(root, published)[0][0] == 1
    runs = pq.read_table(root / "eval" / "runs.parquet").to_pylist()
    metrics = {(m["source"], round(m["recall_at_k"], 9)) for r in runs for m in r["metrics"]}
    mart = {(c, round(v, 9)) for c, v in _q(root, "select channel, recall_at_k from v_eval_metrics_by_run")}
    assert mart == metrics
    if _scip_python():
        defs = _q(root, "select count(*), count(chunk_id) from v_scip_defs")[0]
        assert defs[0] > 0 and defs[0] == defs[1]


def test_rrf_mart_matches_the_pool_by_hand(pipeline_root: Path) -> None:
    root = pipeline_root
    pool = pq.read_table(next((root / "eval" / "pools").glob("*.parquet"))).to_pylist()
    qid = pool[0]["query_id"]
    by_channel: dict[str, float] = {}
    for row in pool:
        if row["query_id"] == qid and row["source"] in {"faiss", "bm25", "splade"} and row["rank"] <= 100:
            by_channel[row["source"]] = by_channel.get(row["source"], 0.0) + 1.0 / (60 + row["rank"])
    total = sum(by_channel.values())
    mart = _q(
        root,
        "select channel, rrf_contribution, share_of_fused_score from v_rrf_contrib_by_channel "
        f"where query_id = '{qid}'",
    )
    assert {c for c, _, _ in mart} == set(by_channel)
    for channel, contribution, share in mart:
        assert contribution == pytest.approx(by_channel[channel])
        assert share == pytest.approx(by_channel[channel] / total)


def test_hydration_on_real_chunks(pipeline_root: Path) -> None:
    root = pipeline_root
    ids = [r[0] for r in _q(root, "select chunk_id from v_chunks order by uri desc, start_line limit 7")]
    rows = hydrate(list(reversed(ids)), db_path=root / "db" / "codeintel.duckdb", with_modules=True)
    assert [r["chunk_id"] for r in rows] == list(reversed(ids))
    py = hydrate(ids, db_path=root / "db" / "codeintel.duckdb", languages=["python"], include=["tinylib/"])
    assert all(r["uri"].startswith("tinylib/") and r["language"] == "python" for r in py)
    assert json.dumps(rows, default=str)
