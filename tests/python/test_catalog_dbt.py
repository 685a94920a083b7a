"""The dbt catalog on fixture data roots: full build, optional sources, corrupted inputs,
faiss_idmap_mat no-op refresh, atomic swap under a reader, any-cwd opening."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from python_ext.catalog.dbt_runner import attach_failing_rows, run_dbt
from python_ext.catalog.hydrate import close_connections
from python_ext.catalog.refresh import refresh_catalog
from python_ext.config import DataRoot
from python_ext.errors import CatalogError

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import catalog_data

MARTS = [
    "v_chunks",
    "v_chunk_min",
    "v_faiss_join",
    "v_chunk_symbols",
    "v_chunk_modules",
    "v_scip_defs",
    "v_symbol_neighbors",
    "v_module_coverage",
    "faiss_idmap_mat",
    "v_rrf_contrib_by_channel",
    "v_index_versions",
    "v_tuning_frontier",
    "v_eval_metrics_by_run",
    "v_eval_run_comparison",
    "v_eval_hits_by_module",
    "v_eval_query_results",
    "v_eval_metrics_by_origin",
    "v_eval_worst_queries",
]


def _q(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """A fixture data root (every source present) refreshed once for the module."""
    root = DataRoot(tmp_path_factory.mktemp("catalog") / "data")
    planted = catalog_data.write_data_root(root.root)
    result = refresh_catalog(root, db_path=root.db_path)
    catalog_data._SHARED.setdefault("full", (root.root, planted))
    yield root, planted, result
    close_connections()


def test_full_build_passes_every_model_and_test(built) -> None:
    root, planted, result = built
    assert result.swapped and result.tests_failed == 0
    assert result.models >= 30, result.to_dict()
    assert result.tests_passed >= 100
    assert result.faiss_idmap_mat == "rebuilt"
    tables = {r[0] for r in _q(root.db_path, "select table_name from information_schema.tables")}
    assert set(MARTS) <= tables
    assert _q(root.db_path, "select count(*) from v_chunks")[0][0] == len(planted.chunk_ids)
    # embedding cast to FLOAT[d] with d from the Parquet metadata
    assert (
        _q(
            root.db_path,
            "select data_type from information_schema.columns "
            "where table_name = 'v_chunks' and column_name = 'embedding'",
        )[0][0]
        == "FLOAT[8]"
    )
    # faiss_idmap_mat is a table with indexes on chunk_id and faiss_id
    idx = _q(root.db_path, "select sql from duckdb_indexes() where table_name = 'faiss_idmap_mat'")
    assert sorted("chunk_id" in s[0] for s in idx) == [False, True]
    assert any("(faiss_id)" in s[0] for s in idx)


def test_catalog_file_is_readable_by_duckdb_1_4_clients(built) -> None:
    """The refreshed file keeps the storage version fixed in profiles.yml (not 2.x-only)."""
    root, _, _ = built
    sql = "select tags from duckdb_databases() where not internal and database_name <> 'temp'"
    tags = _q(root.db_path, sql)
    assert tags == [({"storage_version": "v1.4.0+"},)]


def test_longest_prefix_module_one_row_per_chunk(built) -> None:
    root, _, _ = built
    rows = dict(_q(root.db_path, "select uri, any_value(module_id) from v_chunk_modules group by uri"))
    assert rows == {
        "app.py": "app",
        "pkg/core.py": "pkg",
        "pkg/sub/util.py": "pkg.sub",  # nested prefix wins over pkg/
        "pkg/subway/road.go": "pkg.subway",  # 'pkg/sub' is not a segment prefix of pkg/subway
        "docs/guide.md": None,
    }
    assert _q(root.db_path, "select count(*), count(distinct chunk_id) from v_chunk_modules")[0] == (12, 12)
    cov = {
        r[0]: r[1:]
        for r in _q(
            root.db_path,
            "select module_id, count_chunks, count_chunks_indexed, "
            "count_eval_hits, count_eval_relevant_hits, count_eval_positives "
            "from v_module_coverage",
        )
    }
    # pkg.sub holds ids[6], ids[7] (both positives of q2, both hit in run r2)
    assert cov["pkg.sub"] == (2, 2, 2, 2, 2)
    assert cov["pkg"] == (3, 3, 2, 1, 1)


def test_rrf_contributions_hand_checked(built) -> None:
    root, _, _ = built
    rows = {
        (r[0], r[1]): r[2:]
        for r in _q(
            root.db_path,
            "select query_id, channel, count_hits, rrf_contribution, share_of_fused_score "
            "from v_rrf_contrib_by_channel where run_id = 'r1'",
        )
    }
    # q1: faiss ranks 1,2; bm25 ranks 1,2,3; hybrid is not an RRF input
    faiss = 1 / 61 + 1 / 62
    bm25 = 1 / 61 + 1 / 62 + 1 / 63
    assert set(rows) == {("q1", "faiss"), ("q1", "bm25"), ("q2", "faiss"), ("q2", "bm25")}
    assert rows[("q1", "faiss")][0] == 2
    assert rows[("q1", "faiss")][1] == pytest.approx(faiss)
    assert rows[("q1", "bm25")][1] == pytest.approx(bm25)
    assert rows[("q1", "faiss")][2] == pytest.approx(faiss / (faiss + bm25))
    reg = _q(root.db_path, "select run_id, channel from v_eval_run_comparison where is_regression")
    assert reg == [("r2", "faiss")]  # faiss recall 0.75 -> 0.5


def test_per_query_eval_marts_hand_checked(built) -> None:
    """r1 and r2 ran q1, q2 (r1's set comes from its pool); r3 added q3, which bm25 ranks 2nd
    and hybrid loses in fusion (fixture: catalog_data._write_eval)."""
    root, _, _ = built
    rows = {
        (r[0], r[1]): r[2:]
        for r in _q(
            root.db_path,
            "select run_id, query_id, origin, count_positives, faiss_first_positive_rank, faiss_hit_at_k, "
            "bm25_first_positive_rank, hybrid_first_positive_rank, flat_hit_at_k, count_channels_hit, "
            "winning_channel from v_eval_query_results",
        )
    }
    assert set(rows) == {(r, q) for r in ("r1", "r2") for q in ("q1", "q2")} | {
        ("r3", q) for q in ("q1", "q2", "q3")
    }
    # q1: faiss has its positive first, bm25 second; flat did not run (null, not a miss)
    assert rows[("r3", "q1")] == ("docstring", 1, 1, True, 2, 1, None, 2, "faiss")
    # q2 (positives ids[6], ids[7]): faiss finds ids[6] at 2, bm25 ids[7] at 1
    assert rows[("r3", "q2")] == ("name", 2, 2, True, 1, 1, None, 2, "bm25")
    assert rows[("r3", "q3")] == ("user", 1, None, False, 2, None, None, 1, "bm25")

    worst = _q(
        root.db_path,
        "select run_id, worst_rank, query_id, failure, hybrid_first_positive_rank, best_channel, "
        "best_channel_rank, found_by from v_eval_worst_queries",
    )
    assert worst == [("r3", 1, "q3", "lost_in_fusion", None, "bm25", 2, "bm25@2")]

    by_origin = {
        (r[0], r[1]): r[2:]
        for r in _q(
            root.db_path,
            "select channel, origin, count_queries, recall_at_k, mrr_at_k, ndcg_at_k, hit_rate_at_k "
            "from v_eval_metrics_by_origin where run_id = 'r3'",
        )
    }
    ideal2 = 1 + 1 / math.log2(3)  # IDCG of two positives
    expected = {
        ("faiss", "docstring"): (1, 1.0, 1.0, 1.0, 1.0),
        ("faiss", "name"): (1, 0.5, 0.5, (1 / math.log2(3)) / ideal2, 1.0),
        ("faiss", "user"): (1, 0.0, 0.0, 0.0, 0.0),
        ("bm25", "docstring"): (1, 1.0, 0.5, 1 / math.log2(3), 1.0),
        ("bm25", "name"): (1, 0.5, 1.0, 1 / ideal2, 1.0),
        ("bm25", "user"): (1, 1.0, 0.5, 1 / math.log2(3), 1.0),
        ("hybrid", "docstring"): (1, 1.0, 1.0, 1.0, 1.0),
        ("hybrid", "name"): (1, 0.5, 1.0, 1 / ideal2, 1.0),
        ("hybrid", "user"): (1, 0.0, 0.0, 0.0, 0.0),
    }
    assert set(by_origin) == set(expected)
    for key, values in expected.items():
        assert by_origin[key] == pytest.approx(values), key


def test_run_comparison_pairs_only_runs_over_the_same_query_set(built) -> None:
    root, _, _ = built
    rows = _q(
        root.db_path,
        "select run_id, previous_run_id, is_regression, count_queries, preceding_run_id, query_set_change, "
        "count_queries_added, count_queries_removed from v_eval_run_comparison where channel = 'faiss' "
        "order by started_at",
    )
    assert rows == [
        ("r1", None, False, 2, None, "first", None, None),
        # r1's set (from its pool) equals r2's recorded one: compared, recall 0.75 -> 0.5 flagged
        ("r2", "r1", True, 2, "r1", "same", None, None),
        # r3 adds q3: no earlier run over its set, so its lower recall (0.4) is not a regression
        ("r3", None, False, 3, "r2", "changed", 1, 0),
    ]


@pytest.mark.slow
def test_runs_recorded_before_query_ids_take_their_query_set_from_the_pool(tmp_path: Path) -> None:
    """A runs.parquet written before the query_ids column existed still builds; each run's
    query set comes from its pool, so the comparison is the same as with recorded ids."""
    root = DataRoot(tmp_path / "data")
    catalog_data.write_data_root(root.root)
    legacy = pq.read_table(root.runs_path).drop_columns(["query_ids"])
    pq.write_table(legacy, root.runs_path)
    refresh_catalog(root, db_path=root.db_path)
    assert _q(root.db_path, "select count(*), count(query_ids) from staging.stg_eval_runs")[0] == (3, 0)
    assert _q(root.db_path, "select distinct query_set_source from staging.int_eval_run_queries") == [
        ("pool",)
    ]
    rows = _q(
        root.db_path,
        "select run_id, previous_run_id, is_regression, query_set_change, count_queries_added "
        "from v_eval_run_comparison where channel = 'faiss' order by started_at",
    )
    assert rows == [
        ("r1", None, False, "first", None),
        ("r2", "r1", True, "same", None),
        ("r3", None, False, "changed", 1),
    ]
    close_connections()


def test_eval_channel_columns_match_the_pool_contract_and_seed() -> None:
    from python_ext.contracts import EVAL_CHANNELS

    macro = (Path(__file__).resolve().parents[2] / "macros" / "eval" / "eval_channels.sql").read_text()
    listed = re.search(r"return\(\[(.*?)\]\)", macro, re.S)
    assert listed, "macros/eval/eval_channels.sql must return a literal list"
    names = re.findall(r"'([a-z0-9_]+)'", listed.group(1))
    seed = (Path(__file__).resolve().parents[2] / "seeds" / "channels.csv").read_text().splitlines()[1:]
    assert sorted(names) == sorted(EVAL_CHANNELS) == sorted(line.split(",")[0] for line in seed)


def test_index_version_marts(built) -> None:
    root, _, _ = built
    rows = _q(
        root.db_path,
        "select version, is_published, is_idmap_verified, ntotal from v_index_versions order by version",
    )
    assert rows == [("v0000", False, None, 3), ("v0001", True, True, 12)]
    chosen = _q(root.db_path, "select operating_point from v_tuning_frontier where is_chosen")
    assert chosen == [("nprobe=2",)]


def test_unchanged_idmap_refresh_is_a_noop(built) -> None:
    root, _, _ = built
    con = duckdb.connect(str(root.db_path))
    con.execute("comment on table faiss_idmap_mat is 'marker: built by the first refresh'")
    con.close()
    before = _q(root.db_path, "select max(source_checksum) from faiss_idmap_mat")[0][0]
    result = refresh_catalog(root, db_path=root.db_path)
    assert result.faiss_idmap_mat == "unchanged"
    # the table was carried over, not rebuilt by dbt (a rebuild would have lost the comment)
    comment = _q(root.db_path, "select comment from duckdb_tables() where table_name = 'faiss_idmap_mat'")
    assert comment == [("marker: built by the first refresh",)]
    assert _q(root.db_path, "select max(source_checksum) from faiss_idmap_mat")[0][0] == before


READER = textwrap.dedent(
    """
    import duckdb, sys
    con = duckdb.connect(sys.argv[1], read_only=True)
    for line in sys.stdin:
        print(con.execute(line).fetchall()[0][0], flush=True)
    """
)


def test_atomic_refresh_while_a_reader_holds_the_catalog(built) -> None:
    root, _, _ = built
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(root.db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ask = "select count(*) from v_eval_metrics_by_run\n"
        reader.stdin.write(ask)
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "9"
        # a fourth run, and a reshuffled id map (changed checksum -> faiss_idmap_mat rebuilt)
        runs = pq.read_table(root.runs_path).to_pylist()
        runs.append(dict(runs[-1], run_id="r4"))
        pq.write_table(
            pq.read_table(root.runs_path).from_pylist(runs, schema=pq.read_schema(root.runs_path)),
            root.runs_path,
        )
        idmap_path = root.versions_dir / catalog_data.VERSION / "faiss_idmap.parquet"
        idmap = pq.read_table(idmap_path).to_pylist()
        rows = [dict(r, faiss_row=i) for i, r in enumerate(reversed(idmap))]
        pq.write_table(
            pq.read_table(idmap_path).from_pylist(rows, schema=pq.read_schema(idmap_path)), idmap_path
        )
        # as `indexctl index export-idmap` does: the manifest records the new file's sha256
        manifest_path = idmap_path.parent / "version.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["idmap_sha256"] = hashlib.sha256(idmap_path.read_bytes()).hexdigest()
        manifest_path.write_text(json.dumps(manifest))

        result = refresh_catalog(root, db_path=root.db_path)
        assert result.faiss_idmap_mat == "rebuilt"
        # the reader still sees its consistent old catalog ...
        reader.stdin.write(ask)
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "9"
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    # ... new readers see the new one, with the new id map order
    assert _q(root.db_path, "select count(*) from v_eval_metrics_by_run")[0][0] == 12
    first = _q(root.db_path, "select chunk_id from faiss_idmap_mat where faiss_row = 0")[0][0]
    assert first == idmap[-1]["chunk_id"]
    assert not Path(str(root.db_path) + ".wal").exists()


def test_failed_build_never_replaces_the_catalog(built, tmp_path: Path) -> None:
    root, planted, _ = built
    stamp = root.db_path.stat().st_mtime_ns
    dup = root.chunks_dir / "part-dup.parquet"
    shutil.copyfile(root.chunks_dir / "part-0000.parquet", dup)
    try:
        with pytest.raises(CatalogError) as info:
            refresh_catalog(root, db_path=root.db_path)
    finally:
        dup.unlink()
    message = info.value.message
    assert message.startswith(f"dbt build failed; the catalog at {root.db_path} was not replaced:")
    assert "unique_stg_chunks_chunk_id: fail" in message
    assert f"unique_field={planted.chunk_ids[0]}" in message
    assert root.db_path.stat().st_mtime_ns == stamp
    assert (root.db_path.parent / "failed" / root.db_path.name).exists()
    assert "failed/codeintel.duckdb" in info.value.hint


def test_catalog_opens_from_any_directory_without_the_data_root(built, tmp_path: Path) -> None:
    root, _, _ = built
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    copy = elsewhere / "codeintel.duckdb"
    shutil.copyfile(root.db_path, copy)
    script = "import duckdb, sys, json\ncon = duckdb.connect('codeintel.duckdb', read_only=True)\n" + (
        "print(json.dumps({m: con.execute(f'select count(*) from main.{m}').fetchone()[0] for m in "
        + json.dumps(MARTS)
        + "}))"
    )
    # the copy lives away from the data root, is opened with a relative path from its own folder
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CODEINTEL_DATA_ROOT": str(tmp_path / "nowhere")},
    )
    counts = json.loads(out.stdout)
    assert counts["v_chunks"] == 12 and counts["faiss_idmap_mat"] == 12
    assert counts["v_rrf_contrib_by_channel"] > 0
    views = _q(copy, "select sql from duckdb_views() where not internal")
    assert views and not any("read_parquet" in v[0] or "read_json" in v[0] for v in views)


def test_only_chunks_data_root_builds_with_empty_optional_marts(tmp_path: Path) -> None:
    root = DataRoot(tmp_path / "data")
    catalog_data.write_data_root(root.root, only_chunks=True)
    result = refresh_catalog(root, db_path=root.db_path)
    assert result.tests_failed == 0 and result.faiss_idmap_mat == "rebuilt"
    assert _q(root.db_path, "select count(*) from v_chunks")[0][0] == 12
    for mart in (
        "faiss_idmap_mat",
        "v_faiss_join",
        "v_scip_defs",
        "v_rrf_contrib_by_channel",
        "v_index_versions",
        "v_eval_metrics_by_run",
        "v_module_coverage",
    ):
        assert _q(root.db_path, f"select count(*) from {mart}")[0][0] == 0, mart
    # typed, not just empty: the id map keeps its contract types
    types = dict(
        _q(
            root.db_path,
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'faiss_idmap_mat'",
        )
    )
    assert types["faiss_id"] == "BIGINT" and types["built_at"] == "TIMESTAMP"
    assert _q(root.db_path, "select count(*) from v_chunk_modules where module_id is null")[0][0] == 12


def test_empty_chunks_file_builds(tmp_path: Path) -> None:
    root = DataRoot(tmp_path / "data")
    catalog_data.write_data_root(root.root, empty_chunks=True)
    refresh_catalog(root, db_path=root.db_path)
    assert _q(root.db_path, "select count(*) from v_chunks")[0][0] == 0
    assert (
        _q(
            root.db_path,
            "select data_type from information_schema.columns "
            "where table_name = 'v_chunks' and column_name = 'embedding'",
        )[0][0]
        == "FLOAT[8]"
    )


def test_missing_chunks_is_a_clear_error(tmp_path: Path) -> None:
    root = DataRoot(tmp_path / "data")
    with pytest.raises(CatalogError) as info:
        refresh_catalog(root, db_path=root.db_path)
    assert info.value.message == f"no chunks Parquet under {root.chunks_dir}"
    assert not root.db_path.exists()


#: corruption -> (failing test name prefix, text that must appear in its stored failing rows)
EXPECTED_FAILURES = {
    "duplicate_chunk": ("unique_stg_chunks_chunk_id", "{duplicate_chunk}"),
    "bad_range": ("stg_chunks_lines_ordered", "{bad_range}"),
    "mixed_dim": ("single_embedding_dim_stg_chunks", "{mixed_dim}"),
    "idmap_unknown_chunk": ("relationships_stg_faiss_idmap_chunk_id", "{idmap_unknown_chunk}"),
    "idmap_faiss_id_mismatch": ("expression_is_true_stg_faiss_idmap_faiss_id", "{idmap_faiss_id_mismatch}"),
    "idmap_missing_chunk": ("chunks_covered_by_faiss_idmap", "{idmap_missing_chunk}"),
    "def_outside_chunk": ("stg_scip_occurrences_defs_inside_chunks", "{def_outside_chunk}"),
    "ambiguous_module": ("one_module_per_chunk_v_chunk_modules", "{ambiguous_module0}"),
    "unknown_channel": ("accepted_values_from_seed_stg_eval_pools_channel", "{unknown_channel}"),
    "unknown_role": ("accepted_values_from_seed_stg_scip_occurrences_role", "{unknown_role}"),
    "pool_unknown_chunk": ("relationships_stg_eval_pools_chunk_id", "{pool_unknown_chunk}"),
    # issue 12: what `indexctl validate` and the index loader refuse, the catalog refuses too
    "nan_vector": ("assert_chunk_embeddings_valid", "{nan_vector}"),
    "inf_vector": ("assert_chunk_embeddings_valid", "{inf_vector}"),
    "zero_vector": ("assert_chunk_embeddings_valid", "embedding is the zero vector"),
    "unnormalized_vector": ("assert_chunk_embeddings_valid", "L2 norm 2.0"),
    "negative_id": ("stg_chunks_chunk_id_non_negative", "-42"),
    "null_uri": ("not_null_stg_chunks_uri", ""),
    "absolute_uri": ("relative_path_stg_chunks_uri", "/etc/passwd"),
    "dotdot_uri": ("relative_path_stg_chunks_uri", "pkg/../../outside.py"),
    "tampered_idmap": ("assert_published_index_matches_manifest", "differs from version.json idmap_sha256"),
}


def test_each_corruption_fails_its_test_and_names_the_key(tmp_path: Path) -> None:
    root = DataRoot(tmp_path / "data")
    planted = catalog_data.write_data_root(root.root, corrupt=set(catalog_data.CORRUPTIONS))
    db = tmp_path / "db" / "codeintel.duckdb"
    # audit mode without lowering any severity: build every model, then run every test
    built = run_dbt(["build", "--exclude-resource-type", "test"], data_root=root.root, db_path=db)
    assert built.ok, built.log[-3000:]
    run = run_dbt(["test"], data_root=root.root, db_path=db)
    assert not run.ok
    attach_failing_rows(run, db, limit=50)
    warned = {n.name: n for n in run.nodes if n.status == "fail"}
    keys = dict(planted.bad)
    keys["ambiguous_module0"] = planted.bad["ambiguous_module"][0]
    for corruption, (test_prefix, needle) in EXPECTED_FAILURES.items():
        matches = [n for name, n in warned.items() if name.startswith(test_prefix)]
        assert matches, f"{corruption}: no failing test starting with {test_prefix}; warned: {sorted(warned)}"
        text = json.dumps([r for n in matches for r in n.failing_rows], default=str)
        assert needle.format(**keys) in text, f"{corruption}: {needle.format(**keys)} not in {text}"
