"""The end-to-end pipeline on tiny_repo with the lexical hashing embedder (what CI runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from python_ext.config import DataRoot
from python_ext.errors import ConfigError, RepositoryNotFoundError
from python_ext.evaluate.pools import read_runs
from python_ext.repo_to_catalog import STAGES, default_repository, run_pipeline


def test_pipeline_runs_every_stage_and_is_rerunnable(tiny_repo: Path, data_root: DataRoot) -> None:
    first = run_pipeline(data_root, tiny_repo, embedder="hashing", scip=False, catalog=True, k=5)
    assert [s.name for s in first.stages] == list(STAGES)
    assert [s.name for s in first.stages if s.skipped] == []
    by_name = {s.name: s.summary for s in first.stages}
    refresh = by_name["catalog refresh"]
    assert refresh["tests_failed"] == 0 and refresh["swapped"] is True
    # the report is written next to the catalog, with every figure drawn
    assert first.report_path == data_root.db_path.with_name("codeintel-report.html")
    assert first.report_path.is_file() and by_name["report"]["path"] == str(first.report_path)
    assert by_name["report"]["empty"] == {} and len(by_name["report"]["figures"]) == 5
    assert first.catalog_path == data_root.db_path and data_root.db_path.exists()
    _check_catalog_against_pool(data_root, first)
    assert first.embedding_kind == "lexical" and first.embedder.startswith("hashing")
    assert first.counts["chunks"] > 20 and first.counts["files"] >= 15
    assert first.counts["chunks_truncated"] == 0 and first.counts["ast_nodes"] > 300
    assert first.counts["calls_name_only"] >= 1 and first.counts["calls_same_module"] >= 1
    assert first.counts["queries"] == first.counts["queries_docstring"] + first.counts["queries_name"]
    assert [m["source"] for m in first.metrics] == ["faiss", "flat", "bm25", "hybrid"]
    assert all(0 < m["recall_at_k"] <= 1 for m in first.metrics)
    assert first.index_version and (data_root.version_dir(first.index_version) / "tuning.json").exists()
    ingest = first.stages[0].summary
    assert ingest["chunks_added"] == first.counts["chunks"]

    second = run_pipeline(data_root, tiny_repo, embedder="hashing", scip=False, catalog=False, k=5)
    assert second.examples == [] and second.stages[-1].skipped == "--no-catalog"
    ingest2 = second.stages[0].summary
    assert ingest2["chunks_unchanged"] == second.counts["chunks"] and ingest2["embedded"] == 0
    skipped = {s.name: s.skipped for s in second.stages}
    assert skipped["index build"].startswith(f"published version {first.index_version} was built")
    assert second.index_version == first.index_version
    assert len(read_runs(data_root)) == 2
    doc = second.to_dict()
    assert doc["stages"][1]["skipped"] and doc["counts"] == second.counts


def _check_catalog_against_pool(data_root: DataRoot, result) -> None:
    """v_rrf_contrib_by_channel, recomputed by hand from the pool of the same run."""
    import duckdb

    from python_ext.evaluate.pools import read_pool
    from python_ext.evaluate.queries import read_queries
    from python_ext.search.fusion import rrf_fuse

    run_id = read_runs(data_root).column("run_id").to_pylist()[-1]
    pool = read_pool(data_root, run_id).to_pylist()
    positives = {q.query_id: set(q.positives) for q in read_queries(data_root)}
    query_id = sorted(positives)[0]
    rows = {}
    for r in pool:
        if r["query_id"] == query_id:
            rows.setdefault(r["source"], []).append((r["rank"], r["chunk_id"]))
    with duckdb.connect(str(data_root.db_path), read_only=True) as con:
        mart = con.execute(
            "select channel, count_hits, count_relevant_hits, rrf_contribution, fused_score_total, "
            "share_of_fused_score, rrf_k0 from v_rrf_contrib_by_channel where run_id = ? and query_id = ? "
            "order by channel",
            [run_id, query_id],
        ).fetchall()
        # the three example queries of the summary run against the real catalog
        for example in result.examples:
            assert con.execute(example["sql"]).fetchall(), example["question"]
        # honest graph and AST facts, as analysts read them
        callers = dict(con.execute("select symbol, count_callers from v_symbol_callers").fetchall())
        assert callers["tinylib.geometry.vectors.Vector"] >= 1
        named = con.execute(
            "select count(*), count(dst_display_name) from v_symbol_neighbors where resolution <> 'scip'"
        ).fetchone()
        assert named[0] > 50 and named[1] == named[0]  # tree-sitter names every non-SCIP symbol
        resolutions = {
            r for (r,) in con.execute("select distinct resolution from v_symbol_neighbors").fetchall()
        }
        assert resolutions == {"import", "same_module", "name_only"}
        ast = con.execute(
            "select count(*), count(*) filter (where is_declaration), count(*) filter (where depth = 0) "
            "from v_ast_nodes"
        ).fetchone()
        assert ast[0] > 300 and ast[1] > 50 and ast[2] >= 15
        assert con.execute("select count(*) from v_chunks where is_truncated").fetchone() == (0,)
    # flat is the oracle and hybrid the output of RRF: only faiss and bm25 feed the fusion
    assert [m[0] for m in mart] == ["bm25", "faiss"]
    total = 0.0
    for channel, hits, relevant, contribution, _fused, _share, k0 in mart:
        ranked = sorted(rows[channel])
        assert k0 == 60 and hits == len(ranked)
        assert relevant == sum(1 for _, cid in ranked if cid in positives[query_id])
        assert contribution == pytest.approx(sum(1 / (60 + rank) for rank, _ in ranked))
        total += contribution
    assert len(result.examples) == 3
    for channel, *_rest, fused_total, share, _k0 in mart:
        assert fused_total == pytest.approx(total)
        assert share == pytest.approx(next(m[3] for m in mart if m[0] == channel) / total)
    # and the fused total is the sum of the RRF scores of every fused chunk (the hybrid channel)
    fused = rrf_fuse({c: [cid for _, cid in sorted(rows[c])] for c in ("faiss", "bm25")}, k0=60)
    assert sum(score for _, score in fused) == pytest.approx(total)
    hybrid = sorted(rows["hybrid"])
    assert [cid for _, cid in hybrid] == [cid for cid, _ in fused[: len(hybrid)]]
    # by hand: with k=5, hybrid searched faiss rrf_rank_cutoff = 10 deep, so its ranks 1..10
    # contribute 1/61 + 1/62 + … + 1/70 (the pool keeps them, beyond k)
    assert next(m[1:4:2] for m in mart if m[0] == "faiss") == (10, pytest.approx(0.152966344686334))
    assert sum(1 / (60 + r) for r in range(1, 11)) == pytest.approx(0.152966344686334)


def test_default_repository_is_this_checkout(repo_root: Path) -> None:
    assert default_repository() == repo_root


def test_bad_inputs(tmp_path: Path, data_root: DataRoot) -> None:
    # one check and one message for a bad repository path: the walk's
    with pytest.raises(RepositoryNotFoundError, match="repository not found"):
        run_pipeline(data_root, tmp_path / "missing", embedder="hashing")
    # one list of embedder names: the registry's message, as for indexctl ingest
    with pytest.raises(ConfigError, match="unknown embedder 'bert'"):
        run_pipeline(data_root, tmp_path, embedder="bert")
