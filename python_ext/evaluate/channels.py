"""Retrieval channels: each turns queries into ranked ``(chunk_id, score)`` lists.

* :class:`FaissChannel` — the published FAISS index (``IndexIDMap2``, so labels are chunk
  ids) at its operating point. Score: FAISS's value, the inner product (higher is better) or
  the squared L2 distance (lower is better), as the index's metric says.
* :class:`FlatChannel` — the exact oracle: brute-force search over the same vectors with the
  same metric (``IndexFlatIP``/``IndexFlatL2``).
* :class:`Bm25Channel` — BM25 (``bm25s``, Lucene variant, k1=1.5, b=0.75) over code-aware
  tokens (:func:`python_ext.evaluate.tokenize.code_tokens`); chunks scoring 0 are not returned.

Masked corpus views (docstring queries must not be answered by their own docstring):
:func:`mask_text` removes character spans from chunk content; :func:`replace_rows` builds the
vector matrix with re-embedded masked chunks; :func:`masked_index_copy` clones the published
index, empties it and re-adds every vector in the original row order with the masked
replacements, then re-applies the operating point. Re-adding (rather than ``remove_ids``)
works for every FAISS family: Flat and IVF keep their trained quantizers and only re-assign
the vectors; HNSW rebuilds its graph over the masked vectors with the same parameters.

Every ``search`` returns ``(results, seconds)`` where seconds is the wall time of the batched
search call (query embedding excluded), so throughput can be reported per channel.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import bm25s
import faiss
import numpy as np

from python_ext.evaluate.tokenize import code_tokens

Ranked = list[tuple[int, float]]


def mask_text(content: str, spans: Sequence[tuple[int, int]]) -> str:
    """Remove the character spans ``[start, end)`` from ``content`` (overlaps allowed).

    :param content: chunk content.
    :param spans: character spans to cut out.
    """
    if not spans:
        return content
    merged: list[list[int]] = []
    for s, e in sorted((max(0, s), min(len(content), e)) for s, e in spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    parts: list[str] = []
    pos = 0
    for s, e in merged:
        parts.append(content[pos:s])
        pos = e
    parts.append(content[pos:])
    return "".join(parts)


class Bm25Channel:
    """BM25 over code-aware tokens of a list of chunk texts.

    :param ids: chunk ids, parallel to ``texts``.
    :param texts: the text each chunk is matched on (its content, masked where needed).
    :param tokens: the chunks' tokens when already computed (then ``texts`` is not used).
    """

    name = "bm25"

    def __init__(
        self,
        ids: Sequence[int],
        texts: Sequence[str] | None = None,
        *,
        tokens: Sequence[list[str]] | None = None,
    ) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        if tokens is None:
            tokens = [code_tokens(t) for t in texts or []]
        self.retriever = bm25s.BM25()
        self.retriever.index(list(tokens), show_progress=False)

    def search(self, texts: Sequence[str], k: int) -> tuple[list[Ranked], float]:
        """Top ``k`` chunks per query text; ties broken by smaller chunk id."""
        t0 = time.perf_counter()
        out: list[Ranked] = []
        n = len(self.ids)
        for text in texts:
            tokens = code_tokens(text)
            if not tokens or n == 0:
                out.append([])
                continue
            scores = self.retriever.get_scores(tokens)
            positive = np.flatnonzero(scores > 0)
            if positive.size > k:
                kth = np.partition(scores[positive], positive.size - k)[positive.size - k]
                positive = positive[scores[positive] >= kth]
            order = sorted(positive.tolist(), key=lambda i: (-float(scores[i]), int(self.ids[i])))[:k]
            out.append([(int(self.ids[i]), float(scores[i])) for i in order])
        return out, time.perf_counter() - t0


def _collect(labels: np.ndarray, scores: np.ndarray, id_of_row: np.ndarray | None) -> list[Ranked]:
    out: list[Ranked] = []
    for lab_row, sc_row in zip(labels, scores, strict=True):
        ranked: Ranked = []
        for lab, sc in zip(lab_row.tolist(), sc_row.tolist(), strict=True):
            if lab < 0:
                continue
            ranked.append((int(id_of_row[lab]) if id_of_row is not None else int(lab), float(sc)))
        out.append(ranked)
    return out


class FlatChannel:
    """Exact search over a vector matrix (the oracle).

    :param ids: chunk ids, one per row of ``vectors``.
    :param vectors: float32 ``(n, d)``.
    :param metric: ``faiss.METRIC_INNER_PRODUCT`` or ``faiss.METRIC_L2``.
    """

    name = "flat"

    def __init__(self, ids: np.ndarray, vectors: np.ndarray, metric: int) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        d = vectors.shape[1]
        self.index = faiss.IndexFlatIP(d) if metric == faiss.METRIC_INNER_PRODUCT else faiss.IndexFlatL2(d)
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, qvecs: np.ndarray, k: int) -> tuple[list[Ranked], float]:
        """Exact top ``k`` for each query vector."""
        t0 = time.perf_counter()
        if len(qvecs) == 0 or self.index.ntotal == 0:
            return [[] for _ in range(len(qvecs))], time.perf_counter() - t0
        scores, labels = self.index.search(np.ascontiguousarray(qvecs, dtype=np.float32), k)
        seconds = time.perf_counter() - t0
        return _collect(labels, scores, self.ids), seconds


class FaissChannel:
    """Search a FAISS ``IndexIDMap2`` (labels are chunk ids).

    :param index: the index, with its operating point already applied.
    """

    name = "faiss"

    def __init__(self, index: faiss.Index) -> None:
        self.index = index

    def search(self, qvecs: np.ndarray, k: int) -> tuple[list[Ranked], float]:
        """Top ``k`` for each query vector at the index's current parameters."""
        t0 = time.perf_counter()
        if len(qvecs) == 0 or self.index.ntotal == 0:
            return [[] for _ in range(len(qvecs))], time.perf_counter() - t0
        scores, labels = self.index.search(np.ascontiguousarray(qvecs, dtype=np.float32), k)
        seconds = time.perf_counter() - t0
        return _collect(labels, scores, None), seconds


