"""What the embedder is given: the chunk size limit of an embedder, and the text of a chunk.

* :func:`chunk_sizer` — an embedder with a window (MiniLM: 256 tokens, ``[CLS]``/``[SEP]``
  included) gets a token limit of window − special tokens (− the context line's reserve); an
  embedder without one (the lexical hashing embedder) the character budget (1200
  non-whitespace characters).
* :func:`embed_text` — the text handed to the embedder for a chunk: its content, or, with
  ``context`` on, a short first line naming the file and the enclosing symbol, then the content.
  The stored ``content`` and the chunk bounds never change; only the embedded text does.
* :func:`embed_length` — that text's length in the embedder's units, special tokens included
  (measured on the whole text when the counter offers ``text_length``: e5's counter is exact
  only between whitespace-separated pieces).
"""

from __future__ import annotations

from python_ext.embed.base import embedder_counter, embedder_window
from python_ext.embed.tokens import TokenCounter
from python_ext.errors import ConfigError
from python_ext.ids import content_hash
from python_ext.ingest.chunker import DEFAULT_CHUNK_BUDGET, ChunkSizer

#: Tokens kept free for the context line when ``context`` is on (a longer line is shortened).
CONTEXT_RESERVE = 24


def chunk_sizer(embedder: object, chunk_budget: int | None = None, context: bool = False) -> ChunkSizer:
    """The sizing of chunks for ``embedder``.

    :param embedder: the ingest's embedder (its ``window`` and ``token_counter()``, if any).
    :param chunk_budget: the limit in the embedder's units; default: the whole window (tokens)
        or :data:`~python_ext.ingest.chunker.DEFAULT_CHUNK_BUDGET` (characters).
    :param context: reserve room for the context line (token windows only).
    :raises ConfigError: a budget over what the window holds, or below 1.
    """
    if chunk_budget is not None and chunk_budget < 1:
        raise ConfigError(f"--chunk-budget must be at least 1, got {chunk_budget}")
    window = embedder_window(embedder)
    counter = embedder_counter(embedder)
    if window is None or counter is None:
        return ChunkSizer.chars(chunk_budget or DEFAULT_CHUNK_BUDGET)
    reserve = CONTEXT_RESERVE if context else 0
    full = ChunkSizer.tokens(counter, window, reserve)
    if chunk_budget is None:
        return full
    if chunk_budget > full.limit:
        name = getattr(embedder, "name", "the embedder")
        taken = f"{counter.special_tokens} special" + (
            f" and {reserve} for the context line" if reserve else ""
        )
        raise ConfigError(
            f"--chunk-budget {chunk_budget} is more than {name} reads: its window is {window} tokens "
            f"({taken}), so chunks hold at most {full.limit} tokens",
            hint=f"omit --chunk-budget (default {full.limit}) or pass a smaller one",
        )
    return ChunkSizer("tokens", chunk_budget, counter, window)


def context_line(uri: str, enclosing_symbol: str | None, counter: TokenCounter | None = None) -> str:
    """``path`` or ``path > enclosing.symbol``, shortened to fit the reserve: leading folders
    go first, then the symbol's outer names, then the symbol; ``""`` (no context line) when
    even the file name alone does not fit."""
    line = uri if not enclosing_symbol else f"{uri} > {enclosing_symbol}"
    if counter is None:
        return line

    def fits(text: str) -> bool:
        return counter.count([text])[0] <= CONTEXT_RESERVE - 1

    parts = line.split("/")
    while len(parts) > 1 and not fits(line):
        parts = parts[1:]
        line = "/".join(parts)
    if fits(line):
        return line
    name = uri.rsplit("/", 1)[-1]
    names = (enclosing_symbol or "").split(".")
    while names:
        names = names[1:]
        line = f"{name} > {'.'.join(names)}" if names else name
        if fits(line):
            return line
    return ""


def embed_text(
    content: str, uri: str, enclosing_symbol: str | None, context: bool, counter: TokenCounter | None = None
) -> str:
    """The text the embedder is given for a chunk (see the module docstring)."""
    line = context_line(uri, enclosing_symbol, counter) if context else ""
    return f"{line}\n{content}" if line else content


def embed_key(text: str, content: str, hashed_content: str) -> str:
    """The embedding-cache key of an embedded text: the content hash when the text is the
    content, else the hash of the text (so vectors of different texts never mix)."""
    return hashed_content if text is content or text == content else f"ctx:{content_hash(text)}"


def embed_length(sizer: ChunkSizer, content_size: int, text: str, content: str) -> int:
    """Length of the embedded text in the sizer's unit (special tokens included for tokens)."""
    if sizer.counter is None:
        return content_size
    exact = getattr(sizer.counter, "text_length", None)
    if callable(exact):  # a counter that is exact only between whole words (e5) measures the text
        return int(exact(text))
    extra = 0
    if text is not content and text != content:
        extra = sizer.counter.count([text[: len(text) - len(content)]])[0]
    return content_size + extra + sizer.counter.special_tokens
