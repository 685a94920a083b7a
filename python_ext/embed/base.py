"""What every embedder is: the :class:`Embedder` protocol and the metadata of its vectors.

Optional members, read with ``getattr``: ``backend`` and ``precision`` (the runtime and numeric
precision that compute the vectors, part of their identity in the Parquet metadata and the
embedding cache; MiniLM has several, :mod:`python_ext.embed.backends`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from python_ext.contracts import EmbeddingInfo


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
        """Return a float32 array of shape ``(len(texts), dim)``."""
        ...


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
