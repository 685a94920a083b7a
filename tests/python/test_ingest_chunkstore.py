"""Reading the chunks dataset: files, info, streaming batches, fingerprint, atomic replace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.errors import ContractError, InputError
from python_ext.ingest.chunk_ingest import ingest_repository


@pytest.fixture
def ingested(tiny_repo: Path, data_root: DataRoot) -> DataRoot:
    ingest_repository(data_root, tiny_repo, embedder="hashing")
    return data_root


def test_readers(ingested: DataRoot) -> None:
    files = chunkstore.chunk_files(ingested)
    assert [f.name for f in files] == ["chunks-00000.parquet"]
    (ingested.chunks_dir / ".tmp-chunks-00001.parquet.abc").write_bytes(b"partial")
    assert chunkstore.chunk_files(ingested) == files
    n = chunkstore.count_chunks(ingested)
    info = chunkstore.corpus_info(ingested)
    assert (info.model, info.dim, info.kind, info.normalized) == ("hashing-v1-d256", 256, "lexical", True)
    table = chunkstore.read_chunks(ingested, columns=["id", "uri"])
    assert table.num_rows == n and table.column_names == ["id", "uri"]
    seen = []
    for ids, vectors in chunkstore.iter_embedding_batches(ingested, batch_rows=7):
        assert ids.dtype == np.int64 and vectors.dtype == np.float32
        assert vectors.shape == (len(ids), 256) and len(ids) <= 7
        seen.extend(ids.tolist())
    assert seen == chunkstore.read_chunks(ingested).column("id").to_pylist()


def test_fingerprint_ignores_file_split(ingested: DataRoot, tmp_path: Path) -> None:
    table = chunkstore.read_chunks(ingested)
    fp = chunkstore.chunks_fingerprint(ingested)
    assert fp.startswith("sha256:") and fp == chunkstore.fingerprint_table(table)
    other = DataRoot(tmp_path / "other")
    written = chunkstore.replace_chunk_set(
        other, table.take(list(reversed(range(table.num_rows)))), rows_per_file=5
    )
    assert len(written) == -(-table.num_rows // 5)
    assert chunkstore.chunks_fingerprint(other) == fp
    assert chunkstore.count_chunks(other) == table.num_rows
    # a smaller set replaces the bigger one completely (stale files removed)
    chunkstore.replace_chunk_set(other, table.slice(0, 3))
    assert [p.name for p in chunkstore.chunk_files(other)] == ["chunks-00000.parquet"]
    assert chunkstore.count_chunks(other) == 3


def test_disagreeing_files_are_a_contract_error(ingested: DataRoot) -> None:
    table = pq.read_table(chunkstore.chunk_files(ingested)[0])
    meta = dict(table.schema.metadata)
    meta[b"codeintel.embedding.model"] = b"other-model"
    pq.write_table(table.replace_schema_metadata(meta), ingested.chunks_dir / "chunks-00001.parquet")
    with pytest.raises(ContractError) as info:
        chunkstore.corpus_info(ingested)
    assert info.value.message.startswith("chunks files disagree on their embedding: chunks-00000.parquet has")
    assert "chunks-00001.parquet has" in info.value.message


def test_no_chunks_is_an_input_error(data_root: DataRoot) -> None:
    assert chunkstore.chunk_files(data_root) == [] and chunkstore.count_chunks(data_root) == 0
    with pytest.raises(InputError) as info:
        chunkstore.corpus_info(data_root)
    assert info.value.message == f"no chunks found: {data_root.chunks_dir} has no *.parquet files"
    assert chunkstore.chunks_fingerprint(data_root) == chunkstore.fingerprint_table(None)
