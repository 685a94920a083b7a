"""codeintel catalog: Parquet facts, FAISS indexes and evaluations for code search.

The public API is re-exported here; the ``indexctl`` CLI is a thin layer on top of it (each
command calls one of these functions). Heavy dependencies (FAISS, torch, dbt) load only when
the function that needs them is first used, so ``import python_ext`` stays light.

See ``docs/api.md`` for a tour.
"""

from __future__ import annotations

import importlib
from typing import Any

from python_ext.config import DataRoot, resolve_data_root
from python_ext.contracts import EmbeddingInfo, chunks_schema
from python_ext.errors import IndexctlError
from python_ext.ids import chunk_id, content_hash

__version__ = "0.1.0"

#: public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    # ingest: chunks, embeddings, validation
    "ingest_repository": "python_ext.ingest.pipeline",
    "import_precomputed": "python_ext.ingest.pipeline",
    "chunk_file": "python_ext.ingest.chunker",
    "walk_repository": "python_ext.ingest.walk",
    "get_embedder": "python_ext.ingest.embed",
    "embedder_from_info": "python_ext.ingest.embed",
    "validate_chunks": "python_ext.ingest.validate",
    # code-intelligence facts
    "ingest_with_facts": "python_ext.ingest.facts",
    "extract_facts": "python_ext.ingest.facts",
    "import_scip": "python_ext.ingest.scip_import",
    "run_scip_python": "python_ext.ingest.scip_index",
    "extract_modules": "python_ext.ingest.modules",
    "convert_modules_jsonl": "python_ext.ingest.modules",
    "convert_symbol_graph_json": "python_ext.ingest.graph",
    # chunks dataset access
    "read_chunks": "python_ext.chunkstore",
    "iter_embedding_batches": "python_ext.chunkstore",
    "corpus_info": "python_ext.chunkstore",
    # FAISS index lifecycle
    "build_index": "python_ext.index.build",
    "tune_index": "python_ext.index.tune",
    "load_index": "python_ext.index.load",
    "search_text": "python_ext.index.search",
    "export_idmap": "python_ext.index.idmap",
    "publish": "python_ext.index.versions",
    "rollback": "python_ext.index.versions",
    "list_versions": "python_ext.index.versions",
    # evaluation
    "build_queries": "python_ext.evaluate.queries",
    "run_eval": "python_ext.evaluate.run",
    "import_run": "python_ext.evaluate.runfiles",
    "rrf_fuse": "python_ext.evaluate.fusion",
    # catalog
    "refresh_catalog": "python_ext.catalog.refresh",
    "check_catalog": "python_ext.catalog.refresh",
    "hydrate": "python_ext.catalog.hydrate",
    # the whole job
    "run_pipeline": "python_ext.pipeline",
}

__all__ = [
    "DataRoot",
    "EmbeddingInfo",
    "IndexctlError",
    "__version__",
    "chunk_id",
    "chunks_schema",
    "content_hash",
    "resolve_data_root",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'python_ext' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
