"""The searcher: one published index version loaded once, searched many times.

``indexctl search``, ``indexctl serve`` and the Python API all go through :class:`Searcher`;
``indexctl eval run`` calls the same channel functions (:mod:`python_ext.search.channels`), so
its numbers are the numbers of what users search with.

A search runs these stages (timed in :attr:`SearchResult.timings`):

1. **filters** → a row mask (:mod:`python_ext.search.filters`, :mod:`python_ext.search.corpus`);
2. **embed** the query with the corpus's own embedder (kept loaded);
3. **ann** — FAISS at the version's operating point, the mask inside the search parameters;
   **refine** — exact re-rank of ``k × k_factor`` candidates for code-based indexes;
4. **bm25** — the version's BM25 index, masked the same way;
5. **fuse** — ``hybrid`` (the default) is RRF over faiss and bm25, each searched
   ``max(k, rrf_rank_cutoff)`` deep, with the catalog's ``rrf_k0`` (60) and cut-off (10);
6. **hydrate** — path, lines, language, symbols, module (and with ``content`` the text).

:meth:`Searcher.refresh` loads a newly published version (or a refreshed catalog) next to the
current one and swaps a single reference: every search reads that reference once, so it is
answered wholly from the old state or wholly from the new one.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import faiss
import numpy as np

from python_ext.config import DataRootLike, resolve_data_root
from python_ext.contracts import EmbeddingInfo
from python_ext.embed import Embedder, embed_queries
from python_ext.errors import ChunkNotFoundError, ConfigError, UsageError
from python_ext.index import versions as _v
from python_ext.index.vectors import vectors_by_ids
from python_ext.search import channels as ch
from python_ext.search.filters import SearchFilters
from python_ext.search.fusion import DEFAULT_RRF_K0, DEFAULT_RRF_RANK_CUTOFF
from python_ext.search.hits import ChannelRank, ChunkRecord, SearchHit, SearchResult, SymbolChunk
from python_ext.search.state import SearchState, catalog_file_stamp, load_state

#: Channels a search can rank with; ``hybrid`` is the default.
CHANNELS = ("hybrid", "faiss", "bm25", "flat")
DEFAULT_CHANNEL = "hybrid"
#: Stages a search is timed by (``total`` is the whole call).
STAGES = ("embed", "ann", "refine", "bm25", "fuse", "hydrate", "total")


def check_channel(channel: str) -> str:
    """The channel name, checked.

    :raises UsageError: not one of :data:`CHANNELS`.
    """
    name = str(channel).strip().lower()
    if name not in CHANNELS:
        raise UsageError(
            f"unknown channel {channel!r}",
            hint=f"--channel takes one of {', '.join(CHANNELS)} (default {DEFAULT_CHANNEL})",
        )
    return name


def _check_limit(limit: int, flag: str) -> int:
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)):
        raise UsageError(f"{flag} must be an integer, got {limit!r}", hint=f"e.g. {flag} 10")
    if int(limit) < 1:
        raise UsageError(f"{flag} must be >= 1 (got {limit})", hint=f"e.g. {flag} 10")
    return int(limit)


def _check_k(k: int, ntotal: int, flag: str = "-k") -> int:
    k = _check_limit(k, flag)
    if k > ntotal:
        raise UsageError(
            f"{flag} {k} is above the corpus: the index holds {ntotal:,} chunks",
            hint=f"use {flag} {min(ntotal, 10)} (at most {ntotal:,})",
        )
    return k


def set_embed_threads(threads: int | None) -> None:
    """Limit the intra-op threads of a torch-based query embedder (process-wide; None: leave).

    Search embeds one short query at a time, where intra-op parallelism gains nothing and, on a
    machine whose cores are busy, costs a lot: MiniLM took 97 ms per query with one torch thread
    and 926–1,712 ms with two at load average 16 on 2 cores. ``indexctl search`` and
    ``indexctl serve`` use 1; concurrency across requests is the server's thread pool.
    """
    if threads is None:
        return
    if threads < 1:
        raise UsageError(f"embed threads must be >= 1, got {threads}", hint="use 1")
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(int(threads))


class Searcher:
    """Search one data root's published index version (or a pinned ``version``), kept loaded.

    :param data_root: the data root (``None``: ``$CODEINTEL_DATA_ROOT`` or ``data``).
    :param version: pin this version (:meth:`refresh` then only follows the catalog).
    :param operating_point: override the version's tuned operating point (``k_factor=N``
        included).
    :param rrf_k0: RRF constant of ``hybrid`` (default: the catalog's ``rrf_k0``, 60).
    :param rrf_rank_cutoff: ranks past this contribute nothing to ``hybrid`` (default: the
        catalog's ``rrf_rank_cutoff``, 10).
    :param warm: load the query embedder now and embed one query, so the first real search pays
        nothing extra.
    :param embed_threads: limit a torch-based embedder's intra-op threads (process-wide) once it
        is loaded (:func:`set_embed_threads`; None leaves torch's default).
    :raises VersionNotFoundError: nothing is published.
    :raises IndexMismatchError: the version's files disagree with its version.json.
    """

    def __init__(
        self,
        data_root: DataRootLike = None,
        *,
        version: str | None = None,
        operating_point: str | None = None,
        rrf_k0: int = DEFAULT_RRF_K0,
        rrf_rank_cutoff: int = DEFAULT_RRF_RANK_CUTOFF,
        warm: bool = False,
        embed_threads: int | None = None,
    ) -> None:
        if isinstance(rrf_k0, bool) or not isinstance(rrf_k0, int) or rrf_k0 < 0:
            raise UsageError(f"rrf_k0 must be an integer >= 0, got {rrf_k0!r}", hint="the catalog uses 60")
        if isinstance(rrf_rank_cutoff, bool) or not isinstance(rrf_rank_cutoff, int) or rrf_rank_cutoff < 1:
            raise UsageError(
                f"rrf_rank_cutoff must be an integer >= 1, got {rrf_rank_cutoff!r}",
                hint="the catalog uses 10",
            )
        self.data_root = resolve_data_root(data_root)
        self.pinned_version = version
        self.operating_point = operating_point
        self.rrf_k0 = rrf_k0
        self.rrf_rank_cutoff = rrf_rank_cutoff
        self._lock = threading.Lock()
        self._embedders: dict[EmbeddingInfo, Embedder] = {}
        self._state = load_state(self.data_root, version, operating_point=operating_point)
        self.reloads = 0
        self.embed_threads = embed_threads
        if warm:
            self.warm()

    # --- state ---------------------------------------------------------------------------
    @property
    def state(self) -> SearchState:
        """The state searches are answered from now (read once per request)."""
        return self._state

    def refresh(self, *, force: bool = False) -> bool:
        """Switch to the published version and catalog if either changed; True if it switched.

        The new state is loaded (and its embedder warmed) beside the current one, then one
        reference is swapped; searches in flight finish on the state they started with. A
        failing load raises and leaves the current state serving.
        """
        with self._lock:
            current = self._state
            want = self.pinned_version or _v.current_version(self.data_root)
            if (
                not force
                and want == current.version
                and catalog_file_stamp(self.data_root) == current.catalog
            ):
                return False
            new = load_state(self.data_root, want, operating_point=self.operating_point)
            self._dense_ready(new)
            self._state = new
            self.reloads += 1
            return True

    def _embedder(self, state: SearchState) -> Embedder:
        from python_ext.embed import embedder_from_info

        m = state.manifest
        info = EmbeddingInfo.from_manifest(m)  # the corpus's model on its own backend
        embedder = self._embedders.get(info)
        if embedder is None:
            try:
                embedder = embedder_from_info(info)
            except ConfigError as exc:
                if info.kind == "precomputed":
                    raise ConfigError(
                        f"{exc.message}: the dense channels (hybrid, faiss, flat) need the producer's "
                        "query vectors",
                        hint='pass the query\'s vector (Searcher.search(query_vector=…), or "vector" '
                        "in POST /search), or search by text with --channel bm25, which works as is",
                    ) from exc
                raise
            self._embedders[info] = embedder
            set_embed_threads(self.embed_threads)
        return embedder

    def _dense_ready(self, state: SearchState) -> None:
        """Load the state's query embedder now (no-op for precomputed corpora)."""
        if state.manifest.get("embedding_kind") != "precomputed":
            embed_queries(self._embedder(state), ["warm up"])

    def warm(self) -> None:
        """Load the query embedder and run one embedding (the model's first call is the slow one)."""
        self._dense_ready(self._state)

    # --- search --------------------------------------------------------------------------
    def _query_vector(
        self, state: SearchState, text: str, vector: Sequence[float] | np.ndarray | None
    ) -> np.ndarray:
        d = int(state.manifest["dim"])
        if vector is not None:
            xq = np.asarray(vector, dtype=np.float32).reshape(1, -1)
            if xq.shape[1] != d:
                raise UsageError(
                    f"the query vector has {xq.shape[1]} dimensions, the index {d}",
                    hint="embed the query with the model that produced the corpus",
                )
            if not np.isfinite(xq).all():
                raise UsageError("the query vector contains NaN or inf", hint="pass finite numbers")
        else:
            xq = embed_queries(self._embedder(state), [text])
            if xq.shape[1] != d:
                raise ConfigError(
                    f"embedder {state.manifest['embedding_model']} returned {xq.shape[1]} dims, "
                    f"the index has {d}",
                    hint="rebuild the index with `indexctl index build` after re-ingesting",
                )
        xq = np.ascontiguousarray(xq, dtype=np.float32)
        if state.manifest["metric"] == "ip":
            if not np.linalg.norm(xq) > 0:
                raise UsageError("the query vector is all zeros", hint="pass a non-zero vector")
            faiss.normalize_L2(xq)
        return xq

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        channel: str = DEFAULT_CHANNEL,
        lang: str | Iterable[str] | None = None,
        include: str | Iterable[str] | None = None,
        exclude: str | Iterable[str] | None = None,
        module: str | Iterable[str] | None = None,
        symbol: str | Iterable[str] | None = None,
        content: bool = False,
        query_vector: Sequence[float] | np.ndarray | None = None,
    ) -> SearchResult:
        """Search with ``query`` and return the top ``k`` hits, filters applied before ranking.

        :param query: the query text (BM25 reads it; the dense channels embed it unless
            ``query_vector`` is given).
        :param k: hits wanted, 1 … the corpus size; fewer come back only when fewer chunks match
            the filters (or, for bm25, contain a query term).
        :param channel: ``hybrid`` (default), ``faiss``, ``bm25`` or ``flat`` (exact oracle).
        :param lang: language(s); ``include``/``exclude``: path glob(s); ``module``: module
            id(s) (with submodules); ``symbol``: chunks defining or referencing the symbol(s).
        :param content: add each hit's chunk text.
        :param query_vector: the query's embedding, for corpora of precomputed vectors.
        :raises UsageError: empty query, bad ``k``, unknown channel or language (exit 2).
        :raises NoMatchError: a filter matches no chunk (the message says what exists).
        :raises ConfigError: the dense channels on a precomputed corpus without ``query_vector``.
        :raises IndexMismatchError: bm25/hybrid on a version without BM25 index (hint: rebuild).
        """
        t_start = time.perf_counter()
        state = self._state
        channel = check_channel(channel)
        text = query if isinstance(query, str) else ""
        if query is not None and not isinstance(query, str):
            raise UsageError(f"the query must be text, got {type(query).__name__}")
        if not text.strip() and (query_vector is None or channel in ("bm25", "hybrid")):
            raise UsageError(
                "the query text is empty", hint='pass a query, e.g. indexctl search "parse config"'
            )
        k = _check_k(k, state.ntotal)
        filters = SearchFilters.build(
            lang=lang, include=include, exclude=exclude, module=module, symbol=symbol
        )
        mask = state.meta.mask(filters, state.symbols.rows)
        if channel in ("bm25", "hybrid") and state.bm25 is None:
            raise state.bm25_error  # type: ignore[misc]
        timings: dict[str, float] = {}
        id_of_row = state.rows.id_of_row
        rankings: dict[str, ch.Ranked] = {}
        if channel in ("faiss", "flat", "hybrid"):
            t0 = time.perf_counter()
            xq = self._query_vector(state, text, query_vector)
            timings["embed"] = time.perf_counter() - t0
            if channel == "flat":
                if state.vectors is None:
                    raise state.vectors_error  # type: ignore[misc]
                t0 = time.perf_counter()
                metric = state.loaded.index.metric_type
                rankings["flat"] = ch.exact_search(
                    state.vectors, xq, k, metric, id_of_row=id_of_row, allowed=mask
                )[0]
                timings["ann"] = time.perf_counter() - t0
            else:
                depth = k if channel == "faiss" else ch.fusion_depth(k, self.rrf_rank_cutoff)
                depth = min(depth, state.ntotal)
                rankings["faiss"] = ch.dense_search(
                    state.loaded.index,
                    xq,
                    depth,
                    id_of_row=id_of_row,
                    vectors=state.vectors,
                    k_factor=state.loaded.k_factor,
                    allowed=mask,
                    timings=timings,
                )[0]
        if channel in ("bm25", "hybrid"):
            depth = k if channel == "bm25" else min(ch.fusion_depth(k, self.rrf_rank_cutoff), state.ntotal)
            t0 = time.perf_counter()
            rankings["bm25"] = ch.bm25_search(state.bm25, [text], depth, id_of_row=id_of_row, allowed=mask)[0]
            timings["bm25"] = time.perf_counter() - t0
        if channel == "hybrid":
            t0 = time.perf_counter()
            fused = ch.fuse(rankings, k, k0=self.rrf_k0, cutoff=self.rrf_rank_cutoff)
            timings["fuse"] = time.perf_counter() - t0
            ranked = [
                (f.chunk_id, f.score, {c: ChannelRank(r, s) for c, (r, s) in f.ranks.items()}) for f in fused
            ]
        else:
            ranked = [
                (cid, score, {channel: ChannelRank(rank, score)})
                for rank, (cid, score) in enumerate(rankings[channel][:k], start=1)
            ]
        t0 = time.perf_counter()
        chunks = self._records(state, [cid for cid, _, _ in ranked], content)
        timings["hydrate"] = time.perf_counter() - t0
        hits = [
            SearchHit(rank, float(score), channel, chunk, ranks)
            for rank, ((_, score, ranks), chunk) in enumerate(zip(ranked, chunks, strict=True), start=1)
        ]
        timings["total"] = time.perf_counter() - t_start
        return SearchResult(
            query=text,
            channel=channel,
            k=k,
            hits=hits,
            version=state.version,
            operating_point=state.loaded.operating_point,
            k_factor=state.loaded.k_factor,
            filters=filters.to_dict(),
            matched=int(mask.sum()) if mask is not None else None,
            ntotal=state.ntotal,
            timings=timings,
            rrf={"k0": self.rrf_k0, "rank_cutoff": self.rrf_rank_cutoff} if channel == "hybrid" else None,
        )

    # --- chunks --------------------------------------------------------------------------
    @staticmethod
    def _records(state: SearchState, ids: Sequence[int], content: bool) -> list[ChunkRecord]:
        if not ids:
            return []
        rows, found = state.rows.rows_of(np.asarray(ids, dtype=np.int64))
        if not found.all():
            missing = np.asarray(ids)[~found][:5].tolist()
            raise ChunkNotFoundError(
                f"chunk id(s) {missing} are not in index version {state.version}",
                hint="use chunk ids of the published version (a search hit's chunk_id, v_chunks.chunk_id)",
            )
        records = [ChunkRecord.from_record(r) for r in state.meta.records(rows.tolist())]
        if content:
            texts = state.contents(rows.tolist())
            for row, record in zip(rows.tolist(), records, strict=True):
                record.content = texts.get(row)
                record.content_changed = record.content is None
        return records

    def chunk(self, chunk_id: int, *, content: bool = True) -> ChunkRecord:
        """One chunk of the version by id (with its text unless ``content=False``).

        :raises ChunkNotFoundError: the id is not in the version.
        """
        if isinstance(chunk_id, bool) or not isinstance(chunk_id, (int, np.integer)):
            raise UsageError(f"a chunk id is an integer, got {chunk_id!r}")
        return self._records(self._state, [int(chunk_id)], content)[0]

    def query_by_symbols(
        self, symbols: str | Iterable[str], k: int = 100, *, content: bool = False
    ) -> list[SymbolChunk]:
        """Chunks that define or reference any of ``symbols``: definitions first, then
        references, in path and line order, at most ``k``.

        :raises NoMatchError: a name matches no symbol (close names are suggested).
        """
        state = self._state
        names = [symbols] if isinstance(symbols, str) else list(symbols)
        if not names or any(not str(n).strip() for n in names):
            raise UsageError("give at least one non-empty symbol name", hint="e.g. load_index")
        k = _check_limit(k, "k")
        seen: dict[int, tuple[str, str]] = {}
        for name in names:
            for m in state.symbols.matches(str(name)):
                if m.row not in seen or (m.role == "defines" and seen[m.row][0] != "defines"):
                    seen[m.row] = (m.role, m.symbol)
        order = sorted(
            seen, key=lambda r: (seen[r][0] != "defines", state.meta.uris[state.meta.uri_code[r]], r)
        )
        order = order[:k]
        records = self._records(state, state.rows.id_of_row[order].tolist(), content)
        return [SymbolChunk(rec, seen[row][0], seen[row][1]) for row, rec in zip(order, records, strict=True)]

    def query_by_module(
        self, module_id: str, limit: int = 100, *, content: bool = False
    ) -> list[ChunkRecord]:
        """Chunks of module ``module_id`` and its submodules, in path and line order, at most ``limit``.

        :raises NoMatchError: no module facts, or no chunk is in that module.
        """
        state = self._state
        if not isinstance(module_id, str) or not module_id.strip():
            raise UsageError("give a module id", hint="e.g. python_ext.index")
        limit = _check_limit(limit, "limit")
        rows = np.flatnonzero(state.meta.module_mask([module_id.strip()]))
        starts = state.meta.table.column("start_line").to_numpy()
        order = sorted(
            rows.tolist(), key=lambda r: (state.meta.uris[state.meta.uri_code[r]], int(starts[r]), r)
        )
        order = order[:limit]
        return self._records(state, state.rows.id_of_row[order].tolist(), content)

    def embeddings_by_ids(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of chunk ``ids`` (float32 ``(len(ids), d)``), in the order given.

        :raises InputError: an id is not in the version.
        """
        state = self._state
        if state.vectors is None:
            raise state.vectors_error  # type: ignore[misc]
        return vectors_by_ids(state.vectors, state.rows, ids)

    def health(self) -> dict[str, Any]:
        """The state being served, the RRF settings and the reload count."""
        return {
            **self._state.describe(),
            "data_root": str(self.data_root.root),
            "pinned_version": self.pinned_version,
            "rrf_k0": self.rrf_k0,
            "rrf_rank_cutoff": self.rrf_rank_cutoff,
            "reloads": self.reloads,
            "channels": list(CHANNELS),
        }


# --- one-shot functions (load, answer, forget) ------------------------------------------------


def search_text(
    data_root: DataRootLike,
    text: str,
    k: int = 10,
    *,
    channel: str = DEFAULT_CHANNEL,
    version: str | None = None,
    operating_point: str | None = None,
    **options: Any,
) -> list[SearchHit]:
    """Load the published (or given) version, search once, return the hits.

    Every keyword of :meth:`Searcher.search` is accepted (``lang``, ``include``, ``exclude``,
    ``module``, ``symbol``, ``content``, ``query_vector``). Each call loads the index and the
    model: keep a :class:`Searcher` to search more than once.
    """
    searcher = Searcher(data_root, version=version, operating_point=operating_point)
    return searcher.search(text, k, channel=channel, **options).hits


def query_by_symbols(
    data_root: DataRootLike, symbols: str | Iterable[str], k: int = 100, *, content: bool = False
) -> list[SymbolChunk]:
    """:meth:`Searcher.query_by_symbols` on the published version (one-shot)."""
    return Searcher(data_root).query_by_symbols(symbols, k, content=content)


def query_by_module(
    data_root: DataRootLike, module_id: str, limit: int = 100, *, content: bool = False
) -> list[ChunkRecord]:
    """:meth:`Searcher.query_by_module` on the published version (one-shot)."""
    return Searcher(data_root).query_by_module(module_id, limit, content=content)
