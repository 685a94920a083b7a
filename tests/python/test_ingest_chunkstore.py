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
    written = chunkstore.replace_chunk_set(other, table.take(list(reversed(range(table.num_rows)))), shards=5)
    assert len(written.files) == 5 == written.shards and written.rewritten == written.files
    assert chunkstore.chunks_fingerprint(other) == fp
    assert chunkstore.count_chunks(other) == table.num_rows
    # a smaller set replaces the bigger one completely (stale files removed)
    smaller = chunkstore.replace_chunk_set(other, table.slice(0, 3), shards=1)
    assert [p.name for p in chunkstore.chunk_files(other)] == ["chunks-00000.parquet"]
    assert len(smaller.removed) == 4
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


def _stamps(root: DataRoot) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in chunkstore.chunk_files(root)}


def test_partitioned_layout(tiny_repo: Path, data_root: DataRoot) -> None:
    """S shards by ``id % S``, each sorted by id with the set's metadata: one dataset for every
    reader (chunkstore and DuckDB's glob alike)."""
    import duckdb

    summary = ingest_repository(data_root, tiny_repo, embedder="hashing", shards=4)
    files = chunkstore.chunk_files(data_root)
    assert [f.name for f in files] == [f"chunks-0000{s}.parquet" for s in range(4)]
    assert summary.shards == 4 == summary.shards_rewritten and chunkstore.recorded_shards(data_root) == 4
    total = 0
    for s, path in enumerate(files):
        table = pq.read_table(path)
        ids = table.column("id").to_numpy()
        assert np.all(ids % 4 == s) and np.all(np.diff(ids) > 0)
        part = chunkstore.partition_of(path)
        assert (part.shard, part.shards) == (s, 4) and part.digest == chunkstore.rows_digest(table)
        assert table.schema.metadata[b"codeintel.embedding.model"] == b"hashing-v1-d256"
        total += table.num_rows
    assert total == summary.chunks == chunkstore.count_chunks(data_root)
    glob = str(data_root.chunks_dir / "*.parquet")
    with duckdb.connect() as con:
        n, distinct = con.execute(
            "select count(*), count(distinct id) from read_parquet(?)", [glob]
        ).fetchone()
    assert n == distinct == total
    assert chunkstore.corpus_info(data_root).model == "hashing-v1-d256"


def test_incremental_ingest_rewrites_only_changed_shards(
    tiny_repo: Path, data_root: DataRoot, tmp_path: Path
) -> None:
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(tiny_repo, repo)
    ingest_repository(data_root, repo, embedder="hashing", shards=8)
    before = _stamps(data_root)
    old = chunkstore.read_chunks(data_root, ["id", "uri"])
    # nothing changed: no shard is rewritten (the shard count is kept without --shards)
    again = ingest_repository(data_root, repo, embedder="hashing")
    assert again.shards == 8 and again.shards_rewritten == 0 and _stamps(data_root) == before
    # one file changes: only the shards of its old and new chunk ids are rewritten
    target = repo / "tinylib" / "geometry" / "shapes.py"
    target.write_text(target.read_text() + "\n\ndef added_function():\n    return 42\n")
    changed = ingest_repository(data_root, repo, embedder="hashing")
    new = chunkstore.read_chunks(data_root, ["id", "uri"])
    old_ids = {
        i
        for i, u in zip(*(old.column(c).to_pylist() for c in ("id", "uri")), strict=True)
        if u == "tinylib/geometry/shapes.py"
    }
    new_ids = {
        i
        for i, u in zip(*(new.column(c).to_pylist() for c in ("id", "uri")), strict=True)
        if u == "tinylib/geometry/shapes.py"
    }
    touched = {f"chunks-{i % 8:05d}.parquet" for i in old_ids ^ new_ids}
    after = _stamps(data_root)
    rewritten = {name for name in after if after[name] != before[name]}
    assert touched and rewritten == touched and changed.shards_rewritten == len(touched) < 8
    assert chunkstore.fingerprint_table(chunkstore.read_chunks(data_root)) == changed.fingerprint
    # a different shard count rewrites everything and leaves no stale file
    fewer = ingest_repository(data_root, repo, embedder="hashing", shards=3)
    assert fewer.shards_rewritten == 3 and len(chunkstore.chunk_files(data_root)) == 3
    assert chunkstore.count_chunks(data_root) == changed.chunks


def test_unpartitioned_files_are_rewritten(ingested: DataRoot) -> None:
    """Files without partition keys (written by another tool) are one dataset too, and the next
    write lays them out as shards."""
    table = chunkstore.read_chunks(ingested)
    plain = table.replace_schema_metadata(chunkstore.corpus_info(ingested).to_metadata())
    for path in chunkstore.chunk_files(ingested):
        path.unlink()
    half = table.num_rows // 2
    pq.write_table(plain.slice(0, half), ingested.chunks_dir / "part-a.parquet")
    pq.write_table(plain.slice(half), ingested.chunks_dir / "part-b.parquet")
    assert (
        chunkstore.recorded_shards(ingested) is None and chunkstore.count_chunks(ingested) == table.num_rows
    )
    written = chunkstore.replace_chunk_set(ingested, plain)
    assert [p.name for p in written.files] == ["chunks-00000.parquet"] and len(written.removed) == 2
    assert chunkstore.fingerprint_table(chunkstore.read_chunks(ingested)) == chunkstore.fingerprint_table(
        table
    )


def test_shard_count_is_checked(ingested: DataRoot) -> None:
    from python_ext.errors import ConfigError

    with pytest.raises(ConfigError, match="--shards must be between 1 and 4096"):
        chunkstore.replace_chunk_set(ingested, chunkstore.read_chunks(ingested), shards=0)
