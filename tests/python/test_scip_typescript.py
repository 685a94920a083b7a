"""scip-typescript (installed from npm into .cache/node by the bootstrap), run offline on the
TypeScript/JavaScript fixture, imported with scip-python's index into one set of SCIP tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _scip_support import ensure_scip_typescript

from python_ext.facts.builder import ingest_with_facts
from python_ext.facts.scip.indexer import run_scip_typescript

CHUNKING = Path(__file__).resolve().parent / "fixtures" / "chunking"


@pytest.fixture(scope="module")
def ts_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ensure_scip_typescript()
    repo = tmp_path_factory.mktemp("ts") / "shop"
    shutil.copytree(CHUNKING, repo)
    return repo


def test_scip_typescript_indexes_a_copy_never_the_repository(ts_repo: Path, tmp_path: Path) -> None:
    before = sorted(p.relative_to(ts_repo) for p in ts_repo.rglob("*"))
    result = run_scip_typescript(ts_repo, tmp_path / "index.scip")
    assert sorted(p.relative_to(ts_repo) for p in ts_repo.rglob("*")) == before  # no tsconfig.json written
    assert result.indexer == "scip-typescript" and result.files == 3 and result.size_bytes > 0


def test_ingest_with_both_indexers(ts_repo: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    summary = ingest_with_facts(root, ts_repo, run_scip=True, embedder="hashing")
    facts = summary.facts
    tools = {part["tool"].split()[0]: part for part in facts["scip"]["by_index"]}
    assert set(tools) == {"scip-python", "scip-typescript"}
    assert tools["scip-typescript"]["documents"] == 3 and tools["scip-python"]["documents"] >= 2
    assert {r["indexer"] for r in facts["scip_run"]} == {"scip-python", "scip-typescript"}
    occurrences = pq.read_table(root / "scip" / "scip_occurrences.parquet", columns=["uri", "symbol"])
    uris = set(occurrences.column("uri").to_pylist())
    assert {"docs.ts", "format.ts", "events.js", "pkg/docs.py"} <= uris
    assert any("formatPrice" in s for s in occurrences.column("symbol").to_pylist())
    edges = pq.read_table(root / "symbol_graph" / "symbol_edges.parquet").to_pylist()
    ts_calls = [e for e in edges if e["edge"] == "calls" and (e["src_uri"] or "").endswith((".ts", ".js"))]
    assert ts_calls and {e["resolution"] for e in ts_calls} == {"scip"}
    # Go, Rust and Java have no SCIP indexer here: their edges stay tree-sitter's
    go = [e for e in edges if (e["src_uri"] or "").endswith(".go") and e["edge"] == "calls"]
    assert go and {e["resolution"] for e in go} <= {"same_module", "import", "name_only"}
    # chunks of TypeScript files carry SCIP symbols now
    chunks = pq.read_table(summary.chunk_files[0], columns=["uri", "symbols"]).to_pylist()
    assert any(
        s.startswith("scip-typescript ") for c in chunks if c["uri"] == "docs.ts" for s in c["symbols"]
    )
