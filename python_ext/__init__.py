"""codeintel catalog: Parquet facts, FAISS indexes and evaluations for code search.

The public API is re-exported here; the ``indexctl`` CLI is a thin layer on top of it (each
command calls one of these functions). Heavy dependencies (FAISS, torch, dbt) load only when
the function that needs them is first used, so ``import python_ext`` stays light; type
checkers and IDEs see every name through the ``TYPE_CHECKING`` imports below.

Conventions: a function that works on a data root takes it **first** (a
:class:`~python_ext.config.DataRoot`, a path, or None for ``$CODEINTEL_DATA_ROOT``/``data``),
and every result is a dataclass with ``to_dict()``. See ``docs/api.md`` for a tour.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from python_ext.config import DataRoot, resolve_data_root
from python_ext.contracts import EmbeddingInfo, chunks_schema
from python_ext.errors import IndexctlError
from python_ext.ids import chunk_id, content_hash

if TYPE_CHECKING:
    from python_ext.catalog.hydrate import hydrate
    from python_ext.catalog.publish import publish_version, rollback_version
    from python_ext.catalog.query import query_catalog
    from python_ext.catalog.refresh import check_catalog, generate_docs, refresh_catalog
    from python_ext.catalog.semantic import open_catalog, register_semantic_functions
    from python_ext.catalog.status import catalog_status
    from python_ext.chunkstore import corpus_info, iter_embedding_batches, read_chunks
    from python_ext.embed import (
        available_backends,
        choose_backend,
        default_embedder,
        embed_queries,
        embedder_from_info,
        get_embedder,
    )
    from python_ext.evaluate.queries import build_queries
    from python_ext.evaluate.regression import compare_with_previous
    from python_ext.evaluate.run import list_runs, run_eval
    from python_ext.evaluate.runfiles import import_run
    from python_ext.evaluate.stripped import strip_docstrings
    from python_ext.facts.ast import write_ast_facts
    from python_ext.facts.builder import extract_facts, extract_graph, ingest_with_facts
    from python_ext.facts.graph import convert_symbol_graph_json
    from python_ext.facts.modules import convert_modules_jsonl, extract_modules, modules_facts
    from python_ext.facts.scip.importer import import_scip
    from python_ext.facts.scip.indexer import run_scip_indexers, run_scip_python, run_scip_typescript
    from python_ext.index.build import build_index
    from python_ext.index.idmap import export_idmap
    from python_ext.index.load import load_index
    from python_ext.index.tune import tune_index
    from python_ext.index.vectors import embeddings_by_ids
    from python_ext.index.versions import current_problem, describe, gc, list_versions, publish, rollback
    from python_ext.ingest.chunk_ingest import ingest_repository
    from python_ext.ingest.chunker import chunk_file
    from python_ext.ingest.precomputed import import_precomputed
    from python_ext.ingest.sizing import chunk_sizer
    from python_ext.ingest.validate import chunk_parquet_files, validate_chunks
    from python_ext.ingest.walk import walk_repository
    from python_ext.repo_to_catalog import run_pipeline
    from python_ext.report.build import build_report
    from python_ext.search.fusion import rrf_fuse
    from python_ext.search.searcher import Searcher, query_by_module, query_by_symbols, search_text
    from python_ext.serve import serve
    from python_ext.serve.app import create_app

__version__ = "0.1.0"

#: public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    # ingest: chunks, embeddings, validation
    "ingest_repository": "python_ext.ingest.chunk_ingest",
    "import_precomputed": "python_ext.ingest.precomputed",
    "chunk_file": "python_ext.ingest.chunker",
    "chunk_sizer": "python_ext.ingest.sizing",
    "walk_repository": "python_ext.ingest.walk",
    "validate_chunks": "python_ext.ingest.validate",
    "chunk_parquet_files": "python_ext.ingest.validate",
    # embedders
    "get_embedder": "python_ext.embed",
    "embedder_from_info": "python_ext.embed",
    "embed_queries": "python_ext.embed",
    "default_embedder": "python_ext.embed",
    "choose_backend": "python_ext.embed",
    "available_backends": "python_ext.embed",
    # code-intelligence facts
    "ingest_with_facts": "python_ext.facts.builder",
    "extract_facts": "python_ext.facts.builder",
    "extract_graph": "python_ext.facts.builder",
    "import_scip": "python_ext.facts.scip.importer",
    "run_scip_python": "python_ext.facts.scip.indexer",
    "run_scip_typescript": "python_ext.facts.scip.indexer",
    "run_scip_indexers": "python_ext.facts.scip.indexer",
    "write_ast_facts": "python_ext.facts.ast",
    "extract_modules": "python_ext.facts.modules",
    "modules_facts": "python_ext.facts.modules",
    "convert_modules_jsonl": "python_ext.facts.modules",
    "convert_symbol_graph_json": "python_ext.facts.graph",
    # chunks dataset access
    "read_chunks": "python_ext.chunkstore",
    "iter_embedding_batches": "python_ext.chunkstore",
    "corpus_info": "python_ext.chunkstore",
    # FAISS index lifecycle
    "build_index": "python_ext.index.build",
    "tune_index": "python_ext.index.tune",
    "load_index": "python_ext.index.load",
    "embeddings_by_ids": "python_ext.index.vectors",
    "export_idmap": "python_ext.index.idmap",
    "publish": "python_ext.index.versions",
    "rollback": "python_ext.index.versions",
    "list_versions": "python_ext.index.versions",
    "describe": "python_ext.index.versions",
    "gc": "python_ext.index.versions",
    "current_problem": "python_ext.index.versions",
    # evaluation
    "build_queries": "python_ext.evaluate.queries",
    "run_eval": "python_ext.evaluate.run",
    "list_runs": "python_ext.evaluate.run",
    "compare_with_previous": "python_ext.evaluate.regression",
    "import_run": "python_ext.evaluate.runfiles",
    "strip_docstrings": "python_ext.evaluate.stripped",
    # search (one loaded version) and the HTTP server
    "Searcher": "python_ext.search.searcher",
    "search_text": "python_ext.search.searcher",
    "query_by_symbols": "python_ext.search.searcher",
    "query_by_module": "python_ext.search.searcher",
    "rrf_fuse": "python_ext.search.fusion",
    "serve": "python_ext.serve",
    "create_app": "python_ext.serve.app",
    # catalog
    "refresh_catalog": "python_ext.catalog.refresh",
    "check_catalog": "python_ext.catalog.refresh",
    "generate_docs": "python_ext.catalog.refresh",
    "query_catalog": "python_ext.catalog.query",
    "catalog_status": "python_ext.catalog.status",
    "publish_version": "python_ext.catalog.publish",
    "rollback_version": "python_ext.catalog.publish",
    "hydrate": "python_ext.catalog.hydrate",
    "open_catalog": "python_ext.catalog.semantic",
    "register_semantic_functions": "python_ext.catalog.semantic",
    # report
    "build_report": "python_ext.report.build",
    # the whole job
    "run_pipeline": "python_ext.repo_to_catalog",
}

__all__ = [
    "DataRoot",
    "EmbeddingInfo",
    "IndexctlError",
    "Searcher",
    "__version__",
    "available_backends",
    "build_index",
    "build_queries",
    "build_report",
    "catalog_status",
    "check_catalog",
    "choose_backend",
    "chunk_file",
    "chunk_id",
    "chunk_parquet_files",
    "chunk_sizer",
    "chunks_schema",
    "compare_with_previous",
    "content_hash",
    "convert_modules_jsonl",
    "convert_symbol_graph_json",
    "corpus_info",
    "create_app",
    "current_problem",
    "default_embedder",
    "describe",
    "embed_queries",
    "embedder_from_info",
    "embeddings_by_ids",
    "export_idmap",
    "extract_facts",
    "extract_graph",
    "extract_modules",
    "gc",
    "generate_docs",
    "get_embedder",
    "hydrate",
    "import_precomputed",
    "import_run",
    "import_scip",
    "ingest_repository",
    "ingest_with_facts",
    "iter_embedding_batches",
    "list_runs",
    "list_versions",
    "load_index",
    "modules_facts",
    "open_catalog",
    "publish",
    "publish_version",
    "query_by_module",
    "query_by_symbols",
    "query_catalog",
    "read_chunks",
    "refresh_catalog",
    "register_semantic_functions",
    "resolve_data_root",
    "rollback",
    "rollback_version",
    "rrf_fuse",
    "run_eval",
    "run_pipeline",
    "run_scip_indexers",
    "run_scip_python",
    "run_scip_typescript",
    "search_text",
    "serve",
    "strip_docstrings",
    "tune_index",
    "validate_chunks",
    "walk_repository",
    "write_ast_facts",
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
