"""`indexctl eval …` and `indexctl pipeline` through the real CLI entry point."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from eval_data import build_tiny_data_root

from python_ext.config import DataRoot


@pytest.fixture
def indexed(tiny_repo: Path, data_root: DataRoot) -> DataRoot:
    return build_tiny_data_root(tiny_repo, data_root, index=True)


def test_queries_run_and_runs(indexed: DataRoot, run_cli: Callable) -> None:
    root = indexed.root
    res = run_cli("eval", "queries", "--data-root", root, "--json")
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["path"] == str(indexed.queries_path)
    assert summary["by_origin"]["docstring"] > 0 and summary["by_origin"]["user"] == 0

    res = run_cli("eval", "run", "--data-root", root, "--k", "5", "--json")
    assert res.exit_code == 0, res.stderr
    run = json.loads(res.stdout)
    assert [m["source"] for m in run["metrics"]] == ["faiss", "flat", "bm25", "hybrid"]
    assert run["k"] == 5 and Path(run["pool_path"]).exists()
    assert "LEXICAL embedder hashing" in res.stderr  # the lexical label is never hidden

    res = run_cli("eval", "run", "--data-root", root, "--channels", "bm25,hybrid", "--rrf-k0", "10", "-q")
    assert res.exit_code == 0, res.stderr
    assert "recall@10" in res.stdout and "hybrid = RRF(k0=10, cutoff=10) over bm25" in res.stdout

    res = run_cli("eval", "runs", "--data-root", root, "--json")
    runs = json.loads(res.stdout)
    assert [r["rrf_k0"] for r in runs] == [10, 60]  # newest first
    res = run_cli("eval", "runs", "--data-root", root)
    assert res.exit_code == 0 and "recall@k" in res.stdout and "hybrid" in res.stdout


def test_runs_empty_is_an_empty_json_list(data_root: DataRoot, run_cli: Callable) -> None:
    res = run_cli("eval", "runs", "--data-root", data_root.root, "--json")
    assert res.exit_code == 0 and json.loads(res.stdout) == []


def test_run_without_queries_names_the_fix(indexed: DataRoot, run_cli: Callable) -> None:
    res = run_cli("eval", "run", "--data-root", indexed.root)
    assert res.exit_code == 1
    assert f"Error: no evaluation queries at {indexed.queries_path}" in res.stderr
    assert "Hint: generate them first: indexctl eval queries" in res.stderr


def test_unknown_channel_is_a_known_error(indexed: DataRoot, run_cli: Callable) -> None:
    run_cli("eval", "queries", "--data-root", indexed.root, "-q")
    res = run_cli("eval", "run", "--data-root", indexed.root, "--channels", "faiss,colbert")
    assert res.exit_code == 2  # a bad flag value is a usage error
    assert "Error: unknown channel(s) colbert" in res.stderr


def test_import_run_valid_and_malformed(indexed: DataRoot, run_cli: Callable, tmp_path: Path) -> None:
    run_cli("eval", "queries", "--data-root", indexed.root, "-q")
    from python_ext.evaluate.queries import read_queries

    q = read_queries(indexed)[0]
    good = tmp_path / "splade.tsv"
    good.write_text(f"{q.query_id}\t{q.positives[0]}\t3.5\n", encoding="utf-8")
    res = run_cli("eval", "import-run", "--source", "splade", good, "--data-root", indexed.root, "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["rows"] == 1

    bad = tmp_path / "bad.trec"
    bad.write_text(f"{q.query_id} Q0 {q.positives[0]} 1 2.0 x\n{q.query_id} Q0 77 2\n", encoding="utf-8")
    res = run_cli("eval", "import-run", "--source", "splade", bad, "--data-root", indexed.root)
    assert res.exit_code == 1
    assert f"{bad}:2: expected 6 fields 'qid Q0 docid rank score tag', got 4" in res.stderr


def test_help_works(run_cli: Callable) -> None:
    for args in (("eval", "-h"), ("eval", "run", "-h"), ("pipeline", "-h")):
        res = run_cli(*args)
        assert res.exit_code == 0 and "Usage" in res.stdout


def test_pipeline_cli_json(tiny_repo: Path, data_root: DataRoot, run_cli: Callable) -> None:
    res = run_cli(
        "pipeline", tiny_repo, "--data-root", data_root.root, "--embedder", "hashing",
        "--no-scip", "--no-catalog", "--json", "-k", "5",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["embedding_kind"] == "lexical"
    assert [s["stage"] for s in doc["stages"]][-2:] == ["catalog refresh", "report"]
    assert [s["skipped"] for s in doc["stages"]][-2:] == ["--no-catalog", "--no-catalog"]
    assert doc["counts"]["queries"] > 0 and doc["example_sql"] == [] and doc["report"] is None
    res = run_cli("pipeline", tiny_repo, "--data-root", data_root.root, "--embedder", "hashing", "--no-scip",
                  "--no-catalog", "-q")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "retrieval metrics per channel" in res.stdout and "LEXICAL hashing embedder" in res.stdout
