"""`indexctl catalog query`: read-only SQL over a catalog file, parameters bound, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from python_ext.catalog.query import query_catalog
from python_ext.errors import CatalogError, InputError


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "codeintel.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "create table v_chunk_min as select range as chunk_id, 'a' || range || '.py' as uri from range(5)"
    )
    con.close()
    return path


def test_query_binds_parameters_and_truncates(db: Path) -> None:
    res = query_catalog(
        None,
        "select chunk_id, uri from v_chunk_min where uri <> ? order by 1",
        db_path=db,
        params=["a0.py"],
        max_rows=3,
    )
    assert res.columns == ["chunk_id", "uri"]
    assert res.rows == [(1, "a1.py"), (2, "a2.py"), (3, "a3.py")] and res.truncated
    assert query_catalog(None, "select 1 as x where false", db_path=db).records() == []


def test_query_is_read_only(db: Path) -> None:
    with pytest.raises(InputError) as info:
        query_catalog(None, "delete from v_chunk_min", db_path=db)
    assert "read-only mode" in info.value.message  # DuckDB's own refusal, not our hint
    assert query_catalog(None, "select count(*) from v_chunk_min", db_path=db).rows == [(5,)]


def test_cli_query_json_nl_and_errors(run_cli, db: Path, tmp_path: Path) -> None:
    res = run_cli(
        "catalog", "query", "select uri from v_chunk_min where chunk_id = ?", "-p", "4", "--db", db, "--json"
    )
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout) == [{"uri": "a4.py"}]
    res = run_cli(
        "catalog",
        "query",
        "select chunk_id from v_chunk_min order by 1",
        "--db",
        db,
        "--nl",
        "--max-rows",
        "2",
    )
    assert [json.loads(line) for line in res.stdout.splitlines()] == [{"chunk_id": 0}, {"chunk_id": 1}]
    assert "showing the first 2 rows" in res.stderr
    res = run_cli("catalog", "query", "select * from nope", "--db", db)
    assert res.exit_code == 1 and f"Error: query failed on {db}" in res.stderr and "nope" in res.stderr
    missing = tmp_path / "none.duckdb"
    res = run_cli("catalog", "query", "select 1", "--db", missing)
    assert res.exit_code == 1 and f"Error: no catalog at {missing}" in res.stderr
    with pytest.raises(CatalogError):
        query_catalog(None, "select 1", db_path=missing)


def test_embed_on_a_corpus_it_cannot_embed_says_why_and_other_queries_still_run(tmp_path: Path) -> None:
    """The fixture catalog's chunks record the model 'fixture-hash', which this package does not
    have: queries run, embed() fails that query with the reason. A plain file without
    v_embedding_model (not a codeintel catalog) has embed() too, failing with the fix."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
    import catalog_data

    root, _ = catalog_data.shared_catalog(tmp_path)
    assert query_catalog(root, "select count(*) from v_embedding_model").rows == [(1,)]
    with pytest.raises(InputError, match="unknown embedder 'fixture-hash'"):
        query_catalog(root, "select * from nearest_chunks(embed(?), 3)", params=["a query"])
    assert query_catalog(root, "select embed(null) is null").rows == [(True,)]
    bare = tmp_path / "bare.duckdb"
    duckdb.connect(str(bare)).close()
    with pytest.raises(InputError, match="records no embedder"):
        query_catalog(None, "select embed('x')", db_path=bare)
