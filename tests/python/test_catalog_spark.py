"""The dbt project on Spark: `dbt build --target spark` (dbt-spark session mode, a local pyspark)
on the fixture data root passes every model and test, and every mart holds the same rows as the
DuckDB catalog built from the same data root.

Skips, saying why, when Java or the `spark` extra (dbt-spark[session], pyspark) is absent. Slow:
each dbt node costs Spark a few seconds of planning (docs/catalog.md#spark).
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib.util
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from python_ext.catalog.dbt_runner import describe_failures, find_project_dir, run_dbt
from python_ext.catalog.hydrate import close_connections
from python_ext.catalog.refresh import refresh_catalog
from python_ext.config import DataRoot

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import catalog_data
from test_catalog_dbt import MARTS

#: Marts that only DuckDB can fill: Spark SQL cannot read Parquet key-value metadata, where the
#: chunks files record their embedder (docs/catalog.md#spark). On Spark they are empty.
DUCKDB_ONLY = ["v_embedding_model"]
#: Compared row for row too: test_catalog_dbt's MARTS, then marts the fixture has rows for.
#: (v_ast_nodes is empty on the fixture, which writes no AST facts; it was compared by hand on a
#: real ingest, docs/catalog.md#spark.)
PARITY = [*MARTS, "v_symbol_callers", "catalog_inputs", "catalog_build"]


def _missing() -> str | None:
    if shutil.which("java") is None:
        return "no `java` on PATH: the spark target needs a JDK 17 or 21 for pyspark"
    for module, what in (("pyspark", "pyspark"), ("dbt.adapters.spark", "dbt-spark[session]")):
        if importlib.util.find_spec(module) is None:
            return f"{what} is not installed: pip install -e '.[spark]' (the spark extra)"
    return None


pytestmark = [
    pytest.mark.slow,
    # two builds of the fixture (DuckDB, then Spark: ~180 nodes at 2-5 s each) and an export
    pytest.mark.timeout(2700),
    pytest.mark.skipif(_missing() is not None, reason=_missing() or ""),
]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory):
    """The fixture data root built once on DuckDB (the catalog) and once on Spark."""
    base = tmp_path_factory.mktemp("spark")
    root = DataRoot(base / "data")
    planted = catalog_data.write_data_root(root.root)
    duck = refresh_catalog(root, db_path=root.db_path)
    close_connections()
    spark_dir = base / "spark"
    env = {
        "CODEINTEL_SPARK_DIR": str(spark_dir),
        "CODEINTEL_DBT_PROJECT_DIR": str(find_project_dir()),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        run = run_dbt(
            ["build", "--target", "spark"], data_root=root.root, db_path=base / "spark-run" / "unused.duckdb"
        )
    exported = base / "exported"
    if run.ok:
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).parent / "_spark_export.py"), str(spark_dir), str(exported)]
            + [f"main.{m}" for m in [*PARITY, *DUCKDB_ONLY]],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-4000:]
    return root, planted, duck, run, exported


def _norm(value: Any) -> Any:
    """A value in a form both engines agree on (timestamps in UTC, numbers as floats)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple]]:
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    rows = [tuple(_norm(v) for v in row) for row in cur.fetchall()]
    return cols, sorted(rows, key=repr)


def test_spark_build_passes_every_model_and_test(both) -> None:
    _, _, duck, run, _ = both
    assert run.ok, describe_failures(run)
    assert run.count("model", "success") == duck.models
    assert run.count("test", "pass") + run.count("unit_test", "pass") == duck.tests_passed
    assert run.count("seed", "success") >= 3


#: faiss_idmap_mat.source_checksum is "<idmap sha256>:<chunk count>:<64-bit hash of the chunk
#: keys>"; the hash is DuckDB's hash() on DuckDB and xxhash64() on Spark (different functions),
#: so only its first two parts are compared across engines.
ENGINE_SPECIFIC = {
    "faiss_idmap_mat": {"source_checksum": "regexp_replace(source_checksum, ':[-0-9]+$', '')"},
    # Spark's binaryFile lists modification times in milliseconds, DuckDB's read_blob in
    # microseconds
    "catalog_inputs": {"modified_at": "date_trunc('millisecond', modified_at)"},
    # one build's own facts: its dbt invocation id and time, and the DuckDB version (null on Spark)
    "catalog_build": {"build_id": "null", "built_at": "null", "duckdb_version": "null"},
}


def _select(mart: str) -> str:
    replaced = ENGINE_SPECIFIC.get(mart, {})
    if not replaced:
        return "*"
    return "* replace (" + ", ".join(f"{expr} as {col}" for col, expr in replaced.items()) + ")"


@pytest.mark.parametrize("mart", PARITY)
def test_mart_agrees_row_for_row_with_duckdb(both, mart: str) -> None:
    root, _, _, run, exported = both
    assert run.ok, describe_failures(run)
    con = duckdb.connect(str(root.db_path), read_only=True)
    try:
        duck_cols, duck_rows = _rows(con, f"select {_select(mart)} from main.{mart}")
        spark_cols, spark_rows = _rows(
            con, f"select {_select(mart)} from read_parquet('{(exported / mart).as_posix()}/*.parquet')"
        )
    finally:
        con.close()
    assert spark_cols == duck_cols
    assert len(spark_rows) == len(duck_rows) > 0
    assert spark_rows == duck_rows


@pytest.mark.parametrize("mart", DUCKDB_ONLY)
def test_duckdb_only_mart_is_empty_on_spark(both, mart: str) -> None:
    root, _, _, run, exported = both
    assert run.ok, describe_failures(run)
    con = duckdb.connect(str(root.db_path), read_only=True)
    try:
        assert con.execute(f"select count(*) from main.{mart}").fetchone()[0] >= 1
        spark_rows = con.execute(
            f"select count(*) from read_parquet('{(exported / mart).as_posix()}/*.parquet')"
        )
        assert spark_rows.fetchone()[0] == 0
    finally:
        con.close()
