"""The retrieval channels, as functions over one index state: what search and evaluation run.

Every function returns, per query, a ranked list of ``(chunk_id, score)`` best first, and takes
an optional **row mask** (``allowed``: a bool array over FAISS rows) that restricts the
candidates *before* ranking, so ``k`` matching hits come back whenever ``k`` chunks match:

* :func:`dense_search` — the FAISS index at its operating point. The mask becomes a FAISS
  ``IDSelectorBitmap`` inside the search parameters (``SearchParametersIVF`` with the index's
  ``nprobe``, ``SearchParametersHNSW`` with its ``efSearch``, …), never over-fetch-and-drop.
  With ``k_factor > 1`` it fetches ``k × k_factor`` candidates and re-ranks them exactly
  against the stored vectors (:func:`python_ext.index.refine.exact_rerank`). When the mask
  leaves few rows (≤ :data:`EXACT_FILTER_ROWS`), or an approximate filtered search returned
  fewer than ``k`` hits although more rows match, the allowed rows are searched exactly
  instead — a selective filter is exactly where graph and cluster probes run dry.
* :func:`exact_search` — brute force over the stored vectors (the ``flat`` oracle), streamed
  in blocks so a memory-mapped matrix is never copied whole.
* :func:`bm25_search` — BM25 scores of every document (:class:`python_ext.index.bm25.Bm25Index`),
  masked, positive scores only, ties broken by the smaller chunk id.
* :func:`fuse` — reciprocal rank fusion (:func:`python_ext.search.fusion.rrf_fuse`) of channel
  rankings with the catalog's ``k0`` and rank cut-off, keeping each chunk's per-channel rank
  and score so a hit explains itself.

Scores: inner product (``ip``, higher is better) or squared L2 distance (``l2``, lower is
better) for dense channels, the BM25 score, and the RRF sum for the fused ranking.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import faiss
import numpy as np

from python_ext.errors import ConfigError
from python_ext.index.bm25 import Bm25Index
from python_ext.index.load import inner_index
from python_ext.index.refine import exact_rerank
from python_ext.search.fusion import DEFAULT_RRF_K0, DEFAULT_RRF_RANK_CUTOFF, rrf_fuse

Ranked = list[tuple[int, float]]

#: A mask that leaves at most this many rows is searched exactly (cheaper and never short).
EXACT_FILTER_ROWS = 4096
_BLOCK_ROWS = 65_536
_RERANK_BATCH = 256


def _timed(timings: dict[str, float] | None, stage: str, t0: float) -> None:
    if timings is not None:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0


def search_parameters(index: faiss.Index, selector: faiss.IDSelector) -> faiss.SearchParameters:
    """Search parameters for ``index`` (an inner index) that keep its current settings and add
    ``selector`` (which then applies to FAISS rows).

    :raises ConfigError: the index family has no filtered search in FAISS.
    """
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexPreTransform):
        params = faiss.SearchParametersPreTransform()
        params.index_params = search_parameters(index.index, selector)
        params.sel = selector
        return params
    if isinstance(index, faiss.IndexRefine):
        params = faiss.IndexRefineSearchParameters()
        params.k_factor = index.k_factor
        params.base_index_params = search_parameters(index.base_index, selector)
        params.sel = selector
        return params
    if isinstance(index, faiss.IndexIVF):
        params = faiss.SearchParametersIVF()
        params.nprobe = index.nprobe
        params.max_codes = index.max_codes
        params.sel = selector
        return params
    if isinstance(index, faiss.IndexHNSW):
        params = faiss.SearchParametersHNSW()
        params.efSearch = index.hnsw.efSearch
        params.sel = selector
        return params
    if isinstance(index, (faiss.IndexFlat, faiss.IndexFlatCodes)):
        params = faiss.SearchParameters()
        params.sel = selector
        return params
    raise ConfigError(
        f"FAISS cannot filter a {type(index).__name__} search by id",
        hint="rebuild with a Flat, IVF or HNSW factory (indexctl index build --factory auto)",
    )


def row_selector(allowed: np.ndarray) -> tuple[faiss.IDSelector, np.ndarray]:
    """An ``IDSelectorBitmap`` over FAISS rows; returns it and the bitmap it reads (keep both)."""
    bits = np.packbits(np.asarray(allowed, dtype=bool), bitorder="little")
    return faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits)), bits


def _to_ranked(scores: np.ndarray, rows: np.ndarray, id_of_row: np.ndarray, metric: int) -> list[Ranked]:
    """Rows → chunk ids, best first; equal scores in chunk id order (as BM25), so every channel
    and every search depth rank ties the same way."""
    sign = -1.0 if metric == faiss.METRIC_INNER_PRODUCT else 1.0
    out: list[Ranked] = []
    for srow, rrow in zip(scores, rows, strict=True):
        keep = rrow >= 0
        pairs = zip(id_of_row[rrow[keep]].tolist(), srow[keep].astype(float).tolist(), strict=True)
        out.append(sorted(pairs, key=lambda p: (sign * p[1], p[0])))
    return out


def dense_search(
    index: faiss.Index,
    xq: np.ndarray,
    k: int,
    *,
    id_of_row: np.ndarray,
    vectors: np.ndarray | None = None,
    k_factor: int = 1,
    allowed: np.ndarray | None = None,
    timings: dict[str, float] | None = None,
) -> list[Ranked]:
    """Top ``k`` chunks per query vector from the FAISS index.

    :param index: the ``IndexIDMap2`` at its operating point (its inner index is searched, so
        labels are FAISS rows; ``id_of_row`` turns them into chunk ids).
    :param xq: ``(m, d)`` float32 query vectors (normalized for ``ip``).
    :param id_of_row: FAISS row → chunk id.
    :param vectors: the exact vectors by row (:func:`python_ext.index.vectors.open_vectors`);
        needed for ``k_factor > 1`` and for the exact path of selective filters.
    :param k_factor: candidates per hit for the exact re-rank (1: none).
    :param allowed: bool mask over rows (None: every row).
    :param timings: adds seconds to ``ann`` and ``refine``.
    """
    xq = np.ascontiguousarray(xq, dtype=np.float32)
    inner = inner_index(index)
    n = int(inner.ntotal)
    n_allowed = n if allowed is None else int(np.count_nonzero(allowed))
    if len(xq) == 0 or n_allowed == 0 or k < 1:
        return [[] for _ in range(len(xq))]
    metric = inner.metric_type
    if allowed is not None and vectors is not None and n_allowed <= EXACT_FILTER_ROWS:
        t0 = time.perf_counter()
        out = exact_search(vectors, xq, k, metric, id_of_row=id_of_row, allowed=allowed)
        _timed(timings, "ann", t0)
        return out
    fetch = min(k * (k_factor if vectors is not None else 1), n_allowed)
    t0 = time.perf_counter()
    if allowed is None:
        scores, rows = inner.search(xq, fetch)
    else:
        selector, _bits = row_selector(allowed)
        scores, rows = inner.search(xq, fetch, params=search_parameters(inner, selector))
    _timed(timings, "ann", t0)
    if fetch > k and vectors is not None:
        t0 = time.perf_counter()
        parts = [
            exact_rerank(xq[i : i + _RERANK_BATCH], rows[i : i + _RERANK_BATCH], vectors, metric, k)
            for i in range(0, len(xq), _RERANK_BATCH)
        ]
        scores = np.concatenate([p[0] for p in parts])
        rows = np.concatenate([p[1] for p in parts])
        _timed(timings, "refine", t0)
    else:
        scores, rows = scores[:, :k], rows[:, :k]
    out = _to_ranked(scores, rows, id_of_row, metric)
    want = min(k, n_allowed)
    short = [i for i, r in enumerate(out) if len(r) < want]
    if short and allowed is not None and vectors is not None:
        # the probed lists / visited graph held fewer matching rows than k: search them exactly
        t0 = time.perf_counter()
        exact = exact_search(vectors, xq[short], k, metric, id_of_row=id_of_row, allowed=allowed)
        for i, ranked in zip(short, exact, strict=True):
            out[i] = ranked
        _timed(timings, "ann", t0)
    return out


def exact_search(
    vectors: np.ndarray,
    xq: np.ndarray,
    k: int,
    metric: int,
    *,
    id_of_row: np.ndarray,
    allowed: np.ndarray | None = None,
) -> list[Ranked]:
    """Exact top ``k`` per query over ``vectors`` (rows), optionally only the ``allowed`` rows.

    Plain NumPy (one matrix product per block of rows, then a partial sort), streamed in blocks
    so a memory-mapped matrix is never copied whole.

    :param vectors: ``(n, d)`` float32.
    :param metric: ``faiss.METRIC_INNER_PRODUCT`` or ``faiss.METRIC_L2`` (squared distance).
    """
    xq = np.ascontiguousarray(xq, dtype=np.float32)
    rows_all = None if allowed is None else np.flatnonzero(allowed)
    n = len(vectors) if rows_all is None else len(rows_all)
    m = len(xq)
    if m == 0 or n == 0 or k < 1:
        return [[] for _ in range(m)]
    kk = min(k, n)
    higher = metric == faiss.METRIC_INNER_PRODUCT
    best_key = np.full((m, 0), np.inf, dtype=np.float32)  # smaller is better: -ip or l2
    best_rows = np.zeros((m, 0), dtype=np.int64)
    q_norms = (xq * xq).sum(axis=1)[:, None]
    for start in range(0, n, _BLOCK_ROWS):
        if rows_all is None:
            block_rows = np.arange(start, min(start + _BLOCK_ROWS, n), dtype=np.int64)
            block = np.asarray(vectors[start : start + _BLOCK_ROWS], dtype=np.float32)
        else:
            block_rows = rows_all[start : start + _BLOCK_ROWS].astype(np.int64)
            block = np.asarray(vectors[block_rows], dtype=np.float32)
        dots = xq @ block.T  # (m, b)
        key = -dots if higher else q_norms - 2 * dots + (block * block).sum(axis=1)[None, :]
        key = np.concatenate([best_key, key.astype(np.float32)], axis=1)
        cand = np.concatenate([best_rows, np.broadcast_to(block_rows, (m, len(block_rows)))], axis=1)
        take = min(kk, key.shape[1])
        part = np.argpartition(key, take - 1, axis=1)[:, :take]
        best_key = np.take_along_axis(key, part, axis=1)
        best_rows = np.take_along_axis(cand, part, axis=1)
    scores = -best_key if higher else np.maximum(best_key, 0)
    return _to_ranked(scores, best_rows, id_of_row, metric)


def bm25_search(
    bm25: Bm25Index,
    texts: Sequence[str],
    k: int,
    *,
    id_of_row: np.ndarray,
    allowed: np.ndarray | None = None,
) -> list[Ranked]:
    """Top ``k`` chunks per query text by BM25 (only chunks scoring > 0; ties → smaller id)."""
    out: list[Ranked] = []
    for text in texts:
        scores = bm25.scores(text)
        if allowed is not None:
            scores = np.where(allowed, scores, np.float32(0))
        positive = np.flatnonzero(scores > 0)
        if positive.size > k:
            kth = np.partition(scores[positive], positive.size - k)[positive.size - k]
            positive = positive[scores[positive] >= kth]
        order = sorted(positive.tolist(), key=lambda r: (-float(scores[r]), int(id_of_row[r])))[:k]
        out.append([(int(id_of_row[r]), float(scores[r])) for r in order])
    return out


@dataclass
class FusedHit:
    """One chunk of a fused ranking.

    :param chunk_id: the chunk.
    :param score: its RRF sum.
    :param ranks: channel → ``(rank, score)`` for every channel that ranked it within the cut-off.
    """

    chunk_id: int
    score: float
    ranks: dict[str, tuple[int, float]] = field(default_factory=dict)


def fuse(
    rankings: Mapping[str, Ranked],
    k: int,
    *,
    k0: int = DEFAULT_RRF_K0,
    cutoff: int = DEFAULT_RRF_RANK_CUTOFF,
) -> list[FusedHit]:
    """RRF of the channels' rankings, top ``k``, explained per channel.

    Each ranking is cut at ``max(k, cutoff)`` (:func:`fusion_depth`): the catalog's cut-off for
    every ``k`` up to it, and deep enough for ``k`` fused hits beyond it.
    """
    cutoff = fusion_depth(k, cutoff)
    fused = rrf_fuse({c: [cid for cid, _ in r] for c, r in rankings.items()}, k0=k0, k=k, cutoff=cutoff)
    where: dict[int, dict[str, tuple[int, float]]] = {}
    for channel, ranked in rankings.items():
        seen: set[int] = set()
        for rank, (cid, score) in enumerate(ranked[:cutoff], start=1):
            if cid not in seen:
                seen.add(cid)
                where.setdefault(cid, {})[channel] = (rank, score)
    return [FusedHit(cid, score, dict(sorted(where.get(cid, {}).items()))) for cid, score in fused]


def fusion_depth(k: int, cutoff: int = DEFAULT_RRF_RANK_CUTOFF) -> int:
    """How deep each input channel is searched for a fused top ``k``: ``max(k, cutoff)``.

    Ranks past the cut-off contribute nothing, so searching deeper would only cost time; a
    ``k`` above the cut-off searches ``k`` deep so that ``k`` fused hits can exist.
    """
    return max(k, cutoff)
