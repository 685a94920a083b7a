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
import numpy as np
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


def test_per_query_marts_agree_with_the_metrics_eval_run_computes(pipeline_root: Path) -> None:
    """v_eval_metrics_by_origin recomputes per-origin metrics from the pool: they equal
    python_ext.evaluate.metrics on the same pool, and, weighted by queries, the run's recorded
    per-channel metrics; every query of the run has one v_eval_query_results row."""
    from python_ext.evaluate.metrics import channel_metrics

    root = pipeline_root
    run = pq.read_table(root / "eval" / "runs.parquet").to_pylist()[-1]
    assert run["query_ids"] == sorted(run["query_ids"]) and len(run["query_ids"]) == run["n_queries"]
    pool = pq.read_table(root / "eval" / "pools" / f"{run['run_id']}.parquet").to_pylist()
    queries = pq.read_table(root / "eval" / "queries.parquet").to_pylist()
    ranked: dict[str, dict[str, list[int]]] = {}
    for row in sorted(pool, key=lambda r: r["rank"]):
        ranked.setdefault(row["source"], {}).setdefault(row["query_id"], []).append(row["chunk_id"])
    mart = {
        (r[0], r[1]): r[2:]
        for r in _q(
            root,
            "select channel, origin, count_queries, recall_at_k, mrr_at_k, ndcg_at_k "
            f"from v_eval_metrics_by_origin where run_id = '{run['run_id']}'",
        )
    }
    origins = sorted({q["origin"] for q in queries})
    assert set(mart) == {(c, o) for c in run["channels"] for o in origins}
    for channel in run["channels"]:
        for origin in origins:
            subset = {q["query_id"]: q["positives"] for q in queries if q["origin"] == origin}
            expected = channel_metrics(channel, ranked.get(channel, {}), subset, run["k"])
            got = mart[(channel, origin)]
            assert got[0] == expected.n_queries
            assert got[1:] == pytest.approx((expected.recall_at_k, expected.mrr_at_k, expected.ndcg_at_k)), (
                channel,
                origin,
            )
        recorded = next(m for m in run["metrics"] if m["source"] == channel)
        n = sum(mart[(channel, o)][0] for o in origins)
        assert n == run["n_queries"]
        for i, name in enumerate(("recall_at_k", "mrr_at_k", "ndcg_at_k"), start=1):
            weighted = sum(mart[(channel, o)][i] * mart[(channel, o)][0] for o in origins) / n
            assert weighted == pytest.approx(recorded[name]), (channel, name)
    n_rows = _q(root, f"select count(*) from v_eval_query_results where run_id = '{run['run_id']}'")[0][0]
    assert n_rows == run["n_queries"]


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


# --- semantic SQL: the catalog's macros and embed() against exact FAISS Flat ------------------


def _chunk_matrix(root: Path) -> tuple[list[int], np.ndarray]:
    from python_ext.chunkstore import read_chunks

    table = read_chunks(root, columns=["id", "embedding"])
    ids = table.column("id").to_pylist()
    matrix = np.asarray(table.column("embedding").to_pylist(), dtype=np.float32)
    return ids, matrix


def _assert_same_ranking(got: list[tuple[int, float]], ids: list[int], scores: list[float]) -> None:
    """SQL (chunk_id, similarity) rows equal FAISS's ranking: the same scores rank by rank and
    the same ids, where chunks of equal score may come in either order."""
    assert len(got) == len(ids)
    assert [s for _, s in got] == pytest.approx(scores, abs=1e-5)
    groups: dict[float, tuple[set[int], set[int]]] = {}
    for (cid, _), fid, score in zip(got, ids, scores, strict=True):
        sql_ids, faiss_ids = groups.setdefault(round(score, 4), (set(), set()))
        sql_ids.add(cid)
        faiss_ids.add(fid)
    tail = round(scores[-1], 4)  # the last score's group may be cut differently at k
    for score, (sql_ids, faiss_ids) in groups.items():
        if score != tail:
            assert sql_ids == faiss_ids, score


def test_embed_in_sql_equals_exact_faiss_flat(pipeline_root: Path) -> None:
    import faiss

    from python_ext.catalog.query import query_catalog
    from python_ext.chunkstore import corpus_info
    from python_ext.embed import embedder_from_info

    root = pipeline_root
    ids, matrix = _chunk_matrix(root)
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(matrix.shape[1]))
    flat.add_with_ids(matrix, np.asarray(ids, dtype=np.int64))
    text = "parse the auth header"
    query = embedder_from_info(corpus_info(root)).embed([text])
    scores, labels = flat.search(query, 10)
    # the issue's own spelling, with the text as a parameter
    plain = query_catalog(
        root,
        "select chunk_id, array_inner_product(embedding, embed(?)) as s from v_chunks "
        "order by array_inner_product(embedding, embed(?)) desc limit 10",
        params=[text, text],
    )
    _assert_same_ranking(plain.rows, labels[0].tolist(), scores[0].tolist())
    macro = query_catalog(
        root, "select chunk_id, similarity from nearest_chunks(embed(?), 10) order by rank", params=[text]
    )
    _assert_same_ranking(macro.rows, labels[0].tolist(), scores[0].tolist())


def test_catalog_macros_work_in_a_plain_duckdb_client(pipeline_root: Path) -> None:
    """similar_chunks and near_duplicates are stored in the file: a bare read-only DuckDB
    connection (no Python functions registered) has them, and they equal FAISS Flat / numpy."""
    import faiss

    root = pipeline_root
    ids, matrix = _chunk_matrix(root)
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(matrix.shape[1]))
    flat.add_with_ids(matrix, np.asarray(ids, dtype=np.int64))
    con = duckdb.connect(str(root / "db" / "codeintel.duckdb"), read_only=True)
    try:
        for row in (0, len(ids) // 2, len(ids) - 1):
            cid = ids[row]
            scores, labels = flat.search(matrix[row : row + 1], 6)
            keep = [(int(f), float(s)) for f, s in zip(labels[0], scores[0], strict=True) if f != cid][:5]
            got = con.execute(
                "select chunk_id, similarity from similar_chunks(?, 5) order by rank", [cid]
            ).fetchall()
            _assert_same_ranking(got, [f for f, _ in keep], [s for _, s in keep])
        sims = matrix @ matrix.T
        upper = np.triu_indices(len(ids), 1)
        threshold = float(np.quantile(sims[upper], 0.98))
        pair = {tuple(sorted((ids[i], ids[j]))): float(sims[i, j]) for i, j in zip(*upper, strict=True)}
        got_pairs = con.execute(
            "select chunk_id_a, chunk_id_b, similarity from near_duplicates(?)", [threshold]
        ).fetchall()
        got = {(a, b) for a, b, _ in got_pairs}
        assert got_pairs and all(a < b for a, b, _ in got_pairs)
        # exactly the pairs numpy finds at the threshold (float sums may differ in the 6th digit)
        assert {p for p, sim in pair.items() if sim >= threshold + 1e-5} <= got
        assert all(pair[p] >= threshold - 1e-5 for p in got)
        assert [s for _, _, s in got_pairs] == sorted((s for _, _, s in got_pairs), reverse=True)
        with pytest.raises(duckdb.InvalidInputException, match="more than max_pairs = 3"):
            con.execute("select * from near_duplicates(0.5, max_pairs := 3)").fetchall()
    finally:
        con.close()
