"""Contract validation: every problem with file, row and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.contracts import EmbeddingInfo, chunks_schema, embedding_type
from python_ext.errors import InputError
from python_ext.ingest.chunk_ingest import ingest_repository
from python_ext.ingest.validate import Problem, validate_chunks


@pytest.fixture
def good(tiny_repo: Path, data_root: DataRoot) -> pa.Table:
    ingest_repository(data_root, tiny_repo, embedder="hashing")
    return chunkstore.read_chunks(data_root)


def _with_embedding(table: pa.Table, matrix: np.ndarray, info: EmbeddingInfo) -> pa.Table:
    flat = pa.array(matrix.astype(np.float32).reshape(-1), pa.float32())
    column = pa.FixedSizeListArray.from_arrays(flat, type=embedding_type(matrix.shape[1]))
    idx = table.schema.get_field_index("embedding")
    out = table.set_column(idx, pa.field("embedding", column.type, nullable=False), column)
    return out.replace_schema_metadata(info.to_metadata())


def test_ingested_chunks_are_valid(good: pa.Table, data_root: DataRoot) -> None:
    assert validate_chunks(data_root.root) == []
    assert validate_chunks(data_root.chunks_dir) == []
    assert validate_chunks(chunkstore.chunk_files(data_root)[0]) == []


def test_row_level_problems(good: pa.Table, tmp_path: Path) -> None:
    matrix = chunkstore.embeddings_to_numpy(good.column("embedding")).copy()
    matrix[2, 5] = np.nan
    matrix[3] = 0.0
    matrix[4] *= 2.0
    table = _with_embedding(good, matrix, EmbeddingInfo("hashing-v1-d256", 256, True, "lexical"))
    rows = table.to_pylist()
    rows[6]["id"] = rows[1]["id"]
    rows[7]["content_hash"] = "0" * 16
    rows[8]["start_line"] = 0
    rows[9]["end_byte"] = rows[9]["end_byte"] + 1
    bad = pa.Table.from_pylist(rows, schema=table.schema)
    path = tmp_path / "bad.parquet"
    pq.write_table(bad, path)
    problems = validate_chunks(path)
    found = {(p.row, p.column) for p in problems}
    assert (2, "embedding") in found and (3, "embedding") in found and (4, "embedding") in found
    assert (6, "id") in found and (7, "content_hash") in found and (8, "start_line") in found
    assert (9, "content") in found
    by_row = {p.row: p for p in problems if p.column == "embedding"}
    assert by_row[2].message == "embedding contains NaN"
    assert by_row[3].message == "zero vector"
    assert by_row[4].message.startswith("L2 norm 2.0000, metadata says normalized")
    dup = next(p for p in problems if p.row == 6 and p.column == "id" and "duplicate" in p.message)
    assert dup == Problem(str(path), 6, "id", f"duplicate id {rows[1]['id']} (also at row 1)")
    assert str(dup) == f"{path} row 6 column id: duplicate id {rows[1]['id']} (also at row 1)"


def test_wrong_dimension(good: pa.Table, tmp_path: Path) -> None:
    matrix = np.random.default_rng(0).normal(size=(good.num_rows, 128))
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    table = _with_embedding(good, matrix, EmbeddingInfo("hashing-v1-d256", 256, True, "lexical"))
    path = tmp_path / "dim.parquet"
    pq.write_table(table, path)
    problems = validate_chunks(path)
    assert len(problems) == good.num_rows
    assert problems[0] == Problem(str(path), 0, "embedding", "embedding has 128 values, expected dim 256")


def test_file_level_problems(good: pa.Table, tmp_path: Path) -> None:
    path = tmp_path / "nometa.parquet"
    pq.write_table(good.drop_columns(["symbols"]).replace_schema_metadata(None), path)
    problems = validate_chunks(path)
    assert Problem(str(path), None, "symbols", "missing column") in problems
    assert any(p.column == "embedding" and "no embedding metadata" in p.message for p in problems)
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet")
    (problem,) = validate_chunks(junk)
    assert problem.row is None and problem.message.startswith("not a readable Parquet file")


def test_duplicates_across_files(good: pa.Table, tmp_path: Path) -> None:
    pq.write_table(good, tmp_path / "a.parquet")
    pq.write_table(good.slice(0, 2), tmp_path / "b.parquet")
    problems = validate_chunks(tmp_path)
    assert [(Path(p.file).name, p.row, p.column) for p in problems] == [
        ("b.parquet", 0, "id"),
        ("b.parquet", 1, "id"),
    ]
    assert problems[0].message.endswith(f"(also at {tmp_path / 'a.parquet'} row 0)")


def test_empty_table_is_valid(tmp_path: Path) -> None:
    info = EmbeddingInfo("hashing-v1-d256", 256, True, "lexical")
    path = tmp_path / "empty.parquet"
    pq.write_table(chunks_schema(256, info).empty_table(), path)
    assert validate_chunks(path) == []


def test_missing_path() -> None:
    with pytest.raises(InputError, match=r"no such file or folder: /no/such\.parquet"):
        validate_chunks("/no/such.parquet")
