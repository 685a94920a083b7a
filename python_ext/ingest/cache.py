"""Incremental-ingest state under ``<data root>/vectors/cache/``.

* **Embedding cache** — one Parquet file per model identity (the model, and its backend and
  precision: ``embeddings-all-MiniLM-L6-v2_openvino-bf16.parquet``) with columns
  ``content_hash`` (xxh64 hex) and ``embedding`` (``fixed_size_list<float32, d>``), and the
  model's :class:`~python_ext.contracts.EmbeddingInfo` in its metadata. Vectors depend only on
  the model identity and the chunk text, so a cached vector is valid for any chunk with the same
  content_hash; another backend or precision never reads it. After each ingest the cache holds
  exactly the vectors of the current chunk set.
* **File manifest** — ``files.parquet``: ``uri``, ``file_hash`` (xxh64 of the file bytes) and
  ``lang`` of every ingested file, plus metadata: the chunker settings key and the fingerprint
  of the chunk set it belongs to. A file whose hash and settings are unchanged keeps its
  previous chunk rows without being parsed again; the fingerprint check makes sure those rows
  are really the ones the manifest describes (a crash between the two writes only costs
  re-chunking).

Both files are written atomically; a missing or unreadable cache only makes the next ingest
slower, never wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from python_ext.atomic import atomic_write_parquet
from python_ext.chunkstore import embeddings_to_numpy
from python_ext.config import DataRoot
from python_ext.contracts import EmbeddingInfo, embedding_type

MANIFEST_NAME = "files.parquet"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


class EmbeddingCache:
    """Vectors of one model keyed by content_hash.

    :param data_root: the data root (the cache lives in ``data_root.embed_cache_dir``).
    :param info: the model's embedding metadata; a cache file written for another model,
        backend, precision, dim or normalization is ignored.
    """

    def __init__(self, data_root: DataRoot, info: EmbeddingInfo) -> None:
        self.info = info
        self.path = data_root.embed_cache_dir / f"embeddings-{_safe(info.identity)}.parquet"
        self._index: dict[str, int] = {}
        self._vectors = np.zeros((0, info.dim), dtype=np.float32)
        self._load()

    def _load(self) -> None:
        if not self.path.is_file():
            return
        try:
            table = pq.read_table(self.path)
        except (OSError, pa.ArrowException):
            return
        if EmbeddingInfo.from_metadata(table.schema.metadata) != self.info:
            return
        try:
            vectors = embeddings_to_numpy(table.column("embedding"), self.info.dim)
        except (KeyError, pa.ArrowException, ValueError):
            return
        self._vectors = vectors
        self._index = {h: i for i, h in enumerate(table.column("content_hash").to_pylist())}

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, content_hash: str) -> bool:
        return content_hash in self._index

    def get(self, content_hash: str) -> np.ndarray | None:
        """The cached vector of ``content_hash`` (None when absent)."""
        row = self._index.get(content_hash)
        return None if row is None else self._vectors[row]

    def save(self, hashes: Sequence[str], vectors: np.ndarray) -> Path:
        """Replace the cache with exactly these ``hashes`` → ``vectors`` (atomic write)."""
        flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1), pa.float32())
        table = pa.table(
            {
                "content_hash": pa.array(list(hashes), pa.string()),
                "embedding": pa.FixedSizeListArray.from_arrays(flat, type=embedding_type(self.info.dim)),
            }
        ).replace_schema_metadata(self.info.to_metadata())
        atomic_write_parquet(self.path, table)
        return self.path


@dataclass
class FileManifest:
    """What the previous ingest chunked: ``uri`` → ``file_hash``, for one settings key.

    :param settings_key: chunker version + budget + embedder; rows are reusable only when the
        current ingest has the same key.
    :param fingerprint: fingerprint of the chunk set the manifest was written with.
    """

    settings_key: str = ""
    fingerprint: str = ""
    files: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, data_root: DataRoot) -> FileManifest:
        """Read the manifest (an empty one when missing or unreadable)."""
        path = data_root.embed_cache_dir / MANIFEST_NAME
        if not path.is_file():
            return cls()
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException):
            return cls()
        meta = table.schema.metadata or {}
        return cls(
            settings_key=meta.get(b"codeintel.ingest.settings", b"").decode(),
            fingerprint=meta.get(b"codeintel.ingest.fingerprint", b"").decode(),
            files=dict(
                zip(table.column("uri").to_pylist(), table.column("file_hash").to_pylist(), strict=True)
            ),
        )

    def save(self, data_root: DataRoot, langs: dict[str, str]) -> Path:
        """Write the manifest atomically (``langs`` maps uri → language)."""
        uris = sorted(self.files)
        table = pa.table(
            {
                "uri": pa.array(uris, pa.string()),
                "file_hash": pa.array([self.files[u] for u in uris], pa.string()),
                "lang": pa.array([langs.get(u, "") for u in uris], pa.string()),
            }
        ).replace_schema_metadata(
            {
                b"codeintel.ingest.settings": self.settings_key.encode(),
                b"codeintel.ingest.fingerprint": self.fingerprint.encode(),
            }
        )
        path = data_root.embed_cache_dir / MANIFEST_NAME
        atomic_write_parquet(path, table)
        return path
