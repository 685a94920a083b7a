"""Exact re-rank of approximate candidates (the ``k_factor`` of an operating point).

An index that scores with compressed codes (IVF-PQ, SQ8, …) returns the right neighbours
somewhere in its top ``k × k_factor`` more often than in its top ``k``. :func:`exact_rerank`
re-scores those candidates against the stored float vectors with the index's metric and keeps
the best ``k``: the same idea as FAISS's ``IndexRefineFlat``, without a second copy of the
vectors inside the index. Search (:mod:`python_ext.search.channels`) and tuning
(:mod:`python_ext.index.tune`) share this one function.
"""

from __future__ import annotations

import faiss
import numpy as np


def exact_scores(xq: np.ndarray, vectors: np.ndarray, metric: int) -> np.ndarray:
    """Scores of each query against each of its candidate vectors.

    :param xq: ``(m, d)`` queries.
    :param vectors: ``(m, c, d)`` candidate vectors per query.
    :param metric: ``faiss.METRIC_INNER_PRODUCT`` (inner product, higher is better) or
        ``faiss.METRIC_L2`` (squared distance, lower is better).
    """
    if metric == faiss.METRIC_INNER_PRODUCT:
        return np.einsum("md,mcd->mc", xq, vectors, dtype=np.float32)
    diff = vectors - xq[:, None, :]
    return np.einsum("mcd,mcd->mc", diff, diff, dtype=np.float32)


def exact_rerank(
    xq: np.ndarray, candidates: np.ndarray, vectors: np.ndarray, metric: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Re-score candidate rows exactly and keep the best ``k`` per query.

    :param xq: ``(m, d)`` float32 queries.
    :param candidates: ``(m, c)`` int64 FAISS rows, ``-1`` for padding.
    :param vectors: the exact vectors by FAISS row (``(ntotal, d)``, e.g. a memory map).
    :param metric: the index's metric.
    :param k: hits to keep (≤ c).
    :returns: ``(scores, rows)`` of shape ``(m, k)``, best first; padding is ``-1`` with score
        ``-inf`` (ip) or ``+inf`` (l2). Ties keep the candidates' order.
    """
    m, c = candidates.shape
    k = min(k, c)
    valid = candidates >= 0
    safe = np.where(valid, candidates, 0)
    gathered = np.asarray(vectors[safe.reshape(-1)], dtype=np.float32).reshape(m, c, -1)
    scores = exact_scores(np.asarray(xq, dtype=np.float32), gathered, metric)
    higher = metric == faiss.METRIC_INNER_PRODUCT
    worst = np.float32(-np.inf if higher else np.inf)
    scores = np.where(valid, scores, worst)
    order = np.argsort(-scores if higher else scores, axis=1, kind="stable")[:, :k]
    top_scores = np.take_along_axis(scores, order, axis=1)
    top_rows = np.take_along_axis(np.where(valid, candidates, -1), order, axis=1)
    return top_scores, top_rows
