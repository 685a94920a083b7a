"""How much of a chunk an embedder reads: its window and the length of texts in its own units.

A transformer embedder truncates its input: all-MiniLM-L6-v2 reads the first 256 word pieces
(``max_seq_length`` in the model's ``sentence_bert_config.json``, special tokens included) and
ignores the rest, so a chunk longer than that is embedded by its head only. The lexical hashing
embedder reads every identifier sub-token (no window). :func:`token_window` gives, for a
corpus's embedding metadata, the unit to count in, the window (None when the whole text is
read) and a function counting texts in that unit; the report draws chunk lengths against it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from python_ext.contracts import EmbeddingInfo
from python_ext.embed.e5 import E5_MODEL_NAME, E5_WINDOW, passage_lengths
from python_ext.embed.hashing import HASHING_VERSION, identifier_tokens
from python_ext.embed.minilm import MINILM_HINT, MINILM_MODEL_NAME, minilm_model_path
from python_ext.errors import MissingDependencyError


@dataclass(frozen=True)
class TokenWindow:
    """The unit an embedder reads text in and how many of them it reads."""

    #: what :attr:`count` counts: ``word pieces``, ``identifier tokens`` or ``characters``.
    unit: str
    #: tokens the embedder reads (longer texts are truncated); None: it reads the whole text.
    window: int | None
    #: texts -> their lengths in :attr:`unit` (special tokens included for word pieces).
    count: Callable[[Sequence[str]], list[int]]

    def to_dict(self) -> dict[str, object]:
        return {"unit": self.unit, "window": self.window}


@functools.cache
def _minilm_tokenizer() -> tuple[object, int]:
    path = Path(minilm_model_path())
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise MissingDependencyError(
            "counting MiniLM word pieces needs the tokenizers package, which is not installed",
            hint=MINILM_HINT,
        ) from exc
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    window = int(json.loads((path / "sentence_bert_config.json").read_text())["max_seq_length"])
    return tokenizer, window


def _count_word_pieces(texts: Sequence[str]) -> list[int]:
    tokenizer, _ = _minilm_tokenizer()
    return [len(e.ids) for e in tokenizer.encode_batch(list(texts))]  # type: ignore[attr-defined]


def _count_identifier_tokens(texts: Sequence[str]) -> list[int]:
    return [len(identifier_tokens(t)) for t in texts]


def _count_characters(texts: Sequence[str]) -> list[int]:
    return [len(t) for t in texts]


def token_window(info: EmbeddingInfo) -> TokenWindow:
    """The :class:`TokenWindow` of the embedder that wrote a corpus.

    :param info: the corpus's embedding metadata (``corpus_info`` or the catalog's
        ``v_embedding_model``).
    :returns: word pieces and the model's window for MiniLM; SentencePiece tokens (the
        ``passage: `` prefix included) and 512 for e5; identifier tokens and no window for
        the hashing embedder; characters and an unknown (None) window for any other model
        (precomputed vectors: this package does not know the model that made them).
    :raises MissingDependencyError: for MiniLM without the ``minilm`` extra (e5 without the
        ``e5`` extra: when a length is counted).
    """
    if info.model == MINILM_MODEL_NAME:
        _, window = _minilm_tokenizer()
        return TokenWindow("word pieces", window, _count_word_pieces)
    if info.model == E5_MODEL_NAME:
        return TokenWindow("sentencepiece tokens", E5_WINDOW, passage_lengths)
    if info.model.startswith(HASHING_VERSION):
        return TokenWindow("identifier tokens", None, _count_identifier_tokens)
    return TokenWindow("characters", None, _count_characters)
