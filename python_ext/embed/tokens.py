"""Counting a text in an embedder's own tokens, fast enough for the chunker.

The chunker sizes chunks against the embedder's window, so it needs, for every byte range of a
file, how many tokens the embedder's tokenizer makes of it. Re-tokenizing every candidate range
would be quadratic; tokenizing each file once with offsets is exact but slow (the HF fast
tokenizer reads code at well under 1 MB/s on this machine kind). :class:`WordPieceCounter`
uses what a BERT tokenizer is (all-MiniLM-L6-v2's is): ``BertNormalizer`` + ``BertPreTokenizer``
+ ``WordPiece``. The pre-tokenizer splits on whitespace and on every punctuation character, and
WordPiece then tokenizes each word on its own, so the token count of a text is the sum, word
by word, of a number that depends only on the word. The counter

* finds the words of ASCII text with one regular expression (every printable non-alphanumeric
  ASCII character is its own one-token word, an alphanumeric run is a word);
* asks the real tokenizer, in one batch per file, only for words it has not seen before (a
  per-process cache: identifiers repeat, so almost every word is a cache hit);
* hands every whitespace-separated piece that contains a non-ASCII byte, or one of the
  tokenizer's added tokens (``[CLS]``, ``[SEP]`` … written in the text: the tokenizer matches
  them whole, before it splits words), to the real tokenizer with offsets (so accents, CJK
  characters, Unicode punctuation and those tokens are counted exactly).

:meth:`WordPieceCounter.token_starts` returns the byte offset where each token of the file
starts, ascending (a word of three WordPieces is its start offset three times); the tokens of
``data[a:b]`` are the starts in ``[a, b)``, exact whenever ``a`` and ``b`` do not fall inside a
word (the chunker only cuts at syntax-node, line and word boundaries). That is 4 bytes per
token (about one per input byte on code), and the file is read in slabs of :data:`SLAB` bytes,
so counting a large file needs no per-byte arrays. :class:`OffsetsCounter` is the exact,
slower fallback for any other tokenizer (its memory is the tokenizer's own encoding of the
file).

Both counters pickle as their tokenizer's JSON and special-token count only (never their
caches), and unpickle through a small per-process cache: a remote ingest engine (Ray tasks)
gets the driver's sizing exactly, and a worker process that chunks several batches builds the
counter once (:func:`_rebuilt`).
"""

from __future__ import annotations

import functools
import re
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 32]] = True
#: WordPiece turns a longer word into a single ``[UNK]``.
_MAX_WORD_CHARS = 100
#: byte -> 1 (ASCII letter or digit), 2 (printable ASCII punctuation: a one-token word), 0 (other).
_ASCII_KIND = np.zeros(256, dtype=np.int8)
_ASCII_KIND[[*range(48, 58), *range(65, 91), *range(97, 123)]] = 1
_ASCII_KIND[[*range(33, 48), *range(58, 65), *range(91, 97), *range(123, 127)]] = 2


@runtime_checkable
class TokenCounter(Protocol):
    """What the chunker needs to size chunks in an embedder's tokens."""

    #: Tokens the embedder adds around every text (``[CLS]``/``[SEP]``: 2).
    special_tokens: int

    def token_starts(self, data: bytes) -> array[int]:
        """Byte offsets where the tokens of ``data`` (UTF-8) start, ascending, one entry per
        token (an offset where several tokens start repeats)."""
        ...

    def count(self, texts: Sequence[str]) -> list[int]:
        """Exact token counts of ``texts`` (special tokens excluded), in one batch."""
        ...


#: Bytes of a file counted at a time (bounds the temporary arrays of a large file).
SLAB = 1 << 18
_ASCII_SPACE_RE = re.compile(rb"[\t\n\v\f\r ]")


def _offset_array(n: int) -> array[int]:
    """An empty array of C ints wide enough for the offsets of ``n`` bytes."""
    return array("i" if n < 2**31 - 1 else "q")


def _append(out: array[int], values: np.ndarray) -> None:
    out.frombytes(np.ascontiguousarray(values, dtype=np.dtype(out.typecode)).tobytes())


