"""Embedders: chunk texts and queries to float32 vectors (shared by ingest, index, evaluation
and search).

* :mod:`python_ext.embed.base` — the :class:`Embedder` protocol and :func:`embedding_info`;
* :mod:`python_ext.embed.hashing` — the lexical :class:`HashingEmbedder`;
* :mod:`python_ext.embed.minilm` — the semantic :class:`MiniLMEmbedder` (all-MiniLM-L6-v2);
* :mod:`python_ext.embed.registry` — names, the default, :func:`get_embedder` and
  :func:`embedder_from_info` (the corpus's own embedder, for queries).
"""

from __future__ import annotations

from python_ext.embed.base import Embedder, embedding_info
from python_ext.embed.hashing import HashingEmbedder, identifier_tokens
from python_ext.embed.minilm import MINILM_HINT, MiniLMEmbedder, minilm_model_path
from python_ext.embed.registry import (
    DEFAULT_EMBEDDER,
    EMBEDDER_CHOICES,
    FALLBACK_EMBEDDER,
    default_embedder,
    embedder_from_info,
    get_embedder,
    minilm_available,
)

__all__ = [
    "DEFAULT_EMBEDDER",
    "EMBEDDER_CHOICES",
    "FALLBACK_EMBEDDER",
    "MINILM_HINT",
    "Embedder",
    "HashingEmbedder",
    "MiniLMEmbedder",
    "default_embedder",
    "embedder_from_info",
    "embedding_info",
    "get_embedder",
    "identifier_tokens",
    "minilm_available",
    "minilm_model_path",
]
