"""`indexctl catalog query`: read-only SQL over a catalog file, parameters bound, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from python_ext.catalog.query import query_catalog
from python_ext.errors import CatalogError, InputError, QueryRefusedError


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
    with pytest.raises(QueryRefusedError) as info:
        query_catalog(None, "delete from v_chunk_min", db_path=db)
    assert info.value.message == "delete statements are refused: the catalog query is read-only"
    assert info.value.exit_code == 2
    assert query_catalog(None, "select count(*) from v_chunk_min", db_path=db).rows == [(5,)]


#: Each reproduction of issue 12 (all ran on the read-only connection before) -> text of the refusal.
HOSTILE = {
    "copy (select * from v_chunk_min) to '{out}/out.csv'": "copy statements are refused",
    "export database '{out}/exp'": "export statements are refused",
    "select * from read_csv('/etc/passwd')": 'Cannot access file "/etc/passwd"',
    "select * from read_text('/etc/passwd')": 'Cannot access file "/etc/passwd"',
    "select * from read_blob('{out}/../*')": "Cannot access file",
    "select * from glob('/root/*')": 'Cannot access file "/root/*"',
    "select * from read_parquet('{out}/x.parquet')": "Cannot access file",
    "install httpfs": "install statements are refused",
    "load httpfs": "load statements are refused",
    "set threads = 1": "set statements are refused",
    "reset threads": "reset statements are refused",
    "pragma threads = 1": "pragma threads is refused",
    "pragma enable_profiling": "pragma enable_profiling is refused",
    "select 1; copy (select 1) to '{out}/two.csv'": "the query holds 2 statements",
    "select 1; select 2": "the query holds 2 statements",
    "attach '{out}/other.duckdb' as other": "attach statements are refused",
    "create temp table t as select 1": "create statements are refused",
    "call pragma_version()": "call statements are refused",
    "explain copy (select 1) to '{out}/e.csv'": "copy statements are refused",
    "explain analyze copy (select 1) to '{out}/e.csv'": "copy statements are refused",
    "begin transaction": "begin statements are refused",
    "": "the query is empty",
    "  ;  ": "the query is empty",
}


@pytest.mark.parametrize("sql", sorted(HOSTILE))
def test_hostile_sql_is_refused_and_writes_nothing(db: Path, tmp_path: Path, sql: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.parquet").write_bytes(b"PAR1")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(QueryRefusedError) as info:
        query_catalog(None, sql.format(out=out), db_path=db)
    assert HOSTILE[sql] in info.value.message
    assert info.value.exit_code == 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


def test_reading_statements_still_run(db: Path) -> None:
    assert query_catalog(None, "describe v_chunk_min", db_path=db).rows[0][:2] == ("chunk_id", "BIGINT")
    assert ("v_chunk_min",) in query_catalog(None, "show tables", db_path=db).rows
    assert query_catalog(None, "pragma table_info('v_chunk_min')", db_path=db).rows[1][1] == "uri"
    assert query_catalog(None, "pragma version", db_path=db).rows
    assert query_catalog(None, "summarize v_chunk_min", db_path=db).rows
    assert query_catalog(None, "explain select * from v_chunk_min", db_path=db).rows
    assert query_catalog(None, "from v_chunk_min select count(*);", db_path=db).rows == [(5,)]
    assert query_catalog(None, "with a as (select 2 as x) select x from a", db_path=db).rows == [(2,)]
    # json is built in: it needs no extension loading
    assert query_catalog(None, """select json_extract('{"a": 1}', '$.a') as a""", db_path=db).rows == [("1",)]


def test_query_runs_beside_a_cached_hydration_connection(db: Path) -> None:
    """DuckDB refuses a second configuration of one file per process: the query uses its own."""
    held = duckdb.connect(str(db), read_only=True)
    try:
        assert query_catalog(None, "select count(*) from v_chunk_min", db_path=db).rows == [(5,)]
        assert held.execute("select count(*) from v_chunk_min").fetchall() == [(5,)]
    finally:
        held.close()


def test_prepare_hook_registers_a_udf_before_the_lock(db: Path) -> None:
    def prepare(con: duckdb.DuckDBPyConnection) -> None:
        con.create_function("twice", lambda x: 2 * x, ["BIGINT"], "BIGINT")

    res = query_catalog(
        None, "select twice(max(chunk_id)) as x from v_chunk_min", db_path=db, prepare=prepare
    )
    assert res.rows == [(8,)]
    with pytest.raises(QueryRefusedError):  # the configuration is locked after the hook
        query_catalog(None, "select * from read_text('/etc/hostname')", db_path=db, prepare=prepare)


def test_cli_refusal_exits_2(run_cli, db: Path, tmp_path: Path) -> None:
    res = run_cli("catalog", "query", f"copy (select 1) to '{tmp_path}/x.csv'", "--db", db)
    assert res.exit_code == 2, res.stderr
    assert "Error: copy statements are refused" in res.stderr
    assert not (tmp_path / "x.csv").exists()


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


def test_open_catalog_is_the_same_locked_down_connection(db: Path) -> None:
    """open_catalog (notebooks) and query_catalog share one opener: embed() registered, then
    external access off and the configuration locked, so a notebook connection cannot read
    files or switch the lock-down back either."""
    from python_ext.catalog.semantic import open_catalog

    with open_catalog(db_path=db) as con:
        row = con.execute("select current_database(), count(*) from v_chunk_min").fetchone()
        assert row == ("codeintel", 5)
        assert con.execute("select embed(null) is null").fetchone() == (True,)
        with pytest.raises(duckdb.PermissionException):
            con.execute("select * from read_text('/etc/hostname')")
        with pytest.raises(duckdb.Error, match="lock"):
            con.execute("set enable_external_access = true")
        with pytest.raises(duckdb.Error):
            con.execute("create table t as select 1")
