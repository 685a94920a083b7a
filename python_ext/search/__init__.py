"""Search: one loaded index version, four channels, filters before ranking, hits that explain
themselves.

* :class:`~python_ext.search.searcher.Searcher` — loads the published version once (FAISS at
  its operating point, the BM25 index, the exact vectors, the chunk metadata, the embedder, the
  catalog's hydration index) and answers ``search``, ``chunk``, ``query_by_symbols``,
  ``query_by_module`` and ``embeddings_by_ids``; ``refresh`` switches atomically to a newly
  published version;
* :mod:`python_ext.search.channels` — the channel functions search and ``eval run`` share;
* :mod:`python_ext.search.fusion` — reciprocal rank fusion with the catalog's k0 and cut-off;
* :func:`~python_ext.search.searcher.search_text`, :func:`query_by_symbols`,
  :func:`query_by_module` — one-shot forms (load, answer, forget).

Guide: ``docs/search.md``.
"""

from __future__ import annotations

from python_ext.search.filters import SearchFilters
from python_ext.search.hits import ChannelRank, ChunkRecord, SearchHit, SearchResult, SymbolChunk
from python_ext.search.searcher import (
    CHANNELS,
    DEFAULT_CHANNEL,
    Searcher,
    query_by_module,
    query_by_symbols,
    search_text,
)

__all__ = [
    "CHANNELS",
    "DEFAULT_CHANNEL",
    "ChannelRank",
    "ChunkRecord",
    "SearchFilters",
    "SearchHit",
    "SearchResult",
    "Searcher",
    "SymbolChunk",
    "query_by_module",
    "query_by_symbols",
    "search_text",
]
