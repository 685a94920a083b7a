"""Code-aware tokens for the lexical (BM25) channel and for name-based queries.

Source code and natural-language queries go through the same function, so that the query
"parse config file" matches the identifier ``parse_config_file`` and ``parseConfigFile``:

* the text is cut into word runs (letters, digits, underscore);
* each run is split on underscores, on lower→upper case changes (``parseConfig``), on
  acronym boundaries (``HTTPServer`` → ``http``, ``server``) and between letters and digits
  (``utf8`` → ``utf``, ``8``);
* every part is lowercased; parts of one character and a short list of English stop words are
  dropped;
* an identifier that split into several parts also yields its whole lowercased form
  (``parse_config_file``), so exact-name matches score higher than scattered words.
"""

from __future__ import annotations

import functools
import re

_WORD_RUN = re.compile(r"[A-Za-z0-9_]+")
# Acronym followed by a capitalized word, a capitalized/lower word, an all-caps run, or digits.
_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

#: English function words that carry no intent (applied to code and queries alike).
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
    ]
)


def split_identifier(identifier: str) -> list[str]:
    """Split one identifier into lowercased words.

    >>> split_identifier("parseHTTPResponse_v2")
    ['parse', 'http', 'response', 'v', '2']

    :param identifier: a word run such as ``parse_config_file`` or ``HTTPServer``.
    :returns: the lowercased parts in order (single characters kept here).
    """
    parts: list[str] = []
    for piece in identifier.split("_"):
        parts.extend(m.group(0).lower() for m in _PART.finditer(piece))
    return parts


@functools.lru_cache(maxsize=1 << 18)
def _run_tokens(run: str) -> tuple[str, ...]:
    """Tokens of one word run (cached: code repeats the same identifiers over and over)."""
    parts = [p for p in split_identifier(run) if len(p) > 1 and p not in STOP_WORDS]
    whole = run.strip("_").lower()
    if len(parts) > 1 and whole not in STOP_WORDS:
        parts.append(whole)
    return tuple(parts)


def code_tokens(text: str) -> list[str]:
    """Tokenize source code or a query into code-aware lowercased tokens.

    :param text: any text (code, docstring, query).
    :returns: tokens in order of appearance, duplicates kept (BM25 needs term frequencies).
    """
    tokens: list[str] = []
    for run in _WORD_RUN.findall(text):
        tokens.extend(_run_tokens(run))
    return tokens


def identifier_words(name: str) -> str:
    """The words of an identifier as a phrase: ``parse_config_file`` → ``parse config file``.

    :param name: a (possibly qualified) identifier; only the last dotted part is used.
    :returns: the space-joined lowercased parts, single characters kept.
    """
    last = name.rsplit(".", 1)[-1]
    return " ".join(split_identifier(last))
