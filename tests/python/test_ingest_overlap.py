"""The overlapped ingest (chunking in processes while a thread embeds) gives exactly the chunk set
of the sequential steps; its progress bars share one display and show rates."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.errors import ContractError
from python_ext.ingest.chunk_ingest import ingest_repository
from python_ext.progress import RichReporter


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


def test_overlapped_reingest_embeds_only_new_content(tiny_repo: Path, tmp_path: Path) -> None:
    import shutil

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
