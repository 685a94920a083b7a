"""ingest_repository end to end: ids, incremental re-ingest, hooks, errors, precomputed import."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.contracts import EmbeddingInfo, chunks_schema
from python_ext.embed import HashingEmbedder, embedder_from_info
from python_ext.errors import ContractError, IdCollisionError, InputError, RepositoryNotFoundError
from python_ext.ingest import chunker
from python_ext.ingest.chunk_ingest import IngestContext, ingest_repository
from python_ext.ingest.precomputed import import_precomputed
from python_ext.ingest.validate import validate_chunks


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, remembering every text it was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return super().embed(texts)


@pytest.fixture
def repo(tiny_repo: Path, tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(tiny_repo, target)
    return target


def _rows(root: DataRoot) -> list[dict]:
    return chunkstore.read_chunks(root, columns=["id", "uri", "content_hash", "start_byte"]).to_pylist()


def test_ingest_tiny_repo(tiny_repo: Path, data_root: DataRoot) -> None:
    summary = ingest_repository(data_root, tiny_repo, embedder="hashing")
    assert summary.files_ingested == 18 and summary.chunks == chunkstore.count_chunks(data_root) > 18
    assert summary.chunks_added == summary.chunks and summary.embedded == summary.chunks
    assert summary.files_skipped == {
        "binary": 1,
        "generated": 1,
        "gitignored": 2,
        "minified": 1,
        "not_utf8": 1,
        "unsupported": 2,
    }
    assert (summary.embedder, summary.embedding_kind, summary.dim) == ("hashing-v1-d256", "lexical", 256)
    assert json.loads(json.dumps(summary.to_dict()))["chunks"] == summary.chunks
    table = chunkstore.read_chunks(data_root)
    assert table.schema.equals(chunks_schema(256, optional=True), check_metadata=False)
    assert validate_chunks(data_root.root) == []
    rows = table.to_pylist()
    # one shard (a small corpus): the file is sorted by chunk id
    assert summary.shards == 1 == summary.shards_rewritten
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    area = next(r for r in rows if "tinylib.geometry.shapes.Circle.area" in r["symbols"])
    assert area["uri"] == "tinylib/geometry/shapes.py" and area["lang"] == "python"
    data = (tiny_repo / area["uri"]).read_bytes()
    assert area["content"] == data[area["start_byte"] : area["end_byte"]].decode()
    assert summary.seconds["total"] < 2.0


def test_ids_are_stable_across_runs_and_processes(tiny_repo: Path, tmp_path: Path) -> None:
    a, b = DataRoot(tmp_path / "a"), DataRoot(tmp_path / "b")
    ingest_repository(a, tiny_repo, embedder="hashing")
    ingest_repository(b, tiny_repo, embedder="hashing")
    ids = [r["id"] for r in _rows(a)]
    assert ids == [r["id"] for r in _rows(b)]
    code = (
        "import json, sys\n"
        "from python_ext.ingest.chunk_ingest import ingest_repository\n"
        "from python_ext import chunkstore\n"
        f"ingest_repository({str(tmp_path / 'c')!r}, {str(tiny_repo)!r}, embedder='hashing')\n"
        f"table = chunkstore.read_chunks({str(tmp_path / 'c')!r}, columns=['id'])\n"
        "print(json.dumps(table.column('id').to_pylist()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "7"}
    )
    assert json.loads(out.stdout) == ids


def test_incremental_reingest_embeds_only_new_content(repo: Path, data_root: DataRoot) -> None:
    first_embedder = CountingEmbedder()
    first = ingest_repository(data_root, repo, embedder=first_embedder)
    assert len(first_embedder.texts) == first.embedded == len({r["content_hash"] for r in _rows(data_root)})
    before = _rows(data_root)

    # unchanged repository (only mtimes touched): nothing re-chunked or re-embedded
    for path in repo.rglob("*.py"):
        path.touch()
    same = CountingEmbedder()
    again = ingest_repository(data_root, repo, embedder=same)
    assert same.texts == [] and again.files_chunked == 0 and again.files_reused == 18
    assert again.chunks_unchanged == again.chunks and again.chunks_added == again.chunks_removed == 0

    # one file edited: only its new chunks are embedded
    target = repo / "tinylib" / "textutil.py"
    target.write_text(
        target.read_text()
        + '\n\ndef shout(text: str) -> str:\n    """Return the text in upper case, exclaimed."""\n'
        "    return text.upper() + '!'\n"
    )
    edit = CountingEmbedder()
    summary = ingest_repository(data_root, repo, embedder=edit)
    after = _rows(data_root)
    old_hashes = {r["content_hash"] for r in before}
    new_text_rows = [r for r in after if r["content_hash"] not in old_hashes]
    assert new_text_rows and {r["uri"] for r in new_text_rows} == {"tinylib/textutil.py"}
    assert summary.embedded == len(edit.texts) == len(new_text_rows)
    assert all("shout" in t or "upper" in t for t in edit.texts)
    assert (summary.files_changed, summary.files_unchanged, summary.files_chunked) == (1, 17, 1)
    assert summary.chunks_added >= 1 and summary.chunks_removed + summary.chunks_changed >= 0
    old_keys = {(r["id"], r["content_hash"]) for r in before}
    assert summary.chunks_unchanged == sum(1 for r in after if (r["id"], r["content_hash"]) in old_keys)
    assert summary.chunks_unchanged >= sum(1 for r in after if r["uri"] != "tinylib/textutil.py")

    # one file deleted: its chunks are dropped, nothing embedded
    (repo / "web" / "app.js").unlink()
    gone = CountingEmbedder()
    summary = ingest_repository(data_root, repo, embedder=gone)
    assert gone.texts == [] and summary.files_removed == 1
    assert summary.chunks_removed == sum(1 for r in after if r["uri"] == "web/app.js") > 0
    assert "web/app.js" not in {r["uri"] for r in _rows(data_root)}
    assert validate_chunks(data_root.root) == []


def test_embedding_cache_survives_lost_chunks(repo: Path, data_root: DataRoot) -> None:
    ingest_repository(data_root, repo, embedder="hashing")
    for path in chunkstore.chunk_files(data_root):
        path.unlink()
    counting = CountingEmbedder()
    summary = ingest_repository(data_root, repo, embedder=counting)
    assert counting.texts == [] and summary.embed_cache_hits == summary.embedded + len(
        {r["content_hash"] for r in _rows(data_root)}
    )


def test_id_collision_stops_and_keeps_published_data(
    repo: Path, data_root: DataRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_repository(data_root, repo, embedder="hashing")
    published = chunkstore.chunk_files(data_root)[0].read_bytes()
    (repo / "tinylib" / "new_a.py").write_text("def a():\n    return 1\n")
    (repo / "tinylib" / "new_b.py").write_text("def b():\n    return 2\n")
    monkeypatch.setattr(chunker, "chunk_id", lambda uri, start, end, salt=None: 42)
    with pytest.raises(IdCollisionError) as info:
        ingest_repository(data_root, repo, embedder="hashing")
    assert info.value.message.startswith("chunk id collision: ")
    assert info.value.message.endswith("both have id 42")
    assert chunkstore.chunk_files(data_root)[0].read_bytes() == published


def test_salt_changes_every_id(tiny_repo: Path, tmp_path: Path) -> None:
    a, b = DataRoot(tmp_path / "a"), DataRoot(tmp_path / "b")
    ingest_repository(a, tiny_repo, embedder="hashing")
    ingest_repository(b, tiny_repo, embedder="hashing", id_salt="s1")
    assert not {r["id"] for r in _rows(a)} & {r["id"] for r in _rows(b)}


def test_empty_repository_gives_a_valid_empty_file(tmp_path: Path, data_root: DataRoot) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    summary = ingest_repository(data_root, empty, embedder="hashing")
    assert summary.chunks == 0 and summary.files_ingested == 0
    (path,) = chunkstore.chunk_files(data_root)
    table = pq.read_table(path)
    assert table.num_rows == 0 and table.schema.equals(
        chunks_schema(256, optional=True), check_metadata=False
    )
    assert validate_chunks(path) == []


def test_missing_repository_leaves_data_untouched(data_root: DataRoot) -> None:
    with pytest.raises(RepositoryNotFoundError) as info:
        ingest_repository(data_root, "/no/such/repo", embedder="hashing")
    assert info.value.message == "repository not found: /no/such/repo"
    assert not data_root.root.exists()


def test_symbol_resolver_and_after_write_hooks(tiny_repo: Path, data_root: DataRoot) -> None:
    seen: list[IngestContext] = []

    def resolver(uri: str, start_line: int, end_line: int) -> list[str] | None:
        return [f"scip:{uri}:{start_line}-{end_line}"] if uri.endswith(".go") else None

    def after(ctx: IngestContext) -> dict:
        seen.append(ctx)
        assert chunkstore.count_chunks(ctx.data_root) > 0  # chunks are published before the hook
        return {"modules": len({f.uri.split("/")[0] for f in ctx.files})}

    summary = ingest_repository(
        data_root, tiny_repo, embedder="hashing", symbol_resolver=resolver, after_write=after
    )
    assert summary.facts == {"modules": len({f.uri.split("/")[0] for f in seen[0].files})}
    assert seen[0].embedding.model == "hashing-v1-d256" and len(seen[0].files) == 18
    rows = chunkstore.read_chunks(data_root, columns=["uri", "start_line", "end_line", "symbols"]).to_pylist()
    for r in rows:
        if r["uri"].endswith(".go"):
            assert r["symbols"] == [f"scip:{r['uri']}:{r['start_line']}-{r['end_line']}"]
        elif r["uri"] == "tinylib/geometry/vectors.py":
            assert any(s.startswith("tinylib.geometry.vectors.") for s in r["symbols"]) or not r["symbols"]


def _external_file(tiny_repo: Path, tmp_path: Path, dim: int = 2560) -> tuple[Path, pa.Table]:
    root = DataRoot(tmp_path / "src")
    ingest_repository(root, tiny_repo, embedder="hashing")
    table = chunkstore.read_chunks(root).drop_columns(["embedding"]).replace_schema_metadata(None)
    vectors = np.random.default_rng(1).normal(size=(table.num_rows, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    table = table.append_column("embedding", pa.array(list(vectors), pa.list_(pa.float32())))
    path = tmp_path / "external.parquet"
    pq.write_table(table, path)
    return path, table


def test_import_precomputed_2560(tiny_repo: Path, tmp_path: Path, data_root: DataRoot) -> None:
    path, table = _external_file(tiny_repo, tmp_path)
    summary = import_precomputed(data_root, path, model="qwen3-embedding-4b")
    assert (summary.dim, summary.embedding_kind, summary.chunks) == (2560, "precomputed", table.num_rows)
    info = chunkstore.corpus_info(data_root)
    assert info == EmbeddingInfo("qwen3-embedding-4b", 2560, True, "precomputed")
    assert validate_chunks(data_root.root) == []
    (_ids, vectors), *_ = chunkstore.iter_embedding_batches(data_root)
    assert vectors.shape[1] == 2560
    with pytest.raises(Exception, match="queries cannot be embedded"):
        embedder_from_info(info)


def test_import_precomputed_errors(tiny_repo: Path, tmp_path: Path, data_root: DataRoot) -> None:
    path, table = _external_file(tiny_repo, tmp_path, dim=16)
    with pytest.raises(InputError) as info:
        import_precomputed(data_root, path)
    assert info.value.message == f"{path}: no embedding model recorded in the file's metadata"
    assert info.value.hint == "name the model that produced the vectors with --model NAME"
    rows = table.to_pylist()
    rows[3]["embedding"] = [float("nan")] * 16
    bad = tmp_path / "nan.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), bad)
    with pytest.raises(ContractError) as err:
        import_precomputed(data_root, bad, model="m")
    assert (
        err.value.message
        == f"{bad}: 1 contract problem(s): {bad} row 3 column embedding: embedding contains NaN"
    )
    assert not data_root.chunks_dir.exists()


def test_reingest_without_embedder_keeps_the_data_roots_own(tiny_repo: Path, data_root: DataRoot) -> None:
    """No --embedder on an existing data root means its own embedder: nothing is re-embedded."""
    first = ingest_repository(data_root, tiny_repo, embedder="hashing-v1-d512")
    again = ingest_repository(data_root, tiny_repo)
    assert again.embedder == first.embedder == "hashing-v1-d512"
    assert again.embedded == 0 and again.chunks_unchanged == first.chunks


def test_default_embedder_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    from python_ext import embed
    from python_ext.contracts import EmbeddingInfo

    minilm = EmbeddingInfo(model="all-MiniLM-L6-v2", dim=384, normalized=True, kind="semantic")
    lexical = EmbeddingInfo(model="hashing-v1-d256", dim=256, normalized=True, kind="lexical")
    external = EmbeddingInfo(model="qwen3", dim=2560, normalized=True, kind="precomputed")
    assert embed.default_embedder(minilm) == "minilm"
    assert embed.default_embedder(lexical) == "hashing-v1-d256"
    monkeypatch.setattr(embed.registry, "minilm_available", lambda: True)
    assert embed.default_embedder(None) == embed.default_embedder(external) == "minilm"
    monkeypatch.setattr(embed.registry, "minilm_available", lambda: False)
    assert embed.default_embedder(None) == "hashing"
