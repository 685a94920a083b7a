"""Search results as people and programs read them.

Every field uses the catalog's column names (``chunk_id``, ``uri``, ``start_line``,
``end_line``, ``language``, ``symbols``, ``module_id``, ``channel``), so a hit joins
``v_chunks`` and ``v_chunk_modules`` on ``chunk_id`` as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ChannelRank:
    """Where one channel ranked a hit: 1-based ``rank`` and that channel's ``score``."""

    rank: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "score": self.score}


@dataclass
class ChunkRecord:
    """One chunk of the searched version (lines 1-based inclusive).

    :param symbols: qualified names of the definitions the chunk contains (the chunker's
        ``symbols``; SCIP symbol strings when SCIP ran at ingest).
    :param module_id: the chunk's module (None without module facts).
    :param enclosing_symbol: the innermost definition around the chunk (None at top level, or
        in versions built before it was recorded): a chunk that defines nothing itself, such as
        the rest of a long function, is shown by it.
    :param content: the chunk text when asked for (None otherwise, or when the chunk changed in
        the chunk files since the version was built: then ``content_changed`` is True).
    """

    chunk_id: int
    uri: str
    start_line: int
    end_line: int
    language: str
    symbols: list[str]
    module_id: str | None
    content_hash: str
    preview: str
    enclosing_symbol: str | None = None
    content: str | None = None
    content_changed: bool = False

    @property
    def location(self) -> str:
        """``path:start-end``."""
        return f"{self.uri}:{self.start_line}-{self.end_line}"

    @property
    def symbol_names(self) -> list[str]:
        """``symbols`` as dotted qualified names (SCIP symbol strings read from their descriptors)."""
        from python_ext.search.symbols import qualified_name

        return [qualified_name(s) for s in self.symbols]

    @property
    def enclosing_name(self) -> str | None:
        """``enclosing_symbol`` as people read it inside the file: the qualified name without its
        module part (``requests.adapters.HTTPAdapter.send`` in ``…/adapters.py`` →
        ``HTTPAdapter.send``); None at top level."""
        if not self.enclosing_symbol:
            return None
        from python_ext.search.symbols import qualified_name

        parts = qualified_name(self.enclosing_symbol).split(".")
        stem = self.uri.rsplit("/", 1)[-1].split(".", 1)[0]
        if stem in parts[:-1]:
            parts = parts[parts.index(stem) + 1 :]
        return ".".join(parts)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ChunkRecord:
        return cls(
            chunk_id=int(record["chunk_id"]),
            uri=record["uri"],
            start_line=int(record["start_line"]),
            end_line=int(record["end_line"]),
            language=record["language"],
            symbols=list(record.get("symbols") or []),
            module_id=record.get("module_id"),
            content_hash=record["content_hash"],
            preview=record["preview"],
            enclosing_symbol=record.get("enclosing_symbol"),
        )

    def to_dict(self) -> dict[str, Any]:
        out = {
            "chunk_id": self.chunk_id,
            "uri": self.uri,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "location": self.location,
            "language": self.language,
            "symbols": self.symbols,
            "enclosing_symbol": self.enclosing_symbol,
            "module_id": self.module_id,
            "content_hash": self.content_hash,
            "preview": self.preview,
        }
        if self.content is not None or self.content_changed:
            out["content"] = self.content
            out["content_changed"] = self.content_changed
        return out


@dataclass
class SearchHit:
    """One ranked hit: the chunk, its score in the requested channel, and how each channel
    ranked it (``channel_ranks``: for ``hybrid`` the faiss and bm25 ranks within the fusion
    depth; for a single channel that channel alone)."""

    rank: int
    score: float
    channel: str
    chunk: ChunkRecord
    channel_ranks: dict[str, ChannelRank] = field(default_factory=dict)

    @property
    def chunk_id(self) -> int:
        return self.chunk.chunk_id

    @property
    def uri(self) -> str:
        return self.chunk.uri

    @property
    def start_line(self) -> int:
        return self.chunk.start_line

    @property
    def end_line(self) -> int:
        return self.chunk.end_line

    @property
    def location(self) -> str:
        return self.chunk.location

    @property
    def preview(self) -> str:
        return self.chunk.preview

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "chunk_id": self.chunk.chunk_id,
            "score": self.score,
            "channel": self.channel,
            "channel_ranks": {c: r.to_dict() for c, r in self.channel_ranks.items()},
            **{k: v for k, v in self.chunk.to_dict().items() if k != "chunk_id"},
        }


@dataclass
class SearchResult:
    """The answer to one search.

    :param matched: chunks that pass the filters (None without filters).
    :param timings: seconds per stage (``embed``, ``ann``, ``refine``, ``bm25``, ``fuse``,
        ``hydrate``) and ``total``.
    """

    query: str
    channel: str
    k: int
    hits: list[SearchHit]
    version: str
    operating_point: str
    k_factor: int
    filters: dict[str, Any]
    matched: int | None
    ntotal: int
    timings: dict[str, float] = field(default_factory=dict)
    rrf: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "channel": self.channel,
            "k": self.k,
            "version": self.version,
            "operating_point": self.operating_point,
            "k_factor": self.k_factor,
            "rrf": self.rrf,
            "filters": self.filters,
            "matched": self.matched,
            "ntotal": self.ntotal,
            "timings_ms": {s: round(v * 1000, 3) for s, v in self.timings.items()},
            "hits": [h.to_dict() for h in self.hits],
        }


@dataclass
class SymbolChunk:
    """A chunk that defines or references a symbol (:func:`query_by_symbols`)."""

    chunk: ChunkRecord
    role: str
    symbol: str

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "symbol": self.symbol, **self.chunk.to_dict()}
