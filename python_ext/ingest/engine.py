"""Where the ingest's heavy steps run: chunking files and embedding texts.

:func:`python_ext.ingest.chunk_ingest.ingest_repository` decides *what* to chunk and embed
(changed files only; content hashes found neither in the kept rows nor in the embedding
cache) and assembles and publishes the chunk set itself; an engine only does the work:

* ``local`` — :class:`LocalEngine`, this process: a loop over the files, then the embedder
  batch by batch (the default);
* ``ray`` — :class:`python_ext.ingest.ray_engine.RayEngine`, Ray Data: the files are chunked
  by Ray tasks and the texts embedded by an actor pool (model loaded once per actor, on the
  ingest's own backend; GPU actors when that backend is ``cuda``), on a local Ray instance or
  the cluster at ``address``. Needs the ``ray`` extra.

Both call the same chunker and :func:`python_ext.embed.batch.embed_batch`, so the chunk set
they publish is the same (tested), but for rounding in the vectors of a bf16 backend: model
batches are cut differently (min cosine 0.99999 measured, ``bench/engines.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from python_ext.embed import embedding_info
from python_ext.embed.base import Embedder
from python_ext.embed.batch import embed_batch
from python_ext.errors import ConfigError, MissingDependencyError
from python_ext.progress import NULL_PROGRESS, Reporter

#: ``indexctl ingest --engine``.
ENGINE_CHOICES = ("local", "ray")
RAY_HINT = "pip install 'codeintel-catalog[ray]' (or bash scripts/bootstrap.sh, which installs it)"

#: ``chunk(uri, data, lang) -> chunks`` for one file (a picklable callable for remote engines).
ChunkFn = Callable[[str, bytes, str], list]


class Engine(Protocol):
    """What an ingest engine does."""

    name: str

    def chunk_files(
        self, files: Sequence[tuple[str, bytes, str]], chunk: ChunkFn, progress: Reporter
    ) -> list[list]:
        """The chunks of each ``(uri, data, lang)`` file, in the order given."""
        ...

    def embed(self, texts: Sequence[str], embedder: Embedder, progress: Reporter) -> np.ndarray:
        """float32 ``(len(texts), dim)`` vectors of ``texts``, in order."""
        ...

    def close(self) -> None:
        """Release what the engine started (a local Ray instance)."""
        ...


def embed_label(embedder: Embedder) -> str:
    """The progress label of embedding with ``embedder``: its backend, else its model."""
    info = embedding_info(embedder)
    return f"embedding ({info.backend}-{info.precision})" if info.backend else f"embedding ({info.model})"


class LocalEngine:
    """Chunk and embed in this process (one file, one batch after another)."""

    name = "local"

    def chunk_files(
        self, files: Sequence[tuple[str, bytes, str]], chunk: ChunkFn, progress: Reporter = NULL_PROGRESS
    ) -> list[list]:
        out = []
        with progress.task("chunking files", total=len(files)) as advance:
            for uri, data, lang in files:
                out.append(chunk(uri, data, lang))
                advance(1)
        return out

    def embed(
        self, texts: Sequence[str], embedder: Embedder, progress: Reporter = NULL_PROGRESS
    ) -> np.ndarray:
        batch = max(1, int(getattr(embedder, "batch_size", 256)))
        out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
        with progress.task(embed_label(embedder), total=len(texts)) as advance:
            for i in range(0, len(texts), batch):
                part = texts[i : i + batch]
                out[i : i + len(part)] = embed_batch(embedder, part)
                advance(len(part))
        return out

    def close(self) -> None:
        """Nothing to release."""


def get_engine(name: str = "local", *, address: str | None = None, workers: int | None = None) -> Engine:
    """The engine called ``name``.

    :param address: ``ray`` only: the cluster to join (``auto``, ``ray://host:10001``); default:
        ``$RAY_ADDRESS``, else a private local instance started for this ingest.
    :param workers: ``ray`` only: embedding actors (default: one per CPU of the instance, or per
        GPU when it has GPUs).
    :raises ConfigError: an unknown engine, or options the engine does not take.
    :raises MissingDependencyError: ``ray`` without the ``ray`` extra.
    """
    if name not in ENGINE_CHOICES:
        raise ConfigError(
            f"--engine must be one of {', '.join(ENGINE_CHOICES)} (got {name!r})", hint="use --engine local"
        )
    if name == "local":
        if address is not None or workers is not None:
            raise ConfigError(
                "--ray-address and --workers are options of --engine ray", hint="add --engine ray"
            )
        return LocalEngine()
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be at least 1 (got {workers})", hint="use --workers 2")
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "--engine ray needs Ray Data (the `ray` extra), which is not installed", hint=RAY_HINT
        ) from exc
    from python_ext.ingest.ray_engine import RayEngine

    return RayEngine(address=address, workers=workers)