def _slabs(data: bytes, size: int | None = None) -> Iterator[tuple[int, int]]:
    """``[lo, hi)`` ranges covering ``data``, about ``size`` (default :data:`SLAB`) bytes each,
    every one ending at ASCII whitespace (or the end), so no word and no whitespace-separated
    piece spans two."""
    size = size or SLAB
    lo, n = 0, len(data)
    while lo < n:
        hi = lo + size
        if hi >= n:
            hi = n
        else:
            m = _ASCII_SPACE_RE.search(data, hi)
            hi = m.end() if m else n
        yield lo, hi
        lo = hi


def _non_ascii_pieces(arr: np.ndarray, marks: Sequence[int] = ()) -> list[tuple[int, int]]:
    """``(start, end)`` of every whitespace-separated piece of ``arr`` holding a non-ASCII byte
    or one of the offsets ``marks``."""
    high = np.flatnonzero(arr >= 0x80)
    if marks:
        high = np.union1d(high, np.asarray(marks, dtype=np.int64))
    if not high.size:
        return []
    space = np.flatnonzero(_ASCII_SPACE[arr])
    # each piece runs from the space before its first high byte to the space after its last one
    before = np.searchsorted(space, high) - 1
    start = np.where(before >= 0, space[np.maximum(before, 0)] + 1, 0)
    after = np.searchsorted(space, high)
    end = np.where(after < space.size, space[np.minimum(after, space.size - 1)], arr.size)
    return sorted(set(zip(start.tolist(), end.tolist(), strict=True)))


def _encode(tokenizer: Any, texts: list[str]) -> list[Any]:
    return tokenizer.encode_batch(texts, add_special_tokens=False) if texts else []


