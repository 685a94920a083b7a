"""The stripped evaluation protocol: a copy without docstrings, queries re-mapped to its chunks."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from python_ext import chunkstore
from python_ext.config import resolve_data_root
from python_ext.errors import EvalInputError
from python_ext.evaluate.queries import build_queries, read_queries
from python_ext.evaluate.stripped import strip_docstrings, strip_file
from python_ext.ingest.chunk_ingest import ingest_repository
from python_ext.lang.docs import documentation
from python_ext.lang.nodes import FUNCTION_NODES, find_nodes
from python_ext.lang.parsers import parser_for

CHUNKING = Path(__file__).resolve().parent / "fixtures" / "chunking"


@pytest.fixture(scope="module")
def stripped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stripped") / "copy"
    strip_docstrings(CHUNKING, out)
    return out


def test_the_copy_has_no_function_docstrings_and_still_parses(stripped: Path) -> None:
    targets = [json.loads(x) for x in (stripped / "docstrings.jsonl").read_text().splitlines()]
    assert {t["lang"] for t in targets} == {"python", "typescript", "javascript", "go", "rust", "java"}
    for t in targets:
        data = (stripped / "repo" / t["uri"]).read_bytes()
        function = data[t["start_byte"] : t["end_byte"]].decode()
        assert t["name"] in function.split("{")[0], (t["uri"], t["name"], function[:80])
        assert t["start_line"] == data[: t["start_byte"]].count(b"\n") + 1
        tree = parser_for(t["lang"]).parse(data)
        for node in find_nodes(t["lang"], tree.root_node, FUNCTION_NODES[t["lang"]]):
            assert documentation(node, data, t["lang"]) is None, (t["uri"], node.start_point)
    ast.parse((stripped / "repo" / "pkg" / "docs.py").read_text())  # still valid Python
    untouched = (stripped / "repo" / "README.md").read_bytes()
    assert untouched == (CHUNKING / "README.md").read_bytes()


def test_a_docstring_that_was_the_whole_body_becomes_pass() -> None:
    data = b'def f(x):\n    """Return nothing at all, ever."""\n\n\ndef g():\n    """Doc."""\n    return 1\n'
    out, targets = strip_file(data, "python", "m.py")
    assert out == b"def f(x):\n    pass\n\n\ndef g():\n    return 1\n"
    assert [t["name"] for t in targets] == ["f"]  # "Doc." is under the 3-word minimum
    assert out[targets[0]["start_byte"] : targets[0]["end_byte"]] == b"def f(x):\n    pass"


def test_stripped_queries_are_mapped_to_the_copys_chunks(stripped: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    ingest_repository(root, stripped / "repo", embedder="hashing", chunk_budget=200)
    result = build_queries(root, stripped=stripped, origins=["docstring"])
    assert result.protocol == "stripped" and result.counts["docstring"] == result.total >= 15
    meta = pq.read_schema(root / "eval" / "queries.parquet").metadata
    assert meta[b"codeintel.eval.protocol"] == b"stripped"
    chunks = chunkstore.read_chunks(root, columns=["id", "uri", "start_line", "end_line"]).to_pylist()
    by_id = {c["id"]: c for c in chunks}
    for q in read_queries(resolve_data_root(root)):
        assert q.meta["protocol"] == "stripped" and "masks" not in q.meta
        groups = q.meta["positive_groups"]  # one group of chunks per function: found by any of them
        assert len(groups) == len(q.meta["definitions"]) and sorted({c for g in groups for c in g}) == sorted(
            q.positives
        )
        for d in q.meta["definitions"]:
            overlapping = {c["id"] for c in chunks if c["uri"] == d["uri"]
                           and c["start_line"] <= d["end_line"] and d["line"] <= c["end_line"]}  # fmt: skip
            assert overlapping and overlapping <= set(q.positives), (q.text, d)
        assert all(by_id[p]["uri"] in {d["uri"] for d in q.meta["definitions"]} for p in q.positives)


def test_stripped_queries_refuse_chunks_of_another_tree(stripped: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    ingest_repository(root, CHUNKING, embedder="hashing")  # the original, not the copy
    with pytest.raises(EvalInputError, match="were not ingested from") as info:
        build_queries(root, stripped=stripped)
    assert "indexctl ingest" in (info.value.hint or "")


def test_strip_refuses_a_non_empty_or_inner_output(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(EvalInputError, match="not empty"):
        strip_docstrings(CHUNKING, tmp_path / "full")


def test_cli_strip_then_queries(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "copy"
    result = run_cli("eval", "strip", CHUNKING, "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["docstrings_removed"] >= 15 and doc["copy"] == str(out / "repo")
    assert (
        run_cli("ingest", out / "repo", "--out", tmp_path / "d", "--embedder", "hashing", "--json").exit_code
        == 0
    )
    q = run_cli("eval", "queries", "--data-root", tmp_path / "d", "--stripped", out, "--json")
    assert q.exit_code == 0, q.stderr
    assert json.loads(q.stdout)["protocol"] == "stripped"


def test_eval_run_counts_a_cut_function_once(stripped: Path, tmp_path: Path) -> None:
    """`eval run` scores stripped queries per function: found when any of its chunks is in the
    top k (recomputed here from the run's own pool), which chunk-level recall would not credit."""
    from python_ext.evaluate.pools import read_pool
    from python_ext.evaluate.run import run_eval

    root = tmp_path / "data"
    ingest_repository(root, stripped / "repo", embedder="hashing", chunk_budget=60)
    build_queries(root, stripped=stripped, origins=["docstring"])
    data_root = resolve_data_root(root)
    queries = read_queries(data_root)
    assert any(len(g) > 1 for q in queries for g in q.meta["positive_groups"])  # functions were cut
    k = 2
    result = run_eval(data_root, k=k, channels="bm25")
    top: dict[str, list[int]] = {}
    for row in sorted(read_pool(data_root, result.run_id).to_pylist(), key=lambda r: r["rank"]):
        if row["source"] == "bm25":
            top.setdefault(row["query_id"], []).append(row["chunk_id"])
    per_function, per_chunk = [], []
    for q in queries:
        hits = set(top.get(q.query_id, [])[:k])
        groups = q.meta["positive_groups"]
        per_function.append(sum(1 for g in groups if hits.intersection(g)) / len(groups))
        per_chunk.append(len(hits.intersection(q.positives)) / len(q.positives))
    (bm25,) = result.metrics
    assert bm25.recall_at_k == pytest.approx(sum(per_function) / len(queries))
    assert bm25.recall_at_k > sum(per_chunk) / len(queries)  # a cut function is not penalized
    assert result.by_origin["docstring"][0].recall_at_k == pytest.approx(bm25.recall_at_k)


@pytest.mark.slow
def test_catalog_per_query_marts_score_stripped_queries_like_eval_run(stripped: Path, tmp_path: Path) -> None:
    """The catalog's per-query marts recompute eval run's function-level metrics from the pool."""
    import duckdb

    from python_ext.catalog.hydrate import close_connections
    from python_ext.catalog.refresh import refresh_catalog
    from python_ext.evaluate.run import run_eval

    root = tmp_path / "data"
    ingest_repository(root, stripped / "repo", embedder="hashing", chunk_budget=60)
    build_queries(root, stripped=stripped, origins=["docstring"])
    data_root = resolve_data_root(root)
    result = run_eval(data_root, k=2, channels="bm25")
    refresh_catalog(data_root, db_path=data_root.db_path)
    try:
        con = duckdb.connect(str(data_root.db_path), read_only=True)
        try:
            (row,) = con.execute(
                "select count_queries, recall_at_k, mrr_at_k, ndcg_at_k from v_eval_metrics_by_origin "
                "where run_id = ? and channel = 'bm25' and origin = 'docstring'",
                [result.run_id],
            ).fetchall()
        finally:
            con.close()
    finally:
        close_connections()
    (bm25,) = result.by_origin["docstring"]
    # the same data as test_eval_run_counts_a_cut_function_once, where chunk-level recall is lower
    assert row == pytest.approx((bm25.n_queries, bm25.recall_at_k, bm25.mrr_at_k, bm25.ndcg_at_k))
