"""`run_eval` end to end on a real tiny data root: pools, runs, RRF, masking, bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from eval_data import build_tiny_data_root

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.errors import ConfigError, EvalInputError, IndexMismatchError
from python_ext.evaluate.pools import read_pool, read_runs
from python_ext.evaluate.queries import build_queries, read_queries
from python_ext.evaluate.run import cache_path, masked_cache_path, run_eval
from python_ext.evaluate.runfiles import import_run
from python_ext.search.fusion import rrf_fuse


@pytest.fixture
def evaluated(tiny_repo: Path, data_root: DataRoot) -> DataRoot:
    build_tiny_data_root(tiny_repo, data_root, index=True)
    build_queries(data_root)
    return data_root


def test_run_writes_pool_and_runs_with_consistent_metrics(evaluated: DataRoot) -> None:
    result = run_eval(evaluated, k=5)
    assert result.channels == ["faiss", "flat", "bm25", "hybrid"]
    assert result.hybrid_of == ["faiss", "bm25"]
    assert result.embedding["kind"] == "lexical"
    n = len(read_queries(evaluated))
    assert result.n_queries == n and result.masked_chunks > 0

    pool = read_pool(evaluated, result.run_id).to_pylist()
    assert result.pool_path == evaluated.pools_dir / f"{result.run_id}.parquet"
    by_key: dict[tuple[str, str], list[dict]] = {}
    for row in pool:
        by_key.setdefault((row["source"], row["query_id"]), []).append(row)
    for (source, _), rows in by_key.items():
        assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
        # with k=5 the fused channels keep their lists as deep as hybrid searched them (the
        # catalog's rrf_rank_cutoff, 10), the others their top k
        assert len(rows) <= (10 if source in ("faiss", "bm25") else 5)
    assert max(len(r) for (s, _), r in by_key.items() if s == "faiss") == 10
    # the exact flat index over the published Flat index: identical ranked ids, except among
    # hits whose scores tie at the cut within float rounding (FAISS's BLAS and NumPy sum the
    # same dot products in another order, so a zero can come out as ±1e-9 on either side)
    metrics = {m.source: m for m in result.metrics}
    for (source, qid), rows in by_key.items():
        if source == "faiss":
            mine, oracle = rows[:5], by_key[("flat", qid)][:5]
            cut = oracle[-1]["score"]
            differ = {r["chunk_id"] for r in mine} ^ {r["chunk_id"] for r in oracle}
            assert all(abs(r["score"] - cut) < 1e-6 for r in mine + oracle if r["chunk_id"] in differ), qid
    assert metrics["faiss"].oracle_overlap_at_k == pytest.approx(1.0, abs=0.01)
    assert metrics["faiss"].recall_at_k == pytest.approx(metrics["flat"].recall_at_k)
    assert metrics["bm25"].oracle_overlap_at_k is None
    assert all(m.n_queries == n for m in result.metrics)
    assert 0 < metrics["bm25"].recall_at_k <= 1

    # hybrid rows are RRF(k0=60) over the faiss and bm25 rows of the same pool
    qid = next(q for (s, q) in by_key if s == "hybrid")
    rankings = {s: [r["chunk_id"] for r in by_key.get((s, qid), [])] for s in ("faiss", "bm25")}
    expected = rrf_fuse(rankings, k0=60, k=5, cutoff=10)
    got = [(r["chunk_id"], r["score"]) for r in by_key[("hybrid", qid)]]
    assert [c for c, _ in got] == [c for c, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-6)

    # masked chunks were re-embedded once and cached by the hash of the masked text
    cache = masked_cache_path(evaluated, result.embedding["model"])
    assert pq.read_metadata(cache).num_rows == result.masked_chunks
    queries_cache = cache_path(evaluated, "queries", result.embedding["model"])
    assert pq.read_metadata(queries_cache).num_rows == len({q.text for q in read_queries(evaluated)})
    before = (cache.stat().st_mtime_ns, queries_cache.stat().st_mtime_ns)
    again = run_eval(evaluated, k=5, channels="flat", write=False)
    assert (cache.stat().st_mtime_ns, queries_cache.stat().st_mtime_ns) == before
    assert again.metrics[0].recall_at_k == pytest.approx(metrics["flat"].recall_at_k)

    runs = read_runs(evaluated).to_pylist()
    assert [r["run_id"] for r in runs] == [result.run_id]
    assert runs[0]["k"] == 5 and runs[0]["rrf_k0"] == 60 and runs[0]["n_queries"] == n
    assert runs[0]["index_version"] == result.index_version and result.index_version
    assert [m["source"] for m in runs[0]["metrics"]] == ["faiss", "flat", "bm25", "hybrid"]
    assert runs[0]["metrics"][2]["recall_at_k"] == pytest.approx(metrics["bm25"].recall_at_k)


def test_masking_hides_the_docstring_from_bm25(evaluated: DataRoot) -> None:
    queries = {q.text: q for q in read_queries(evaluated)}
    q = queries["Compute the Euclidean distance between two points given as vectors"]
    result = run_eval(evaluated, k=10, channels="bm25")
    pool = [r for r in read_pool(evaluated, result.run_id).to_pylist() if r["query_id"] == q.query_id]
    # Without masking the docstring chunk would match every query word; masked, the
    # positive may still be found through its code, but never through the docstring text:
    masked_score = next((r["score"] for r in pool if r["chunk_id"] in q.positives), 0.0)
    from python_ext.index.bm25 import build_bm25_from_texts
    from python_ext.search.channels import bm25_search

    table = chunkstore.read_chunks(evaluated, ["id", "content"])
    plain = build_bm25_from_texts(table.column("content").to_pylist())
    ranked = bm25_search(plain, [q.text], 10, id_of_row=table.column("id").to_numpy())
    plain_score = next(s for c, s in ranked[0] if c in q.positives)
    assert masked_score < plain_score


def test_channel_subsets_and_errors(evaluated: DataRoot) -> None:
    from python_ext.index.versions import current_version

    result = run_eval(evaluated, channels="bm25,hybrid", write=False)
    assert result.hybrid_of == ["bm25"] and result.pool_path is None
    # bm25 ran on the published version's stored BM25 index (the one search uses)
    assert result.index_version == current_version(evaluated) and result.notes == []
    assert not evaluated.runs_path.exists()
    with pytest.raises(ConfigError, match="unknown channel"):
        run_eval(evaluated, channels="faiss,colbert")
    with pytest.raises(ConfigError, match="hybrid needs at least one channel to fuse"):
        run_eval(evaluated, channels="flat,hybrid")
    with pytest.raises(EvalInputError, match="no imported run for channel 'splade'"):
        run_eval(evaluated, channels="bm25,splade")


def test_imported_channel_is_evaluated_and_fused(evaluated: DataRoot, tmp_path: Path) -> None:
    queries = read_queries(evaluated)
    lines = [f"{q.query_id} Q0 {q.positives[0]} 1 10.0 ext" for q in queries[:3]]
    run_file = tmp_path / "ext.trec"
    run_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_run(evaluated, "splade", run_file)
    result = run_eval(evaluated, channels="bm25,splade,hybrid", k=5)
    splade = next(m for m in result.metrics if m.source == "splade")
    assert splade.recall_at_k == pytest.approx(sum(1 / len(q.positives) for q in queries[:3]) / len(queries))
    assert result.hybrid_of == ["bm25", "splade"]


def test_stale_queries_and_mismatched_index_are_refused(evaluated: DataRoot) -> None:
    table = chunkstore.read_chunks(evaluated)
    # one chunk more than the index holds: the index's id map no longer matches the chunks
    extra = table.slice(0, 1).to_pylist()[0]
    extra["id"] = 4242
    extra["uri"] = "extra/new_file.py"
    bigger = pa.concat_tables([table, pa.Table.from_pylist([extra], schema=table.schema)])
    chunkstore.replace_chunk_set(evaluated, bigger)
    with pytest.raises(IndexMismatchError) as err:
        run_eval(evaluated, channels="faiss,bm25")
    assert "its id map does not match the chunks: 1 chunk(s) are not in the index (e.g. [4242])" in str(
        err.value
    )
    assert err.value.hint.startswith("rebuild the index over the current chunks")
    run_eval(evaluated, channels="bm25", write=False)  # lexical channels do not need the index

    # drop a positive chunk: the queries are stale
    q = next(q for q in read_queries(evaluated) if q.origin == "name")
    keep = np.isin(bigger.column("id").to_numpy(), q.positives, invert=True)
    chunkstore.replace_chunk_set(evaluated, bigger.filter(pa.array(keep)))
    with pytest.raises(EvalInputError, match=r"queries\.parquet is stale") as err2:
        run_eval(evaluated, channels="bm25")
    assert err2.value.hint == "regenerate the queries: indexctl eval queries"