@functools.lru_cache(maxsize=4)
def _rebuilt(kind: str, tokenizer_json: str, special_tokens: int) -> TokenCounter:
    """The counter an unpickled :class:`WordPieceCounter`/:class:`OffsetsCounter` stands for,
    built once per process (its word caches then warm up across batches)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(tokenizer_json)
    if kind == "wordpiece":
        return WordPieceCounter(tokenizer, special_tokens)
    return OffsetsCounter(tokenizer, special_tokens)


class OffsetsCounter:
    """Exact counting for any HF ``tokenizers.Tokenizer``: each file is tokenized once, with
    offsets (slower than :class:`WordPieceCounter`)."""

    def __init__(self, tokenizer: Any, special_tokens: int) -> None:
        self._tok = tokenizer
        self.special_tokens = special_tokens

    def token_starts(self, data: bytes) -> array[int]:
        text = data.decode("utf-8")
        enc = self._tok.encode(text, add_special_tokens=False)
        char_starts = np.array([s for s, _ in enc.offsets], dtype=np.int64)
        if data.isascii():
            byte_starts = char_starts
        else:  # char offset -> byte offset
            char_to_byte = np.zeros(len(text) + 1, dtype=np.int64)
            char_to_byte[1:] = np.cumsum([len(ch.encode("utf-8")) for ch in text])
            byte_starts = char_to_byte[char_starts]
        out = _offset_array(len(data))
        _append(out, np.sort(byte_starts))
        return out

    def count(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in _encode(self._tok, list(texts))]

    def __reduce__(self) -> tuple[Any, tuple[str, str, int]]:
        return _rebuilt, ("offsets", self._tok.to_str(), self.special_tokens)


class WordPieceCounter:
    """Word-by-word token counting for a BERT-style tokenizer (see the module docstring).

    :param tokenizer: a ``tokenizers.Tokenizer`` with ``BertPreTokenizer`` and ``WordPiece``
        (:func:`is_wordpiece` checks); truncation and padding are switched off.
    :param special_tokens: tokens the embedder adds around every text.
    """

    def __init__(self, tokenizer: Any, special_tokens: int) -> None:
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tok = tokenizer
        self.special_tokens = special_tokens
        self._pieces: dict[bytes, int] = {}
        self._short: dict[int, int] = {}
        self._offsets: dict[bytes, np.ndarray] = {}  # piece -> token start offsets (real tokenizer)
        self._lowercase = _lowercases(tokenizer)
        # the tokenizer matches its added tokens ([CLS], [MASK] …) in the raw text, before it
        # splits words: a piece holding one goes to the real tokenizer like a non-ASCII piece
        added = sorted(_added_tokens(tokenizer), key=len, reverse=True)
        self._added = re.compile(b"|".join(re.escape(t.encode("utf-8")) for t in added)) if added else None
        # every whole-word vocabulary entry is one token: seed the cache with them
        for word in tokenizer.get_vocab():
            raw = word.encode("utf-8")
            if raw.isascii() and raw.isalnum() and (raw.islower() or raw.isdigit() or not self._lowercase):
                if len(raw) <= 8:
                    self._short[int.from_bytes(raw, "little")] = 1
                else:
                    self._pieces[raw] = 1

    def _word_pieces(self, data: np.ndarray, word_starts: np.ndarray, word_ends: np.ndarray) -> np.ndarray:
        """WordPiece count of each ASCII alphanumeric word ``data[start:end]`` (cached per
        process; the words not seen before go to the tokenizer in one batch).

        Words of up to 8 bytes (most identifiers and keywords) are keyed by their bytes packed
        into one integer, computed for all words at once, so only the file's distinct short
        words cost a Python-level lookup.
        """
        counts = np.zeros(word_starts.size, dtype=np.int32)
        if not word_starts.size:
            return counts
        lengths = word_ends - word_starts
        short = np.flatnonzero(lengths <= 8)
        if short.size:
            padded = np.concatenate((data, np.zeros(8, dtype=np.uint8)))
            cols = np.arange(8)
            gathered = padded[word_starts[short, None] + cols].astype(np.uint64)
            gathered[cols >= lengths[short, None]] = 0
            keys = np.bitwise_or.reduce(gathered << (cols.astype(np.uint64) * np.uint64(8)), axis=1)
            unique, inverse = np.unique(keys, return_inverse=True)
            get = self._short.get
            found = [get(k, 0) for k in unique.tolist()]
            if 0 in found:
                missing = [k for k, n in zip(unique.tolist(), found, strict=True) if n == 0]
                texts = [k.to_bytes(8, "little").rstrip(b"\0").decode("ascii") for k in missing]
                for key, enc in zip(missing, _encode(self._tok, texts), strict=True):
                    self._short[key] = len(enc.ids)
                found = [get(k) for k in unique.tolist()]
            counts[short] = np.asarray(found, dtype=np.int32)[inverse]
        long_words = np.flatnonzero(lengths > 8)
        if long_words.size:
            raw = data.tobytes()
            bounds = zip(word_starts[long_words].tolist(), word_ends[long_words].tolist(), strict=True)
            words = [raw[a:b] for a, b in bounds]
            get = self._pieces.get
            found = [get(w, 0) for w in words]
            if 0 in found:
                missing = list(dict.fromkeys(w for w, n in zip(words, found, strict=True) if n == 0))
                texts = [w.decode("ascii") for w in missing]
                for word, enc in zip(missing, _encode(self._tok, texts), strict=True):
                    # a word over 100 characters is one [UNK]
                    self._pieces[word] = len(enc.ids) if len(word) <= _MAX_WORD_CHARS else 1
                found = [get(w) for w in words]
            counts[long_words] = found
        return counts

    def _ascii_units(
        self, arr: np.ndarray, lo: int, hi: int, starts: list[np.ndarray], weights: list[np.ndarray]
    ) -> None:
        """Tokens of the ASCII bytes ``arr[lo:hi]`` (no non-ASCII piece inside)."""
        if hi <= lo:
            return
        kind = _ASCII_KIND[arr[lo:hi]]
        punct = np.flatnonzero(kind == 2)
        starts.append(punct + lo)
        weights.append(np.ones(punct.size, dtype=np.int32))
        alnum = (kind == 1).view(np.int8)
        edge = np.zeros(1, dtype=np.int8)
        edges = np.flatnonzero(np.diff(np.concatenate((edge, alnum, edge))))
        word_starts, word_ends = edges[0::2] + lo, edges[1::2] + lo
        starts.append(word_starts)
        weights.append(self._word_pieces(arr, word_starts, word_ends))

    def token_starts(self, data: bytes) -> array[int]:
        """Where the tokens of ``data`` (UTF-8) start, see the module doc; read in slabs."""
        out = _offset_array(len(data))
        for lo, hi in _slabs(data):
            starts, weights = self._slab_units(data[lo:hi])
            if starts.size:
                order = np.argsort(starts, kind="stable")
                _append(out, np.repeat(starts[order] + lo, weights[order]))
        return out

    def _slab_units(self, data: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Token start offsets of ``data`` (one slab) and the tokens starting at each."""
        # an uncased tokenizer lowercases first: words are keyed (and counted) lowercased
        arr = np.frombuffer(data.lower() if self._lowercase else data, dtype=np.uint8)
        starts: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        pos = 0
        marks = [m.start() for m in self._added.finditer(data)] if self._added is not None else []
        pieces = _non_ascii_pieces(arr, marks)
        for at, end in pieces:
            self._ascii_units(arr, pos, at, starts, weights)
            pos = end
        if pieces:  # pieces with non-ASCII bytes: the real tokenizer with offsets, cached, one batch
            raws = [data[at:end] for at, end in pieces]
            missing = list(dict.fromkeys(r for r in raws if r not in self._offsets))
            texts = [r.decode("utf-8", errors="replace") for r in missing]
            for raw, text, enc in zip(missing, texts, _encode(self._tok, texts), strict=True):
                widths = [len(ch.encode("utf-8")) for ch in text]
                char_to_byte = np.concatenate(([0], np.cumsum(np.asarray(widths, dtype=np.int64))))
                self._offsets[raw] = char_to_byte[np.array([s for s, _ in enc.offsets], dtype=np.int64)]
            for (at, _), raw in zip(pieces, raws, strict=True):
                offsets = self._offsets[raw]
                starts.append(at + offsets)
                weights.append(np.ones(offsets.size, dtype=np.int32))
        self._ascii_units(arr, pos, len(data), starts, weights)
        if not starts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
        return np.concatenate(starts), np.concatenate(weights)

    def count(self, texts: Sequence[str]) -> list[int]:
        """Exact token counts of ``texts`` by the real tokenizer (special tokens excluded)."""
        return [len(e.ids) for e in _encode(self._tok, list(texts))]

    def __reduce__(self) -> tuple[Any, tuple[str, str, int]]:
        # the tokenizer's JSON, not the caches (they are rebuilt, and warm up, in the worker)
        return _rebuilt, ("wordpiece", self._tok.to_str(), self.special_tokens)


