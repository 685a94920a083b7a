"""`indexctl catalog refresh|test|docs` through the real CLI entry point."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import catalog_data


def test_refresh_test_docs(run_cli, tmp_path: Path) -> None:
    root = tmp_path / "data"
    catalog_data.write_data_root(root)
    res = run_cli("catalog", "refresh", "--data-root", root, "--json", "--var", "rrf_k0=30")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["db_path"] == str(root / "db" / "codeintel.duckdb")
    assert out["swapped"] is True and out["faiss_idmap_mat"] == "rebuilt" and out["tests_failed"] == 0

    import duckdb

    con = duckdb.connect(out["db_path"], read_only=True)
    assert con.execute("select distinct rrf_k0 from v_rrf_contrib_by_channel").fetchall() == [(30,)]
    con.close()

    res = run_cli("catalog", "docs", "--data-root", root, "--site", tmp_path / "site", "--json")
    assert res.exit_code == 0, res.stderr
    site = json.loads(res.stdout)
    catalog = json.loads((tmp_path / "site" / "catalog.json").read_text())
    assert "model.codeintel.v_chunks" in catalog["nodes"]
    assert Path(site["index"]).is_file()
    manifest = json.loads((tmp_path / "site" / "manifest.json").read_text())
    exposures = set(manifest["exposures"])
    assert {"exposure.codeintel.indexctl_search", "exposure.codeintel.analyst_duckdb"} <= exposures

    # `catalog test` checks the catalog as built: damage it behind dbt's back, expect exit 3
    # with the failing test and the offending key named
    con = duckdb.connect(out["db_path"])
    bad = con.execute(
        "update staging.stg_faiss_idmap set faiss_id = faiss_id + 1 where faiss_row = 0 returning faiss_id"
    ).fetchone()[0]
    con.close()
    res = run_cli("catalog", "test", "--data-root", root)
    assert res.exit_code == 3
    assert (
        "catalog test(s) failed:" in res.stderr
        and "expression_is_true_stg_faiss_idmap_faiss_id" in res.stderr
    )
    assert f"faiss_id={bad}" in res.stderr


def test_refresh_without_chunks_fails_cleanly(run_cli, tmp_path: Path) -> None:
    root = tmp_path / "data"
    res = run_cli("catalog", "refresh", "--data-root", root)
    assert res.exit_code == 1
    assert f"Error: no chunks Parquet under {root.resolve() / 'vectors' / 'chunks'}" in res.stderr
    assert "Hint: run `indexctl ingest REPO --out DATA_ROOT` first, or pass --data-root" in res.stderr
    assert not (root / "db").exists()


@pytest.mark.parametrize("command", ["test", "docs"])
def test_commands_need_a_catalog(run_cli, tmp_path: Path, command: str) -> None:
    res = run_cli("catalog", command, "--data-root", tmp_path / "data")
    assert res.exit_code == 1
    assert f"Error: no catalog at {(tmp_path / 'data').resolve() / 'db' / 'codeintel.duckdb'}" in res.stderr


def test_bad_var_is_a_usage_error(run_cli, tmp_path: Path) -> None:
    root = tmp_path / "data"
    catalog_data.write_data_root(root, only_chunks=True)
    res = run_cli("catalog", "refresh", "--data-root", root, "--var", "rrf_k0")
    assert res.exit_code == 2
    assert "Error: --var expects NAME=VALUE, got 'rrf_k0'" in res.stderr


def test_help(run_cli) -> None:
    res = run_cli("catalog", "-h")
    assert res.exit_code == 0
    for command in ("refresh", "test", "docs", "query", "status"):
        assert command in res.stdout
