"""The embedder as a pure batch function: texts in, vectors out, the model loaded once per worker.

Every ingest engine (the local loop and the Ray actor pool, :mod:`python_ext.ingest.engine`)
embeds through :func:`embed_batch`, so they produce the same vectors:

* :class:`EmbedderSpec` — a picklable recipe for an embedder (its registry name, or the
  embedder object itself when the registry does not know it), sent to workers instead of a
  loaded model;
* :class:`BatchEmbedder` — a callable built from a spec: the model is loaded once, in
  ``__init__``, on the worker that will use it (one per Ray actor);
* :func:`embed_batch` — one batch through an embedder, checked (shape, float32).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from python_ext.embed.base import Embedder
from python_ext.embed.threads import THREADS_ENV
from python_ext.errors import ConfigError, ContractError


@dataclass(frozen=True)
class EmbedderSpec:
    """How a worker gets the embedder: by registry ``name`` (and MiniLM ``backend``) or, for an
    embedder object the registry cannot build, the object itself (it must then be picklable).

    :param name: the embedder's name (``hashing-v1-d256``, ``all-MiniLM-L6-v2`` …).
    :param dim: the width its vectors must have.
    :param backend: the ``--embedder-backend`` the vectors must come from (MiniLM: the driver's
        own, which is what the chunk set records; None for embedders without backends). A
        worker never picks its own backend, so one chunk set never mixes backends.
    :param threads: threads per worker (0 = the library default, every CPU): torch's intra-op
        threads, and ``CODEINTEL_EMBED_THREADS`` for the ONNX/OpenVINO backends and e5, set in
        the worker process before its model loads (Ray actors sharing a machine).
    :param instance: the embedder itself when ``name`` is not a registry name.
    """

    name: str
    dim: int
    backend: str | None = None
    threads: int = 0
    instance: Any = None

    @property
    def device(self) -> str:
        """``cuda`` when the backend runs on a GPU (the worker then needs one), else ``cpu``."""
        return "cuda" if self.backend == "cuda" else "cpu"

    @classmethod
    def of(cls, embedder: Embedder, *, threads: int = 0) -> EmbedderSpec:
        """The spec of an embedder: by name and backend when the registry builds the same
        embedder."""
        from python_ext.embed.base import embedding_info
        from python_ext.embed.registry import get_embedder, recorded_backend

        # MiniLM's backend by its --embedder-backend name; None for embedders with one runtime
        backend = recorded_backend(embedding_info(embedder))
        try:
            known = get_embedder(embedder.name, backend)
        except ConfigError:
            known = None
        if known is not None and type(known) is type(embedder) and known.dim == embedder.dim:
            return cls(embedder.name, embedder.dim, backend, threads)
        return cls(embedder.name, embedder.dim, backend, threads, instance=embedder)

    def load(self) -> Embedder:
        """Build (or return) the embedder on this worker, on the spec's backend.

        :raises ConfigError: the backend cannot run on this worker.
        """
        if self.instance is not None:
            return self.instance
        if self.threads:
            # one worker process's share of the CPUs: torch directly; the ONNX/OpenVINO
            # backends and e5's OpenMP engine read it when their model is made
            os.environ[THREADS_ENV] = str(self.threads)
            try:
                import torch

                torch.set_num_threads(self.threads)
            except ImportError:
                pass
        from python_ext.embed.registry import get_embedder

        return get_embedder(self.name, self.backend)


def embed_batch(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Embed one batch: float32 ``(len(texts), dim)``, C-contiguous.

    :raises ContractError: the embedder returned another shape.
    """
    vectors = np.ascontiguousarray(embedder.embed(list(texts)), dtype=np.float32)
    if vectors.shape != (len(texts), embedder.dim):
        raise ContractError(
            f"embedder {embedder.name} returned shape {vectors.shape}, "
            f"expected ({len(texts)}, {embedder.dim})"
        )
    return vectors


class BatchEmbedder:
    """``texts -> vectors`` with the model loaded once, when the object is made.

    :param spec: the embedder to load (see :class:`EmbedderSpec`).
    """

    def __init__(self, spec: EmbedderSpec) -> None:
        self.spec = spec
        self.embedder = spec.load()
        if self.embedder.dim != spec.dim:
            raise ContractError(f"embedder {spec.name} gives {self.embedder.dim} dims, expected {spec.dim}")

    @property
    def batch_size(self) -> int:
        return max(1, int(getattr(self.embedder, "batch_size", 256)))

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return embed_batch(self.embedder, texts)
