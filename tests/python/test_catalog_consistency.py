"""The catalog always matches what is published (issue 12): CURRENT, not the symlink; publish
and rollback refresh it; `catalog status` tells when it is stale; vars and severities cannot
weaken it; killed refreshes leave nothing behind.

Every test runs real `dbt` (refresh, or a selected compile/run) on real data roots.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import catalog_data

from python_ext.catalog.dbt_runner import run_dbt
from python_ext.catalog.refresh import BUILD_DIR_PREFIX, refresh_catalog, remove_stale_build_dirs
from python_ext.catalog.status import catalog_status
from python_ext.config import DataRoot
from python_ext.errors import ConfigError, StaleCatalogWarning

REPO = Path(__file__).resolve().parents[2]


def _q(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _second_version(root: DataRoot) -> str:
    """A complete older version v0000 with its own (3-row) id map, as a real rollback target."""
    import pyarrow.parquet as pq

    src = root.version_dir(catalog_data.VERSION)
    old = root.version_dir("v0000")
    table = pq.read_table(src / "faiss_idmap.parquet").slice(0, 3)
    table = table.set_column(
        table.schema.get_field_index("build_version"),
        "build_version",
        __import__("pyarrow").array(["v0000"] * 3),
    )
    pq.write_table(table, old / "faiss_idmap.parquet")
    shutil.copyfile(src / "index.faiss", old / "index.faiss")
    return "v0000"


def test_refresh_reads_the_version_current_names_never_the_symlink(tmp_path: Path) -> None:
    """Reproduction: killed between the two flips (CURRENT new, link old), or with the link
    removed, refresh built a catalog of the old version (or of none) and every test passed."""
    root = DataRoot(tmp_path / "data")
    catalog_data.write_data_root(root.root)
    old = _second_version(root)
    root.current_link.unlink()
    os.symlink(f"versions/{old}", root.current_link)  # CURRENT says v0001, the link v0000

    refresh_catalog(root)
    assert _q(root.db_path, "select distinct build_version from faiss_idmap_mat") == [("v0001",)]
    assert _q(root.db_path, "select count(*) from faiss_idmap_mat") == [(12,)]
    assert _q(root.db_path, "select published_version from catalog_build") == [("v0001",)]

    root.current_link.unlink()  # no link at all: plain dbt reads CURRENT too
    db = tmp_path / "plain.duckdb"
    run = run_dbt(
        ["run", "--select", "stg_faiss_idmap", "stg_tuning_frontier"], data_root=root.root, db_path=db
    )
    assert run.ok, run.log[-2000:]
    assert _q(db, "select count(*), min(build_version) from staging.stg_faiss_idmap") == [(12, "v0001")]
    assert _q(db, "select count(*) from staging.stg_tuning_frontier") == [(3,)]


@pytest.mark.parametrize("content", ["", "../../etc\n", "v9999\n"])
def test_a_bad_current_fails_the_build_with_a_clear_message(tmp_path: Path, content: str) -> None:
    root = DataRoot(tmp_path / "data")
    catalog_data.write_data_root(root.root)
    root.current_file.write_text(content)
    db = tmp_path / "plain.duckdb"
    run = run_dbt(["run", "--select", "stg_faiss_idmap"], data_root=root.root, db_path=db)
    assert not run.ok
    assert "faiss/CURRENT" in run.log and "indexctl index publish VERSION" in run.log


def test_vars_are_type_checked_and_severity_cannot_be_lowered(run_cli, tmp_path: Path) -> None:
    """Reproductions: `--var rrf_rank_cutoff=abc` silently became 0; `--var test_severity=warn`
    swapped in a catalog with duplicate chunk ids."""
    root = DataRoot(tmp_path / "data")
    catalog_data.write_data_root(root.root, corrupt={"duplicate_chunk"})
    for var, text in (
        ("rrf_rank_cutoff=abc", "dbt var rrf_rank_cutoff must be an integer, got 'abc'"),
        ("rrf_k0=-1", "dbt var rrf_k0 must be >= 0, got -1"),
        ("idmap_min_coverage=1.5", "dbt var idmap_min_coverage must be >= 0.0 and <= 1.0"),
        ("test_severity=warn", "unknown dbt var 'test_severity'"),
    ):
        res = run_cli("catalog", "refresh", "--data-root", root.root, "--var", var)
        assert res.exit_code == 2, (var, res.stderr)
        assert text in res.stderr, (var, res.stderr)
    assert not root.db_path.exists()

    # plain dbt: the macro refuses the value (the node fails, naming the var) ...
    db = tmp_path / "plain.duckdb"
    run = run_dbt(
        ["compile", "--select", "v_rrf_contrib_by_channel"],
        data_root=root.root,
        db_path=db,
        extra_vars={"rrf_rank_cutoff": "abc"},
    )
    assert not run.ok and 'dbt var rrf_rank_cutoff must be an integer >= 1, got "abc"' in run.log
    # ... and test_severity no longer lowers anything: the duplicate fails the build
    run = run_dbt(["build"], data_root=root.root, db_path=db, extra_vars={"test_severity": "warn"})
    assert not run.ok
    assert any(n.name.startswith("unique_stg_chunks_chunk_id") and n.status == "fail" for n in run.nodes)


def test_killed_refresh_leaves_no_build_copy(tmp_path: Path) -> None:
    """Reproduction: each killed refresh left a db/.refresh-* copy forever (26 MB -> 155 MB)."""
    root = DataRoot(tmp_path / "data")
    catalog_data.write_data_root(root.root)
    cmd = [sys.executable, "-m", "python_ext", "catalog", "refresh", "--data-root", str(root.root), "-q"]
    proc = subprocess.Popen(
        cmd, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            dirs = list(root.db_path.parent.glob(f"{BUILD_DIR_PREFIX}*"))
            if dirs and (dirs[0] / ".dbt").exists():
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the refresh never started dbt")
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its dbt subprocess
    finally:
        proc.wait(timeout=30)
    left = list(root.db_path.parent.glob(f"{BUILD_DIR_PREFIX}*"))
    assert left, "the kill came too late to test anything"
    assert remove_stale_build_dirs(root.db_path) == left  # what every refresh/test/docs does first
    assert not list(root.db_path.parent.glob(f"{BUILD_DIR_PREFIX}*"))
    # a live build's folder is kept
    live = root.db_path.parent / f"{BUILD_DIR_PREFIX}live"
    live.mkdir()
    (live / ".owner-pid").write_text(str(os.getpid()))
    assert remove_stale_build_dirs(root.db_path) == [] and live.is_dir()


@pytest.mark.slow
def test_publish_refreshes_status_and_search_detect_staleness(
    run_cli, tmp_path: Path, tiny_repo: Path
) -> None:
    """Reproduction: after publish or rollback the catalog described the previous version until
    someone refreshed, and nothing said so."""
    root = DataRoot(tmp_path / "data")
    assert run_cli("ingest", tiny_repo, "--out", root.root, "--embedder", "hashing", "-q").exit_code == 0
    v1 = json.loads(run_cli("index", "build", "--out", root.root, "--factory", "Flat", "--json").stdout)[
        "version"
    ]
    v2 = json.loads(run_cli("index", "build", "--out", root.root, "--factory", "Flat", "--json").stdout)[
        "version"
    ]
    res = run_cli("catalog", "status", "--data-root", root.root)
    assert res.exit_code == 3 and f"there is no catalog at {root.db_path}" in res.stderr
    assert run_cli("catalog", "refresh", "--data-root", root.root, "-q").exit_code == 0
    res = run_cli("catalog", "status", "--data-root", root.root, "--json")
    assert res.exit_code == 0, res.stderr
    status = json.loads(res.stdout)
    assert status["stale"] is False and status["catalog_version"] == v2 == status["published_version"]
    assert status["row_counts"]["v_chunks"] == status["row_counts"]["faiss_idmap_mat"] > 0
    assert status["inputs_recorded"] >= 4  # chunks, CURRENT, id map (twice), manifests

    # publish without refreshing: status and search say the catalog is stale
    res = run_cli("index", "publish", v1, "--no-refresh-catalog", "--out", root.root, "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["catalog"]["refreshed"] is False
    res = run_cli("catalog", "status", "--data-root", root.root)
    assert res.exit_code == 3
    assert f"the catalog describes index version {v2} but faiss/CURRENT names {v1}" in res.stderr
    with pytest.warns(StaleCatalogWarning, match="is stale"):
        from python_ext.search.searcher import search_text

        hits = search_text(root, "parse the config file", 3, content=True)
    assert hits and all(h.uri and h.chunk.content for h in hits)
    res = run_cli("search", "parse the config file", "-k", "2", "--out", root.root)
    assert res.exit_code == 0 and "Warning: the catalog" in res.stderr and "is stale" in res.stderr

    # publish with the default: the catalog follows
    res = run_cli("index", "publish", v2, "--out", root.root, "--json", "-q")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["catalog"]["refreshed"] is True and out["catalog"]["swapped"] is True
    assert _q(root.db_path, "select published_version from catalog_build") == [(v2,)]
    assert _q(root.db_path, "select distinct build_version from faiss_idmap_mat") == [(v2,)]
    assert run_cli("catalog", "status", "--data-root", root.root).exit_code == 0

    # an input changes behind the catalog's back
    chunk_file = next(root.chunks_dir.glob("*.parquet"))
    os.utime(chunk_file, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    stale = catalog_status(root, row_counts=False)
    assert stale.stale and [c.to_dict() for c in stale.changes] == [
        {"source": "ingest.chunks", "path": f"vectors/chunks/{chunk_file.name}", "change": "changed"}
    ]
    res = run_cli("catalog", "status", "--data-root", root.root, "--json")
    assert res.exit_code == 3 and json.loads(res.stdout)["stale"] is True


def test_check_dbt_vars_library() -> None:
    from python_ext.catalog.refresh import check_dbt_vars

    assert check_dbt_vars({"rrf_k0": "30", "idmap_min_coverage": "0.99"}) == {
        "rrf_k0": 30,
        "idmap_min_coverage": 0.99,
    }
    for bad in ({"rrf_k0": "3.5"}, {"rrf_k0": True}, {"eval_regression_tolerance": "nan"}, {"x": 1}):
        with pytest.raises(ConfigError):
            check_dbt_vars(bad)


def test_limit_holds_on_every_view_without_scip_data(tmp_path: Path) -> None:
    """Reproduction (DuckDB 2.0.1): `select edge_id from v_symbol_neighbors limit 3` returned
    every row on catalogs without SCIP data (a CTE joined twice, over an empty table)."""
    root = DataRoot(tmp_path / "data")
    catalog_data.write_data_root(root.root)
    for table in root.scip_occurrences_path, root.scip_symbols_path:
        table.unlink()
    import pyarrow.parquet as pq

    edges = pq.read_table(root.symbol_edges_path)
    more = [dict(r, src_symbol=f"{r['src_symbol']}#{i}") for i in range(400) for r in edges.to_pylist()]
    pq.write_table(
        pq.read_table(root.symbol_edges_path).from_pylist(more, schema=edges.schema), root.symbol_edges_path
    )
    db = tmp_path / "views.duckdb"
    run = run_dbt(["build", "--exclude-resource-type", "test"], data_root=root.root, db_path=db)
    assert run.ok, run.log[-2000:]
    from python_ext.catalog.query import query_catalog

    assert query_catalog(None, "select count(*) from v_symbol_neighbors", db_path=db).rows[0][0] > 1000
    assert len(query_catalog(None, "select edge_id from v_symbol_neighbors limit 3", db_path=db).rows) == 3
    views = [
        r[0]
        for r in _q(db, "select view_name from duckdb_views() where schema_name = 'main' and not internal")
    ]
    assert "v_symbol_neighbors" in views and len(views) > 10
    for view in views:
        rows = query_catalog(None, f'select * from "{view}" limit 3', db_path=db, max_rows=None).rows
        assert len(rows) <= 3, view


def test_forced_rollback_to_other_chunks_never_returns_a_hit_without_a_path(
    run_cli, tmp_path: Path, tiny_repo: Path
) -> None:
    """Reproduction: `index rollback` to a version built on an older chunk set made `search`
    return hits with blank path and lines (exit 0). Without --force it is refused; with --force,
    search answers from the version's own chunk metadata: every hit has its path and lines, and
    text that is no longer in the chunk files is reported as changed, never blank or wrong."""
    from python_ext.search.searcher import search_text

    root = DataRoot(tmp_path / "data")
    other_repo = tmp_path / "other_repo"
    other_repo.mkdir()
    for i in range(3):
        body = f'def helper_{i}(value):\n    """Return value plus {i}."""\n    return value + {i}\n'
        (other_repo / f"mod{i}.py").write_text(body, encoding="utf-8")
    assert run_cli("ingest", tiny_repo, "--out", root.root, "--embedder", "hashing", "-q").exit_code == 0
    args = ("index", "build", "--out", root.root, "--factory", "Flat", "--json")
    old = json.loads(run_cli(*args).stdout)["version"]
    assert run_cli("ingest", other_repo, "--out", root.root, "--embedder", "hashing", "-q").exit_code == 0
    new = json.loads(run_cli(*args).stdout)["version"]

    res = run_cli("index", "rollback", "--no-refresh-catalog", "--out", root.root)
    assert res.exit_code == 1 and f"index version {old} was built from other chunks" in res.stderr
    assert "--force" in res.stderr
    assert (root.faiss_dir / "CURRENT").read_text().strip() == new

    res = run_cli("index", "rollback", "--force", "--no-refresh-catalog", "--out", root.root)
    assert res.exit_code == 0, res.stderr
    assert (root.faiss_dir / "CURRENT").read_text().strip() == old
    hits = search_text(root, "parse the config file", 3, content=True)
    assert len(hits) == 3
    tiny_files = {p.relative_to(tiny_repo).as_posix() for p in tiny_repo.rglob("*") if p.is_file()}
    for hit in hits:
        assert hit.uri in tiny_files and 1 <= hit.start_line <= hit.end_line
        assert hit.chunk.content is None and hit.chunk.content_changed
    res = run_cli("search", "parse the config file", "-k", "3", "--out", root.root, "--json")
    assert res.exit_code == 0, res.stderr
    assert [h["uri"] for h in json.loads(res.stdout)] == [h.uri for h in hits]