def replace_rows(ids: np.ndarray, vectors: np.ndarray, replacements: Mapping[int, np.ndarray]) -> np.ndarray:
    """A copy of ``vectors`` where the rows of the chunk ids in ``replacements`` are replaced.

    :param ids: chunk id of each row.
    :param vectors: float32 ``(n, d)``.
    :param replacements: chunk id → new vector.
    """
    out = np.array(vectors, dtype=np.float32, copy=True)
    if not replacements:
        return out
    row_of = {int(c): i for i, c in enumerate(ids.tolist())}
    for cid, vec in replacements.items():
        out[row_of[int(cid)]] = vec
    return out


def masked_index_copy(
    index: faiss.Index,
    row_ids: np.ndarray,
    row_vectors: np.ndarray,
    operating_point: str,
) -> faiss.Index:
    """A copy of ``index`` holding ``row_vectors`` (same ids, same row order) instead.

    :param index: the published ``IndexIDMap2`` (left untouched).
    :param row_ids: chunk ids in FAISS row order (the id map's ``faiss_row`` order).
    :param row_vectors: the vectors to hold, row-aligned with ``row_ids`` (masked rows replaced).
    :param operating_point: re-applied to the copy.
    """
    from python_ext.index.load import apply_operating_point
    from python_ext.index.shards import is_sharded, refilled_copy

    if is_sharded(index):
        # IndexShards cannot be cloned: refill a copy of each shard with its rows' vectors
        copy = refilled_copy(index, row_vectors)
    else:
        copy = faiss.clone_index(index)
        copy.reset()
        copy.add_with_ids(
            np.ascontiguousarray(row_vectors, dtype=np.float32), np.asarray(row_ids, dtype=np.int64)
        )
    apply_operating_point(copy, operating_point)
    return copy
