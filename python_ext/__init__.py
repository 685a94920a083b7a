"""codeintel catalog: Parquet facts, FAISS indexes and evaluations for code search.

The public API is re-exported here; the ``indexctl`` CLI is a thin layer on top of it.
"""

from __future__ import annotations

from python_ext.config import DataRoot, resolve_data_root
from python_ext.contracts import EmbeddingInfo, chunks_schema
from python_ext.errors import IndexctlError
from python_ext.ids import chunk_id, content_hash

__version__ = "0.1.0"

__all__ = [
    "DataRoot",
    "EmbeddingInfo",
    "IndexctlError",
    "__version__",
    "chunk_id",
    "chunks_schema",
    "content_hash",
    "resolve_data_root",
]
