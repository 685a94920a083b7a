# ruff: noqa: F811  (session fixtures imported from _scip_support are redefined as arguments)
"""CLI: indexctl scip import|index, modules, graph, facts (exit codes, JSON output, error text)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _scip_support import PKGDEMO, PKGDEMO_JSON, pkgdemo_index, pkgdemo_repo  # noqa: F401

TINY = Path(__file__).resolve().parent / "fixtures" / "tiny_repo"


def test_scip_import_json_output(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "data"
    result = run_cli("scip", "import", PKGDEMO_JSON, "--repo", PKGDEMO, "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["format"], summary["documents"], summary["tool"]) == ("json", 4, "scip-python 0.6.6")
    assert summary["occurrences"] == pq.read_table(out / "scip" / "scip_occurrences.parquet").num_rows


def test_scip_import_table_output(run_cli, tmp_path: Path) -> None:
    result = run_cli("scip", "import", PKGDEMO_JSON, "--out", tmp_path / "data", "-q")
    assert result.exit_code == 0, result.stderr
    assert "scip import" in result.stdout and "occurrences" in result.stdout
    assert result.stderr == ""


def test_scip_import_truncated_index_fails(run_cli, pkgdemo_index: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.scip"
    cut.write_bytes(pkgdemo_index.read_bytes()[:100])
    result = run_cli("scip", "import", cut, "--out", tmp_path / "data", "-q")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {cut}: truncated SCIP index: field 2 at byte ")
    assert "Hint: the file is incomplete; re-run the indexer" in result.stderr
    assert not (tmp_path / "data" / "scip" / "scip_occurrences.parquet").exists()


def test_scip_import_missing_file(run_cli, tmp_path: Path) -> None:
    result = run_cli("scip", "import", tmp_path / "nope.scip", "--out", tmp_path / "data")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"Error: SCIP index not found: {tmp_path / 'nope.scip'}"


def test_scip_index_runs_scip_python(
    run_cli, pkgdemo_repo: Path, pkgdemo_index: Path, tmp_path: Path
) -> None:
    out = tmp_path / "idx.scip"
    result = run_cli("scip", "index", pkgdemo_repo, "--output", out, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["index"] == str(out) and summary["project_name"] == "pkgdemo" and summary["copied_sources"]
    # deterministic: same sources and version "0" give the same documents (project_root differs)
    assert _documents(out) == _documents(pkgdemo_index)


def _documents(index: Path) -> list[tuple[str, list]]:
    from python_ext.facts.scip.decode import Document, iter_scip_binary

    return [(d.relative_path, d.occurrences) for d in iter_scip_binary(index) if isinstance(d, Document)]


def test_scip_index_missing_repo(run_cli, tmp_path: Path) -> None:
    result = run_cli("scip", "index", tmp_path / "absent")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"Error: repository not found: {tmp_path / 'absent'}"


def test_modules_command(run_cli, tmp_path: Path) -> None:
    result = run_cli("modules", TINY, "--out", tmp_path / "data", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["modules"], summary["import_edges"], summary["source"]) == (17, 15, "repository")


def test_modules_from_jsonl_and_flag_errors(run_cli, tmp_path: Path) -> None:
    src = tmp_path / "modules.jsonl"
    src.write_text('{"module_id": "a", "uri_prefix": "a/"}\n')
    first = run_cli("modules", "--from-jsonl", src, "--out", tmp_path / "data", "--json")
    assert first.exit_code == 0 and json.loads(first.stdout)["skipped"] is False
    second = run_cli("modules", "--from-jsonl", src, "--out", tmp_path / "data", "--json")
    assert json.loads(second.stdout)["skipped"] is True
    both = run_cli("modules", TINY, "--from-jsonl", src, "--out", tmp_path / "data")
    assert both.exit_code == 2
    assert both.stderr.splitlines()[0] == "Error: pass exactly one of REPO and --from-jsonl FILE"


def test_graph_command(run_cli, tmp_path: Path) -> None:
    result = run_cli("graph", TINY, "--out", tmp_path / "data", "--json", "-q")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["source"] == "tree-sitter" and summary["by_kind"]["calls"] > 20


def test_graph_from_scip_only(run_cli, pkgdemo_index: Path, tmp_path: Path) -> None:
    result = run_cli("graph", "--scip", pkgdemo_index, "--out", tmp_path / "data", "--json", "-q")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["source"] == "scip" and summary["by_kind"]["inherits"] == 1


def test_facts_command_runs_everything(
    run_cli, pkgdemo_repo: Path, pkgdemo_index: Path, tmp_path: Path
) -> None:
    """``--run-scip`` (pkgdemo_index makes sure scip-python is installed first)."""
    out = tmp_path / "data"
    result = run_cli("facts", pkgdemo_repo, "--run-scip", "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["scip_run"][0]["index"] == str(out.resolve() / "scip" / "index.scip")
    assert summary["scip"]["documents"] == 4
    for rel in ("modules/modules.parquet", "symbol_graph/symbol_edges.parquet", "scip/scip_symbols.parquet"):
        assert (out / rel).is_file()


def test_facts_conflicting_flags(run_cli, tmp_path: Path) -> None:
    result = run_cli("facts", TINY, "--scip", PKGDEMO_JSON, "--run-scip", "--out", tmp_path / "data")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "Error: --scip and --run-scip exclude each other"


@pytest.mark.parametrize(
    "args", [("scip", "import"), ("scip", "index"), ("modules",), ("graph",), ("facts",)]
)
def test_help(run_cli, args: tuple[str, ...]) -> None:
    result = run_cli(*args, "-h")
    assert result.exit_code == 0
    assert "Example: indexctl" in result.stdout


def test_ingest_with_scip_writes_every_fact(
    run_cli, pkgdemo_repo: Path, pkgdemo_index: Path, tmp_path: Path
) -> None:
    import duckdb

    out = tmp_path / "data"
    result = run_cli(
        "ingest", pkgdemo_repo, "--embedder", "hashing", "--scip", pkgdemo_index, "--out", out, "--json", "-q"
    )
    assert result.exit_code == 0, result.stderr
    facts = json.loads(result.stdout)["facts"]
    assert facts["scip"]["documents"] == 4 and facts["graph"]["source"] == "scip+tree-sitter"
    for rel in ("modules/modules.parquet", "symbol_graph/symbol_edges.parquet", "scip/scip_symbols.parquet"):
        assert (out / rel).is_file(), rel
    con = duckdb.connect()
    params = {"chunks": f"{out}/vectors/chunks/*.parquet", "occ": f"{out}/scip/scip_occurrences.parquet"}
    # every definition occurrence lies inside a chunk of its file, and that chunk lists the symbol
    orphans = con.execute(
        """select o.symbol from read_parquet($occ) o
           where o.role = 'def' and o.symbol not like 'local %' and not exists (
              select 1 from read_parquet($chunks) c where c.uri = o.uri and o.start_line >= c.start_line
              and o.end_line <= c.end_line and list_contains(c.symbols, o.symbol))""",
        params,
    ).fetchall()
    assert orphans == []
    circle = con.execute(
        "select symbols from read_parquet($chunks) where uri = 'shapes/circle.py' order by start_line",
        {"chunks": params["chunks"]},
    ).fetchall()
    assert any("scip-python python pkgdemo 0 `shapes.circle`/Circle#" in row[0] for row in circle)


def test_ingest_without_scip_keeps_tree_sitter_symbols(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "data"
    result = run_cli("ingest", TINY, "--embedder", "hashing", "--out", out, "--json", "-q")
    assert result.exit_code == 0, result.stderr
    facts = json.loads(result.stdout)["facts"]
    assert facts["scip"] is None and facts["modules"]["modules"] == 17
    symbols = {
        s for row in pq.read_table(out / "vectors" / "chunks").column("symbols").to_pylist() for s in row
    }
    assert "tinylib.geometry.shapes.Circle" in symbols
    assert pq.read_table(out / "scip" / "scip_occurrences.parquet").num_rows == 0


def test_ingest_scip_needs_facts(run_cli, tmp_path: Path) -> None:
    result = run_cli(
        "ingest",
        TINY,
        "--embedder",
        "hashing",
        "--scip",
        PKGDEMO_JSON,
        "--no-facts",
        "--out",
        tmp_path / "data",
    )
    assert result.exit_code == 2
    assert "--scip/--run-scip need REPO and --facts" in result.stderr


def test_rejected_ingest_with_run_scip_writes_nothing(run_cli, pkgdemo_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "d"
    result = run_cli("ingest", pkgdemo_repo, "--run-scip", "--embedder", "bert", "--out", out)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "Error: unknown embedder 'bert'"
    assert not out.exists()


def test_scip_index_with_a_missing_executable(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEINTEL_SCIP_PYTHON", str(tmp_path / "no-scip-python"))
    result = run_cli("scip", "index", PKGDEMO, "--output", tmp_path / "i.scip")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert (
        lines[0]
        == f"Error: $CODEINTEL_SCIP_PYTHON points at {tmp_path / 'no-scip-python'}, which does not exist"
    )
    assert lines[1].startswith("Hint: run `bash scripts/bootstrap.sh` (or `npm install --prefix .cache/node ")
    assert not (tmp_path / "i.scip").exists()


def test_scip_index_never_follows_symlinks_out_and_survives_a_fifo(run_cli, tmp_path: Path) -> None:
    """Reproductions: `--run-scip` followed a symlink out of the repository and copied the outside
    file's text into the data root; a FIFO crashed `scip index`."""
    import os

    from _scip_support import ensure_scip_python

    ensure_scip_python()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text('def leak():\n    """TOPSECRET-OUTSIDE text."""\n    return 1\n')
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "__init__.py").write_text("")
    (repo / "pkg" / "core.py").write_text(
        'def area(r):\n    """Area of a circle."""\n    return 3.14 * r * r\n'
    )
    (repo / "pkg" / "leak.py").symlink_to(outside / "secret.py")
    (repo / "linked_dir").symlink_to(outside, target_is_directory=True)
    os.mkfifo(repo / "pkg" / "pipe.py")
    (repo / "pyproject.toml").write_text('[project]\nname = "repo"\nversion = "0"\n')

    data = tmp_path / "data"
    result = run_cli(
        "ingest", repo, "--out", data, "--embedder", "hashing", "--facts", "--run-scip", "-q", "--json"
    )
    assert result.exit_code == 0, result.stderr
    texts = []
    for parquet in (data / "scip").glob("*.parquet"):
        texts.append(json.dumps(pq.read_table(parquet).to_pylist(), default=str))
    blob = "\n".join(texts)
    assert "pkg/core.py" in blob and "Area of a circle." in blob
    assert "TOPSECRET" not in blob and "leak" not in blob and "linked_dir" not in blob
    for written in (p for p in data.rglob("*") if p.is_file()):  # parquet and the raw index.scip
        assert b"TOPSECRET" not in written.read_bytes(), written


def test_scip_import_refuses_paths_out_of_the_repository(run_cli, tmp_path: Path) -> None:
    index = json.loads(PKGDEMO_JSON.read_text())
    index["documents"][0]["relative_path"] = "../../etc/passwd"
    bad = tmp_path / "bad.scip.json"
    bad.write_text(json.dumps(index))
    result = run_cli("scip", "import", bad, "--repo", PKGDEMO, "--out", tmp_path / "data", "-q")
    assert result.exit_code == 1
    assert "relative_path '../../etc/passwd' is not a path inside the repository" in result.stderr