def _added_tokens(tokenizer: Any) -> list[str]:
    """The added tokens (special tokens included) ``tokenizer`` matches in raw text."""
    try:
        return [t.content for t in tokenizer.get_added_tokens_decoder().values() if t.content]
    except AttributeError:
        return []


def _lowercases(tokenizer: Any) -> bool:
    try:
        import json

        return bool((json.loads(tokenizer.to_str()).get("normalizer") or {}).get("lowercase"))
    except (AttributeError, ValueError):
        return False


def is_wordpiece(tokenizer: Any) -> bool:
    """True when ``tokenizer`` (a ``tokenizers.Tokenizer``) is BERT-style: BertNormalizer or
    none, BertPreTokenizer, WordPiece model (the assumptions of :class:`WordPieceCounter`)."""
    try:
        import json

        spec = json.loads(tokenizer.to_str())
    except (AttributeError, ValueError):
        return False
    normalizer = (spec.get("normalizer") or {}).get("type")
    pre = (spec.get("pre_tokenizer") or {}).get("type")
    model = (spec.get("model") or {}).get("type")
    return normalizer in (None, "BertNormalizer") and pre == "BertPreTokenizer" and model == "WordPiece"


def counter_for(tokenizer: Any, special_tokens: int) -> TokenCounter:
    """The fastest exact counter for ``tokenizer``: word by word for BERT-style tokenizers,
    else whole files with offsets."""
    if is_wordpiece(tokenizer):
        return WordPieceCounter(tokenizer, special_tokens)
    return OffsetsCounter(tokenizer, special_tokens)
