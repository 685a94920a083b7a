"""Pool Parquet and runs.parquet: contract schemas, read back, atomic append."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from python_ext.config import DataRoot
from python_ext.contracts import EVAL_POOL_SCHEMA, EVAL_RUNS_SCHEMA
from python_ext.errors import ContractError
from python_ext.evaluate.metrics import ChannelMetrics
from python_ext.evaluate.pools import (
    RunRecord,
    append_run,
    archive_stale_pools,
    pool_table,
    read_pool,
    read_runs,
    stale_pools_dir,
    write_pool,
)

RESULTS = {
    "faiss": {"q1": [(11, 0.9), (12, 0.8), (13, 0.7)], "q2": [(12, 0.5)]},
    "bm25": {"q1": [(13, 4.0), (11, 2.0)]},
}


def test_pool_rows_ranks_and_read_back(data_root: DataRoot) -> None:
    table = pool_table("r1", RESULTS, k=2)
    assert table.schema.equals(EVAL_POOL_SCHEMA)
    path = write_pool(data_root, table)
    assert path == data_root.pools_dir / "r1.parquet"
    back = read_pool(data_root, "r1").to_pylist()
    assert [(r["source"], r["query_id"], r["rank"], r["chunk_id"]) for r in back] == [
        ("bm25", "q1", 1, 13),
        ("bm25", "q1", 2, 11),
        ("faiss", "q1", 1, 11),
        ("faiss", "q1", 2, 12),
        ("faiss", "q2", 1, 12),
    ]
    assert {r["run_id"] for r in back} == {"r1"}
    assert back[0]["score"] == pytest.approx(4.0)


def test_unknown_source_is_refused() -> None:
    with pytest.raises(ContractError, match="pool source 'colbert' is not one of"):
        pool_table("r1", {"colbert": {"q1": [(1, 1.0)]}})


def _record(run_id: str) -> RunRecord:
    m = ChannelMetrics("faiss", 2, 0.5, 0.25, 0.4, 0.9, 1000.0)
    return RunRecord(
        run_id, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "v1", "nprobe=8", 10, 2, ["faiss"], None, 1.5, [m]
    )


def test_runs_are_appended_with_the_contract_schema(data_root: DataRoot) -> None:
    append_run(data_root, _record("r1"))
    append_run(data_root, _record("r2"))
    table = read_runs(data_root)
    assert table.schema.equals(EVAL_RUNS_SCHEMA, check_metadata=False)
    rows = table.to_pylist()
    assert [r["run_id"] for r in rows] == ["r1", "r2"]
    assert rows[0]["metrics"][0] == {
        "source": "faiss",
        "recall_at_k": 0.5,
        "mrr_at_k": 0.25,
        "ndcg_at_k": 0.4,
        "oracle_overlap_at_k": 0.9,
        "queries_per_s": 1000.0,
    }
    assert rows[0]["started_at"] == datetime(2026, 1, 2, 3, 4, 5)
    with pytest.raises(ContractError, match="run id r1 is already recorded"):
        append_run(data_root, _record("r1"))
    assert [p.name for p in data_root.eval_dir.iterdir() if p.name.startswith(".tmp-")] == []


def test_stale_pools_are_moved_aside(data_root: DataRoot) -> None:
    write_pool(data_root, pool_table("old", RESULTS))
    write_pool(data_root, pool_table("new", {"faiss": {"q1": [(11, 0.9)]}}))
    write_pool(data_root, pool_table("cur", {"faiss": {"q1": [(99, 0.9)]}}))
    moved = archive_stale_pools(data_root, {11, 12}, {"q1", "q2"}, keep="cur")
    assert moved == ["old"]  # names chunk 13, which no longer exists
    assert sorted(p.name for p in data_root.pools_dir.glob("*.parquet")) == ["cur.parquet", "new.parquet"]
    assert (stale_pools_dir(data_root) / "old.parquet").exists()
    assert archive_stale_pools(data_root, {11}, {"q2"}, keep="cur") == ["new"]  # query q1 is gone
