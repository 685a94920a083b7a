"""`indexctl ingest` and `indexctl validate chunks` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.ingest.chunk_ingest import ingest_repository


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_ingest_json_then_read_back(run_cli, tiny_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    result = run_cli("ingest", tiny_repo, "--embedder", "hashing", "--out", out, "--json", "--quiet")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["embedder"] == "hashing-v1-d256" and summary["embedding_kind"] == "lexical"
    assert summary["files_ingested"] == 18 and summary["chunks_added"] == summary["chunks"]
    table = pq.read_table(out / "vectors" / "chunks" / "chunks-00000.parquet")
    assert table.num_rows == summary["chunks"]
    assert table.schema.metadata[b"codeintel.embedding.kind"] == b"lexical"
    assert set(table.column("lang").to_pylist()) >= {
        "python",
        "go",
        "rust",
        "java",
        "javascript",
        "typescript",
    }

    again = run_cli("ingest", tiny_repo, "--out", out, "--json", "--quiet")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["chunks_unchanged"] == summary["chunks"]

    ok = run_cli("validate", "chunks", out)
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    assert _flat(ok.stdout) == f"OK: 1 file(s) under {out} match the chunks contract"
    ok_json = run_cli("validate", "chunks", out / "vectors" / "chunks", "--json")
    assert ok_json.exit_code == 0 and json.loads(ok_json.stdout) == []


def test_ingest_human_summary_and_filters(run_cli, tiny_repo: Path, tmp_path: Path) -> None:
    result = run_cli(
        "ingest",
        tiny_repo,
        "--embedder",
        "hashing",
        "--out",
        tmp_path / "d",
        "--languages",
        "python",
        "--chunk-budget",
        "300",
        "-q",
    )
    assert result.exit_code == 0, result.stderr
    assert "files_ingested" in result.stdout and "language_filtered" in result.stdout
    langs = set(chunkstore.read_chunks(tmp_path / "d", columns=["lang"]).column("lang").to_pylist())
    assert langs == {"python"}


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["/no/such/repo"],
            1,
            "Error: repository not found: /no/such/repo",
        ),
        (["."], 2, "Error: unknown embedder 'bert' Hint: use --embedder with one of: hashing, minilm"),
        ([], 2, "missing REPO (or --precomputed FILE)"),
        (["."], 2, "Error: unknown language(s) in --languages: cobol"),
    ],
)
def test_ingest_errors(run_cli, tmp_path: Path, args: list[str], code: int, message: str) -> None:
    extra = []
    if "bert" in message:
        extra = ["--embedder", "bert"]
    if "cobol" in message:
        extra = ["--languages", "python,cobol"]
    result = run_cli("ingest", *args, "--out", tmp_path / "d", *extra)
    assert result.exit_code == code
    assert message in _flat(result.stderr)
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--embedder", "hashing", "--embedder-backend", "onnx"],
            2,
            "Error: --embedder-backend applies to the minilm embedder, not to 'hashing' "
            "Hint: drop --embedder-backend, or use --embedder minilm",
        ),
        (
            ["--embedder", "minilm", "--embedder-backend", "tensorrt"],
            2,
            "Error: unknown embedder backend 'tensorrt' Hint: use --embedder-backend with one of: "
            "auto, torch, cuda, onnx, onnx-int8, openvino, openvino-bf16",
        ),
        (
            ["--precomputed", "x.parquet", "--embedder-backend", "onnx"],
            2,
            "--embedder/--embedder-backend do not apply to --precomputed",
        ),
    ],
)
def test_ingest_backend_errors_name_the_option_and_write_nothing(
    run_cli, tiny_repo: Path, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    repo = [] if "--precomputed" in args else [tiny_repo]
    result = run_cli("ingest", *repo, *args, "--out", tmp_path / "d", "--quiet")
    assert result.exit_code == code, result.stdout + result.stderr
    assert message in _flat(result.stderr)
    assert not (tmp_path / "d").exists()


def test_ingest_refuses_a_backend_this_machine_cannot_run(run_cli, tiny_repo: Path, tmp_path: Path) -> None:
    from python_ext.embed import backends as be

    pytest.importorskip("sentence_transformers")
    if be.cuda_available():
        pytest.skip("a CUDA GPU is visible: the cuda backend can run here")
    result = run_cli("ingest", tiny_repo, "--embedder-backend", "cuda", "--out", tmp_path / "d", "--quiet")
    assert result.exit_code == 2, result.stdout + result.stderr  # a flag value (ConfigError): usage
    err = _flat(result.stderr)
    assert "Error: embedder backend 'cuda' cannot run here: torch sees no CUDA GPU" in err
    assert "Hint: available here: torch" in err
    assert not (tmp_path / "d").exists()


def test_ingest_conflicting_inputs(run_cli, tiny_repo: Path, tmp_path: Path) -> None:
    result = run_cli("ingest", tiny_repo, "--precomputed", tmp_path / "x.parquet", "--out", tmp_path / "d")
    assert result.exit_code == 2
    assert "give either REPO or --precomputed FILE, not both" in _flat(result.stderr)


def test_precomputed_import_via_cli(run_cli, tiny_repo: Path, tmp_path: Path) -> None:
    src = DataRoot(tmp_path / "src")
    ingest_repository(src, tiny_repo, embedder="hashing")
    table = chunkstore.read_chunks(src).drop_columns(["embedding"]).replace_schema_metadata(None)
    vectors = np.random.default_rng(3).normal(size=(table.num_rows, 2560)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    table = table.append_column("embedding", pa.array(list(vectors), pa.list_(pa.float32())))
    path = tmp_path / "ext.parquet"
    pq.write_table(table, path)
    out = tmp_path / "d"
    result = run_cli("ingest", "--precomputed", path, "--model", "ext-2560", "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["dim"], summary["embedding_kind"], summary["embedder"]) == (
        2560,
        "precomputed",
        "ext-2560",
    )
    assert run_cli("validate", "chunks", out).exit_code == 0


def test_validate_reports_problems_with_exit_3(run_cli, tiny_repo: Path, tmp_path: Path) -> None:
    root = DataRoot(tmp_path / "d")
    ingest_repository(root, tiny_repo, embedder="hashing")
    table = chunkstore.read_chunks(root)
    rows = table.to_pylist()
    rows[1]["id"] = rows[0]["id"]
    rows[2]["embedding"] = [0.0] * 256
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), bad)
    result = run_cli("validate", "chunks", bad, "--json")
    assert result.exit_code == 3
    problems = json.loads(result.stdout)
    assert {"file": str(bad), "row": 2, "column": "embedding", "message": "zero vector"} in problems
    assert any(
        p["row"] == 1 and p["column"] == "id" and p["message"].startswith("duplicate id") for p in problems
    )
    assert f"Error: {len(problems)} problem(s) in 1 file(s) under {bad}" in _flat(result.stderr)
    human = run_cli("validate", "chunks", bad)
    assert human.exit_code == 3 and "zero vector" in human.stdout
    missing = run_cli("validate", "chunks", tmp_path / "nope")
    assert missing.exit_code == 1
    assert f"Error: no such file or folder: {tmp_path / 'nope'}" in _flat(missing.stderr)
