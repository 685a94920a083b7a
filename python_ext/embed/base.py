"""What every embedder is: the :class:`Embedder` protocol and the metadata of its vectors.

Optional members, read with ``getattr``:

* ``backend`` and ``precision`` — the runtime and numeric precision that compute the vectors,
  part of their identity in the Parquet metadata and the embedding cache (MiniLM has several,
  :mod:`python_ext.embed.backends`);
* ``embed_query(texts)`` — queries, for a model trained with different prefixes for queries and
  passages (e5: ``query: `` / ``passage: ``); :meth:`Embedder.embed` then embeds passages, and
  every query path calls :func:`embed_queries`;
* ``window`` and ``token_counter()`` (read with :func:`embedder_window` and
  :func:`embedder_counter`) — an embedder that reads a bounded number of tokens states its
  window (tokens, special tokens included) and gives a
  :class:`~python_ext.embed.tokens.TokenCounter`; the chunker then sizes chunks in those
  tokens. An embedder without a window (the lexical hashing embedder) reads any length and is
  sized by the character budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from python_ext.contracts import EmbeddingInfo
from python_ext.embed.tokens import TokenCounter


@runtime_checkable
class Embedder(Protocol):
    """What the ingest pipeline, search and evaluation need from an embedder."""

    #: Model name written to Parquet metadata (``codeintel.embedding.model``).
    name: str
    #: Embedding width d.
    dim: int
    #: True when :meth:`embed` returns L2-normalized rows.
    normalized: bool
    #: ``semantic``, ``lexical`` or ``precomputed``.
    kind: str
    #: A good number of texts per :meth:`embed` call.
    batch_size: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return a float32 array of shape ``(len(texts), dim)`` (chunk texts: passages)."""
        ...


def embed_queries(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Embed search queries: the embedder's ``embed_query`` when it has one (a model that
    embeds queries and passages differently), else :meth:`Embedder.embed`. Float32
    ``(len(texts), dim)``.

    Search, ``serve``, ``eval run``, ``index tune``'s eval queries and the catalog's ``embed()``
    all embed query text through this function; the ingest embeds chunks with ``embed``.
    """
    embed = getattr(embedder, "embed_query", None)
    vectors = embed(list(texts)) if callable(embed) else embedder.embed(list(texts))
    return np.ascontiguousarray(vectors, dtype=np.float32)


def embedding_info(embedder: Embedder) -> EmbeddingInfo:
    """The :class:`~python_ext.contracts.EmbeddingInfo` describing ``embedder``'s vectors: its
    model, and its ``backend``/``precision`` when it has them (optional members)."""
    return EmbeddingInfo(
        model=embedder.name,
        dim=embedder.dim,
        normalized=embedder.normalized,
        kind=embedder.kind,
        backend=str(getattr(embedder, "backend", "") or ""),
        precision=str(getattr(embedder, "precision", "") or ""),
    )


def embedder_window(embedder: object) -> int | None:
    """The embedder's window in tokens (special tokens included), or None when it reads any
    length (e.g. the hashing embedder)."""
    window = getattr(embedder, "window", None)
    return int(window) if window else None


def embedder_counter(embedder: object) -> TokenCounter | None:
    """The embedder's token counter (None when it has no window)."""
    if embedder_window(embedder) is None:
        return None
    factory = getattr(embedder, "token_counter", None)
    return factory() if callable(factory) else None
