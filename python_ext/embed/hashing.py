"""The lexical embedder: hashed identifier sub-tokens (fast, dependency-free, not semantic)."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import xxhash

from python_ext.errors import ConfigError

HASHING_VERSION = "hashing-v1"
DEFAULT_HASHING_DIM = 256

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
